"""How the job history is cut into pages: DRF's cursor pagination over HISTORY_ORDER, strict about its parameters
(each page one query, planned for its own user on PostgreSQL: HistoryPageQuerySet)."""
import re
import uuid

from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination

from .filters import moment_in_utc
from .models import HISTORY_ORDER, HistoryPosition


class HistoryPagination(CursorPagination):
    """Pages of the job history, newest first, each read in one query (`page_size` + 1 rows from the cursor on).

    A cursor holds a position in HISTORY_ORDER (a HistoryPosition, unique), not an offset: jobs that finish while a
    user pages on join the top and never shift the pages after it, and jobs updated at one moment never need one.
    """

    ordering = HISTORY_ORDER
    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"

    def paginate_queryset(self, queryset, request, view=None):
        """Return the page's jobs (one query); a bad parameter is refused before the database is asked anything."""
        self.get_page_size(request)
        self.decode_cursor(request)
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
            # DRF decodes a cursor's position as text and trusts it.
            if cursor is not None and cursor.position is not None:
                cursor = cursor._replace(position=position_of(cursor.position, back=cursor.reverse))
            return cursor
        except (NotFound, ValueError):
            raise ValidationError({self.cursor_query_param: [
                "Not a cursor of this list: follow the `next` and `previous` links as given."
            ]}) from None

    def encode_cursor(self, cursor):
        """Return the link of `cursor`, its HistoryPosition written as text (DRF would take a tuple for two values)."""
        if cursor.position is not None:
            cursor = cursor._replace(position=str(cursor.position))
        return super().encode_cursor(cursor)

    def _get_position_from_instance(self, instance, ordering):
        """Return where `instance` stands in HISTORY_ORDER: by both its fields (DRF takes the first one only, and
        tells jobs updated at one moment apart by an offset, which a job joining them between two pages shifts)."""
        return HistoryPosition.of(instance)

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


def position_of(text, *, back=False):
    """Return the HistoryPosition a cursor's text holds (its moment in UTC), or raise ValueError.

    A moment alone is a link given before positions held the id (until December 2026; DRF wrote `str()` of the
    moment): it stands for the position past every job of that moment (`back`: before every one), which pages on
    exactly as that link did.
    """
    moment = parse_datetime(text)
    if moment is not None:
        dataset_id = uuid.UUID(int=(1 << 128) - 1 if back else 0)
    else:
        moment_text, _, id_text = text.rpartition(" ")
        moment, dataset_id = parse_datetime(moment_text), uuid.UUID(id_text)
    if moment is None or moment.tzinfo is None:
        raise ValueError("not a moment")
    return HistoryPosition(moment_in_utc(moment), dataset_id)
