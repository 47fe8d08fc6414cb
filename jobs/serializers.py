"""The JSON shape of a background job, as the frontend's `BackgroundJob` interface reads it."""
import copy
import functools

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from .models import JobStatus, JobType


class ReadOnlySerializer(serializers.Serializer):
    """A read-only serializer whose bound fields are made once per class, not once per request.

    DRF deep-copies and binds every declared field each time a serializer is made; on a list polled by every
    open tab that was a quarter of the request's time (docs/performance.md). The fields' own
    `to_representation` still formats every value.
    """

    @classmethod
    @functools.cache
    def _representation_plan(cls):
        fields = copy.deepcopy(cls._declared_fields)
        template = cls()
        for name, field in fields.items():
            field.bind(name, template)
        return tuple((name, field.source_attrs, field.to_representation) for name, field in fields.items())

    def to_representation(self, instance):
        """Return the primitive representation of `instance`, field by field."""
        representation = {}
        for name, source_attrs, to_representation in self._representation_plan():
            value = instance
            for attr in source_attrs:
                value = getattr(value, attr)
            representation[name] = None if value is None else to_representation(value)
        return representation


# Named after the frontend's TypeScript interface in the OpenAPI description.
@extend_schema_serializer(component_name="BackgroundJob")
class JobSerializer(ReadOnlySerializer):
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
