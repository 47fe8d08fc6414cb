"""The API of the jobs service."""
from rest_framework.generics import ListAPIView

from .filters import JobFilter
from .models import Dataset
from .serializers import JobSerializer


class ActiveJobListView(ListAPIView):
    """The signed-in user's jobs: running ones first, then those finished within the retention window."""

    serializer_class = JobSerializer
    filterset_class = JobFilter
    pagination_class = None

    def get_queryset(self):
        """Return the signed-in user's jobs in job order."""
        return Dataset.objects.jobs_for(self.request.user)

    def filter_queryset(self, queryset):
        """Apply the query parameters, then the bound: a slice has to come last."""
        return super().filter_queryset(queryset).bounded()
