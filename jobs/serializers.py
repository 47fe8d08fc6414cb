"""The JSON shape of a background job, as the frontend's `BackgroundJob` interface reads it."""
from rest_framework import serializers

from .models import JobStatus, JobType


class JobSerializer(serializers.Serializer):
    """A dataset as a background job: read-only, every field a model attribute."""

    id = serializers.UUIDField(read_only=True)
    type = serializers.ChoiceField(source="job_type", choices=JobType.choices, read_only=True)
    status = serializers.ChoiceField(source="job_status", choices=JobStatus.choices, read_only=True)
    progress = serializers.IntegerField(min_value=0, max_value=100, read_only=True)
    remaining_seconds = serializers.IntegerField(min_value=0, read_only=True, allow_null=True)
    filename = serializers.CharField(read_only=True)
    started_at = serializers.DateTimeField(read_only=True)
    finished_at = serializers.DateTimeField(read_only=True, allow_null=True)
    error = serializers.CharField(read_only=True, allow_null=True)
