"""How the job history is cut into pages: DRF's cursor pagination over HISTORY_ORDER, strict about its parameters,
each page planned for its own user on PostgreSQL."""
import contextlib

from django.db import DatabaseError, connections
from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination

from .models import HISTORY_ORDER


class HistoryPagination(CursorPagination):
    """Pages of the job history, newest first, each read in one query (`page_size` + 1 rows from the cursor on).

    A cursor holds a position in HISTORY_ORDER, not an offset: jobs that finish while a user pages on join the top
    and never shift the pages after it.
    """

    ordering = HISTORY_ORDER
    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"

    def paginate_queryset(self, queryset, request, view=None):
        """Return the page's jobs: one query, planned for the caller (`planned_for_its_values`)."""
        with planned_for_its_values(queryset.db):
            return super().paginate_queryset(queryset, request, view)

    def get_page_size(self, request):
        """Return `?page_size=` (1 to 200), the default when it is absent; anything else is a 400 naming it."""
        given = request.query_params.getlist(self.page_size_query_param)
        if not given:
            return self.page_size
        if len(given) > 1 or not given[0].isdecimal() or not 1 <= int(given[0]) <= self.max_page_size:
            raise ValidationError({self.page_size_query_param: [
                f"Give one whole number from 1 to {self.max_page_size} (default {self.page_size})."
            ]})
        return int(given[0])

    def decode_cursor(self, request):
        """Return the cursor of `?cursor=`; one this service did not give is a 400 naming it (DRF's own is a 404)."""
        if len(request.query_params.getlist(self.cursor_query_param)) > 1:
            raise ValidationError({self.cursor_query_param: ["Give this parameter once."]})
        try:
            cursor = super().decode_cursor(request)
            # DRF decodes a cursor's position, the first ordering field's value, as text and trusts it.
            if cursor is not None and cursor.position is not None and not is_moment(cursor.position):
                raise NotFound()
            return cursor
        except NotFound:
            raise ValidationError({self.cursor_query_param: [
                "Not a cursor of this list: follow the `next` and `previous` links as given."
            ]}) from None

    def get_schema_operation_parameters(self, view):
        """Return DRF's description of `cursor` and `page_size`, with the page size's bounds and default."""
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size, default=self.page_size)
            else:
                parameter["description"] = "An opaque cursor from a page's `next` or `previous` link."
        return parameters

    def get_paginated_response_schema(self, schema):
        """Return DRF's schema of a page, both links required: every page carries them (null at either end)."""
        paginated = super().get_paginated_response_schema(schema)
        paginated["required"] = ["next", "previous", "results"]
        return paginated


def is_moment(text):
    """Return whether `text` names a moment, with its UTC offset, as a cursor's position of `updated_at` does."""
    try:
        moment = parse_datetime(text)
    except ValueError:
        return False
    return moment is not None and moment.tzinfo is not None


@contextlib.contextmanager
def planned_for_its_values(using):
    """On PostgreSQL, plan the statements run inside for the values they are given (`plan_cache_mode`).

    The service's connections plan a statement once for every value (DATABASE_PLAN_CACHE_MODE): right for the poll,
    whose one plan reads one user's recent rows. A history page planned for an average user reads a long history
    whole to sort it (226 ms for 100,000 jobs), where the plan for the caller walks the index (created_by,
    updated_at DESC) and stops after the page (0.8 ms; docs/performance.md, "Job history").
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET plan_cache_mode = force_custom_plan")
    try:
        yield
    finally:
        # Back to the connection's own setting for the polls that reuse it; a broken connection is closed anyway.
        with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute("RESET plan_cache_mode")
