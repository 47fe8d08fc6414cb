"""The API of the jobs service."""
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.generics import ListAPIView

from .filters import JobFilter
from .models import Dataset, JobStatus, JobType
from .schema import FIELD_ERRORS, UNAUTHORIZED
from .serializers import JobSerializer


def csv_parameter(name, values, description):
    """Describe a query parameter holding one comma-separated list of allowed values."""
    return OpenApiParameter(
        name,
        {"type": "array", "items": {"type": "string", "enum": list(values)}, "minItems": 1},
        OpenApiParameter.QUERY,
        description=description,
        style="form",
        explode=False,
    )


@extend_schema_view(get=extend_schema(
    operation_id="jobs_active_list",
    summary="The signed-in user's active jobs",
    description=(
        "Running jobs first (newest first), then jobs finished within the retention window, most recently finished "
        "first; at most JOBS_MAX_RESULTS items. A bare JSON array, empty when there is nothing."
    ),
    parameters=[
        csv_parameter("status", JobStatus.values, "Only jobs with one of these statuses (comma-separated)."),
        csv_parameter("type", JobType.values, "Only jobs of one of these types (comma-separated)."),
    ],
    responses={
        200: JobSerializer(many=True),
        400: OpenApiResponse(
            FIELD_ERRORS,
            description="A filter parameter is empty, repeated or holds an unknown value; the body names it and "
            "the allowed values.",
        ),
        401: UNAUTHORIZED,
    },
))
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
