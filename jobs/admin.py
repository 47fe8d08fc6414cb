"""The Django admin: datasets shown as background jobs, read-only for everyone."""
from django.contrib import admin
from django.contrib.admin.options import csrf_protect_m
from django.db import router, transaction
from django.utils.text import Truncator

from .models import Dataset, JobStatus

ERROR_COLUMN_LENGTH = 60


class JobStatusListFilter(admin.SimpleListFilter):
    """Filter by job status as the job rules compute it now (a stalled import is failed)."""

    title = "job status"
    parameter_name = "job_status"

    def lookups(self, request, model_admin):
        """Offer the job statuses, the stalled imports among the failed ones, and every finished job (the history)."""
        return [*JobStatus.choices, ("stalled", "Failed: stalled"), ("finished", "Finished (history)")]

    def queryset(self, request, queryset):
        """Keep the datasets whose job has the chosen status."""
        if self.value() == "stalled":
            return queryset.stalled()
        if self.value() == "finished":
            return queryset.finished()
        if self.value() in JobStatus.values:
            return queryset.with_job_status(self.value())
        return queryset


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    """Datasets as jobs: every column read from the model and its QuerySet, nothing editable."""

    list_display = (
        "filename",
        "owner",
        "status",
        "job_status_display",
        "job_type_display",
        "progress",
        "started_at",
        "finished_at_display",
        "short_error",
    )
    list_filter = (JobStatusListFilter, "status", "file_type")
    date_hierarchy = "created_at"
    search_fields = ("original_filename", "name", "owner_username")
    ordering = ("-created_at",)
    list_per_page = 50
    # The QuerySet refuses deletes: no action may offer one.
    actions = None
    fieldsets = (
        ("Job", {"fields": ("job_status_display", "job_type_display", "progress", "finished_at_display", "error")}),
        (
            "Dataset",
            {
                "fields": (
                    "id",
                    "name",
                    "original_filename",
                    "file_type",
                    "file_size",
                    "status",
                    "error_message",
                    "owner",
                    "created_by",
                    "created_at",
                    "updated_at",
                )
            },
        ),
    )
    readonly_fields = (
        "job_status_display",
        "job_type_display",
        "progress",
        "finished_at_display",
        "error",
        "owner",
    )

    def get_queryset(self, request):
        """Datasets with their job fields and their owner's username, each row in one query."""
        return super().get_queryset(request).with_owner_username()

    # Django wraps these views in a transaction on the model's write database, which the router refuses
    # for datasets ("Refusing to write datasets"); they never write, so the read database serves.
    @csrf_protect_m
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        with transaction.atomic(using=router.db_for_read(self.model)):
            return self._changeform_view(request, object_id, form_url, extra_context)

    @csrf_protect_m
    def delete_view(self, request, object_id, extra_context=None):
        with transaction.atomic(using=router.db_for_read(self.model)):
            return self._delete_view(request, object_id, extra_context)

    def lookup_allowed(self, lookup, value, request=None):
        """Refuse regular-expression lookups from the URL: a bad pattern is a database error, not a filter."""
        if lookup.endswith(("__regex", "__iregex")):
            return False
        return super().lookup_allowed(lookup, value, request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="owner", ordering="owner_username")
    def owner(self, obj):
        """The owner's username, or the raw id when no user has it."""
        return obj.owner_username or str(obj.created_by)

    @admin.display(description="job status", ordering="job_status")
    def job_status_display(self, obj):
        """The job status the rules give the dataset now."""
        return obj.job_status

    @admin.display(description="type", ordering="job_type")
    def job_type_display(self, obj):
        """The job's type."""
        return obj.job_type

    @admin.display(description="finished", ordering="finished_at")
    def finished_at_display(self, obj):
        """When the job finished (or stalled)."""
        return obj.finished_at

    @admin.display(description="error")
    def short_error(self, obj):
        """The job's error for users, shortened for the list."""
        return Truncator(obj.error).chars(ERROR_COLUMN_LENGTH) if obj.error else None
