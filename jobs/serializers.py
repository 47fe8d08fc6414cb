"""The JSON shape of a background job, as the frontend's `BackgroundJob` interface reads it."""
import copy
import datetime
import functools

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from .models import JobStatus, JobType


class ReadOnlySerializer(serializers.Serializer):
    """A read-only serializer whose bound fields are made once per class, not once per request.

    DRF deep-copies and binds every declared field each time a serializer is made; on a list polled by every
    open tab that was a quarter of the request's time (docs/performance.md). The fields' own
    `to_representation` still formats every value; `source_values` gives the values it formats, from which a
    poll's ETag is made before anything is formatted.
    """

    @classmethod
    @functools.cache
    def _representation_plan(cls):
        fields = copy.deepcopy(cls._declared_fields)
        template = cls()
        for name, field in fields.items():
            field.bind(name, template)
        return tuple((name, field.source_attrs, field.to_representation) for name, field in fields.items())

    @classmethod
    @functools.cache
    def signature(cls):
        """Return a text that changes whenever a field, its source or its options change."""
        return repr([(name, repr(field)) for name, field in cls._declared_fields.items()])

    @classmethod
    def source_values(cls, instance):
        """Return the values the representation of `instance` is made from, field by field, unformatted."""
        values = []
        for _name, source_attrs, _to_representation in cls._representation_plan():
            value = instance
            for attr in source_attrs:
                value = getattr(value, attr)
            values.append(value)
        return values

    def to_representation(self, instance):
        """Return the primitive representation of `instance`, field by field."""
        return {
            name: None if value is None else to_representation(value)
            for (name, _source_attrs, to_representation), value in zip(
                self._representation_plan(), self.source_values(instance)
            )
        }


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
    # In UTC whatever the active time zone (the contract's `Z`), which also spares DRF a look-up of it per value.
    started_at = serializers.DateTimeField(read_only=True, default_timezone=datetime.UTC)
    finished_at = serializers.DateTimeField(read_only=True, allow_null=True, default_timezone=datetime.UTC)
    error = serializers.CharField(read_only=True, allow_null=True)
