"""The API of the jobs service."""
from rest_framework.generics import ListAPIView
from rest_framework.response import Response

from .filters import JobFilter
from .models import Dataset
from .polling import conditional_response, poll_hints
from .serializers import JobSerializer


class ActiveJobListView(ListAPIView):
    """The signed-in user's jobs: running ones first, then those finished within the retention window."""

    serializer_class = JobSerializer
    filterset_class = JobFilter
    pagination_class = None

    def get_queryset(self):
        """Return the signed-in user's jobs in job order (what the list holds before filters and bound)."""
        return Dataset.objects.jobs_for(self.request.user)

    def list(self, request, *args, **kwargs):
        """Answer the jobs as a bare array, with the poller's hint headers."""
        # The filter set validates the parameters; the compiled page applies them (see jobs/compiled.py).
        params = self.filterset_class.cleaned_params(request.query_params)
        jobs = Dataset.objects.jobs_page_for(request.user, job_statuses=params["status"], job_types=params["type"])
        return Response(self.get_serializer(jobs, many=True).data, headers=poll_hints(jobs))

    def finalize_response(self, request, response, *args, **kwargs):
        """Tag the answer with an ETag and answer 304 to a caller that already has it."""
        response = super().finalize_response(request, response, *args, **kwargs)
        return conditional_response(request, response)
