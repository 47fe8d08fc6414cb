"""Query parameters of the jobs list (`status` and `type`, each one comma-separated list of allowed values) and of
the job history (those, a time range of when jobs finished, and a filename search)."""
import copy
import datetime
import functools

import django_filters
from django import forms
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema_field

from .models import FINISHED_JOB_STATUSES, Dataset, JobStatus, JobType


class SingleValueWidget(forms.TextInput):
    """A text input that hands a repeated query parameter to the field as a list, so the field can refuse it."""

    def value_from_datadict(self, data, files, name):
        values = data.getlist(name) if hasattr(data, "getlist") else [data.get(name)]
        if len(values) > 1:
            return values
        return values[0] if values else None


class ChoiceListField(forms.Field):
    """One comma-separated list of allowed values; empty, repeated or unknown values are errors."""

    widget = SingleValueWidget
    default_error_messages = {
        "invalid_choice": "Allowed values: %(allowed)s (one or more, comma-separated).",
        "repeated": "Give this parameter once, as one comma-separated list of: %(allowed)s.",
    }

    def __init__(self, *, choices, **kwargs):
        # (value, label) pairs, as Django choices are, so schema generators can read them too.
        self.choices = [value for value, _label in choices]
        super().__init__(**kwargs)

    def to_python(self, value):
        """Return the list of values, [] when the parameter is absent."""
        allowed = {"allowed": ", ".join(self.choices)}
        if value is None:
            return []
        if isinstance(value, list):
            raise forms.ValidationError(self.error_messages["repeated"], code="repeated", params=allowed)
        values = value.split(",")
        if any(item not in self.choices for item in values):
            raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice", params=allowed)
        return values


# The view describes the parameter itself (an array, comma-separated); this keeps the generator from guessing.
@extend_schema_field({"type": "string"})
class ChoiceListFilter(django_filters.Filter):
    """A filter whose value is a list of allowed choices."""

    field_class = ChoiceListField

    def __deepcopy__(self, memo):
        # Every FilterSet copies its filters, on every poll: a shallow copy with its own method binding is enough,
        # since nothing else in a filter changes per request.
        clone = copy.copy(self)
        clone.method = self.method
        return clone


class JobFilter(django_filters.FilterSet):
    """Narrow the jobs list by job status and type."""

    status = ChoiceListFilter(choices=JobStatus.choices, method="filter_status")
    type = ChoiceListFilter(choices=JobType.choices, method="filter_type")

    @classmethod
    @functools.cache
    def _form_class(cls):
        return super().get_form_class(cls(queryset=Dataset._base_manager.none()))

    def get_form_class(self):
        """Return the validating form class, built once: this filter set's filters never change."""
        return self._form_class()

    def filter_status(self, queryset, name, value):
        """Keep the jobs with one of the given statuses."""
        return queryset.with_job_status(*value)

    def filter_type(self, queryset, name, value):
        """Keep the jobs of one of the given types."""
        return queryset.with_job_type(*value)


def moment_in_utc(moment):
    """Return the aware `moment` in UTC, an offset every database takes; a moment beyond Python's calendar once in
    UTC (0001-01-01T00:00:00+05:00) is the calendar's nearest end, which orders the same against every job."""
    try:
        return moment.astimezone(datetime.UTC)
    except OverflowError:
        end = datetime.datetime.max if moment.year > 1 else datetime.datetime.min
        return end.replace(tzinfo=datetime.UTC)


class AwareDateTimeField(forms.Field):
    """One ISO 8601 date-time with its UTC offset (`2026-12-01T09:30:00Z`, `...+01:00`); a moment without an offset
    names no moment, so it is an error, as a repeated or malformed value is."""

    widget = SingleValueWidget
    default_error_messages = {
        "invalid": "Give an ISO 8601 date-time with its offset, e.g. 2026-12-01T09:30:00Z.",
        "naive": "This date-time has no UTC offset: add one, e.g. Z or +01:00.",
        "repeated": "Give this parameter once.",
    }

    def to_python(self, value):
        """Return the moment, None when the parameter is absent."""
        if value is None:
            return None
        if isinstance(value, list):
            raise forms.ValidationError(self.error_messages["repeated"], code="repeated")
        try:
            moment = datetime.datetime.fromisoformat(value)
        except ValueError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None
        if moment.tzinfo is None:
            raise forms.ValidationError(self.error_messages["naive"], code="naive")
        return moment_in_utc(moment)


@extend_schema_field({"type": "string", "format": "date-time"})
class AwareDateTimeFilter(django_filters.Filter):
    """A filter whose value is a moment with its UTC offset."""

    field_class = AwareDateTimeField


class SearchField(forms.CharField):
    """Text to look for, once, not blank, at most SEARCH_MAX_LENGTH characters."""

    widget = SingleValueWidget
    default_error_messages = {"repeated": "Give this parameter once.", "blank": "Give a text to look for."}

    def to_python(self, value):
        if isinstance(value, list):
            raise forms.ValidationError(self.error_messages["repeated"], code="repeated")
        if value is not None and not value.strip():
            raise forms.ValidationError(self.error_messages["blank"], code="blank")
        return super().to_python(value)


class SearchFilter(django_filters.CharFilter):
    """A filter whose value is a text to look for."""

    field_class = SearchField


# A filename search longer than any filename DataBiz keeps (`original_filename`, 512) is a mistake, not a search.
SEARCH_MAX_LENGTH = 512


class HistoryFilter(JobFilter):
    """Narrow the job history by job status (the finished ones) and type, by when the jobs finished, and by a text in
    their filename."""

    status = ChoiceListFilter(choices=[(value, label) for value, label in JobStatus.choices
                                       if value in FINISHED_JOB_STATUSES], method="filter_status")
    finished_after = AwareDateTimeFilter(method="filter_finished_after")
    finished_before = AwareDateTimeFilter(method="filter_finished_before")
    q = SearchFilter(max_length=SEARCH_MAX_LENGTH, method="filter_filename")

    def filter_finished_after(self, queryset, name, value):
        """Keep the jobs that finished at or after the moment."""
        return queryset.finished_after(value)

    def filter_finished_before(self, queryset, name, value):
        """Keep the jobs that finished before the moment."""
        return queryset.finished_before(value)

    def filter_filename(self, queryset, name, value):
        """Keep the jobs whose filename contains the text, in any case."""
        return queryset.filename_contains(value)


class JobFilterBackend(DjangoFilterBackend):
    """django-filter's backend, which builds no filter set for a request that gives none of its parameters.

    Most polls carry no filter; building and validating a FilterSet and its form for them cost more than the rest
    of DRF's work on the request.
    """

    def filter_queryset(self, request, queryset, view):
        """Filter `queryset` with the view's filter set, unless the request gives none of its parameters."""
        filterset_class = self.get_filterset_class(view, queryset)
        given = request.query_params
        if filterset_class is not None and not any(name in given for name in filterset_class.base_filters):
            return queryset
        return super().filter_queryset(request, queryset, view)
