"""How the job history is cut into pages: DRF's cursor pagination over HISTORY_ORDER, strict about its parameters,
each page planned for its own user on PostgreSQL."""
import contextlib
import re

from django.db import connections, transaction
from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination

from .filters import moment_in_utc
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
        """Return the page's jobs: one query, planned for the caller (`planned_for_its_values`); a bad parameter is
        refused before the database is asked anything."""
        self.get_page_size(request)
        self.decode_cursor(request)
        with planned_for_its_values(queryset.db):
            return super().paginate_queryset(queryset, request, view)

    def get_page_size(self, request):
        """Return `?page_size=` (1 to 200), the default when it is absent; anything else is a 400 naming it."""
        given = request.query_params.getlist(self.page_size_query_param)
        if not given:
            return self.page_size
        if len(given) > 1 or not re.fullmatch(r"[0-9]{1,3}", given[0]) or not 1 <= int(given[0]) <= self.max_page_size:
            raise ValidationError({self.page_size_query_param: [
                f"Give one whole number from 1 to {self.max_page_size} (default {self.page_size})."
            ]})
        return int(given[0])

    def decode_cursor(self, request):
        """Return the cursor of `?cursor=`; one this service did not give is a 400 naming it (DRF's own is a 404)."""
        given = request.query_params.getlist(self.cursor_query_param)
        if len(given) > 1:
            raise ValidationError({self.cursor_query_param: ["Give this parameter once."]})
        try:
            # DRF's base64 decoding skips characters outside the alphabet: "%%%" would be the first page.
            if given and not re.fullmatch(r"[A-Za-z0-9+/=]+", given[0]):
                raise NotFound()
            cursor = super().decode_cursor(request)
            # DRF decodes a cursor's position, the first ordering field's value, as text and trusts it.
            if cursor is not None and cursor.position is not None:
                cursor = cursor._replace(position=position_in_utc(cursor.position))
            return cursor
        except (NotFound, ValueError):
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
                parameter["schema"].update(minLength=1)
        return parameters

    def get_paginated_response_schema(self, schema):
        """Return DRF's schema of a page, both links required: every page carries them (null at either end)."""
        paginated = super().get_paginated_response_schema(schema)
        paginated["required"] = ["next", "previous", "results"]
        return paginated


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
    # SET LOCAL: the setting ends with the transaction, whatever happens in it, on the server that ran it (a pooler
    # in transaction mode keeps the three statements on one backend); the polls that reuse the connection keep theirs.
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        yield


def position_in_utc(text):
    """Return a cursor's position (a moment of `updated_at`, as DRF wrote it) in UTC, or raise ValueError."""
    moment = parse_datetime(text)
    if moment is None or moment.tzinfo is None:
        raise ValueError("not a moment")
    return moment_in_utc(moment).isoformat()
