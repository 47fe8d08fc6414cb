"""The jobs API: the list of the signed-in user's jobs, their history, and the token endpoints of local mode."""

from django.contrib.auth import get_user_model
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import AuthenticationFailed, NotFound
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from .authentication import (
    INVALID_TIME_CLAIM,
    TOKEN_AUTHENTICATION,
    auth_mode,
    invalid_time_claim,
    page_authentication,
)
from .filters import SEARCH_MAX_LENGTH, HistoryFilter, JobFilter, JobFilterBackend
from .models import FINISHED_JOB_STATUSES, Dataset, JobStatus, JobType
from .openapi import FIELD_ERRORS, NON_BLANK_STRING, THROTTLED, UNAUTHORIZED, UNAVAILABLE
from .pagination import HistoryPagination
from .polling import answer_etag, cache_headers, not_modified, representation, tagged_answer
from .serializers import JobSerializer
from .throttling import PollRateThrottle


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
        OpenApiParameter("If-None-Match", str, OpenApiParameter.HEADER, description="The ETag of the answer held."),
        *[
            OpenApiParameter(name, kind, OpenApiParameter.HEADER, description=description, response=[200, 304])
            for name, kind, description in (
                ("ETag", str, "Tag of this answer, for If-None-Match."),
                ("X-Jobs-Running", int, "The caller's running jobs among those asked for (`status`, `type`), also "
                 "those the bound cut off."),
                ("X-Jobs-Truncated", str, "`true` when the bound cut the list."),
                ("X-Poll-Interval", int, "Suggested seconds until the next poll."),
            )
        ],
    ],
    responses={
        200: JobSerializer(many=True),
        304: OpenApiResponse(description="Not modified: the If-None-Match tag is the current answer's."),
        400: OpenApiResponse(
            FIELD_ERRORS,
            description="A filter parameter is empty, repeated or holds an unknown value; the body names it and "
            "the allowed values.",
        ),
        401: UNAUTHORIZED,
        429: THROTTLED,
        503: UNAVAILABLE,
    },
))
class ActiveJobListView(ListAPIView):
    """The signed-in user's jobs: running ones first, then those finished within the retention window."""

    # The identity mode's page authentication (in local mode the user's row is checked in the same round trip as the
    # jobs query); sessions as usual.
    authentication_classes = [page_authentication, SessionAuthentication]
    serializer_class = JobSerializer
    filter_backends = [JobFilterBackend]
    filterset_class = JobFilter
    pagination_class = None
    throttle_classes = [PollRateThrottle]

    def get_queryset(self):
        """Return the signed-in user's page of jobs: job order, bounded, with list totals (compiled SQL)."""
        return Dataset.objects.jobs_page_for(self.request.user)

    def list(self, request, *args, **kwargs):
        """Answer the filtered page as a bare array with its ETag and hint headers, or 304 if the caller has it."""
        jobs = self.filter_queryset(self.get_queryset())
        etag, headers = tagged_answer(self.get_serializer_class(), jobs, representation(request))
        unchanged = not_modified(request, etag, headers)
        if unchanged is not None:
            return unchanged
        return Response(self.get_serializer(jobs, many=True).data, headers={**headers, "ETag": etag})

    def finalize_response(self, request, response, *args, **kwargs):
        """Mark every answer private and to be revalidated."""
        return cache_headers(super().finalize_response(request, response, *args, **kwargs))


@extend_schema_view(get=extend_schema(
    operation_id="jobs_history_list",
    summary="The signed-in user's job history",
    description=(
        "Every finished job of the caller (completed and failed, stalled imports included), newest first: by the "
        "moment of the dataset's last update, which is when a completed or failed job finished (a stalled import, "
        "reported failed JOBS_STALL_AFTER after its last update, sorts by that update). Each item is the job shape "
        "the active list gives. Cursor pages: follow `next` (older jobs) and `previous`; jobs that finish meanwhile "
        "join the top and never shift the pages after it. The first page answers If-None-Match with a 304."
    ),
    parameters=[
        csv_parameter("status", FINISHED_JOB_STATUSES, "Only jobs with one of these statuses (comma-separated)."),
        csv_parameter("type", JobType.values, "Only jobs of one of these types (comma-separated)."),
        OpenApiParameter("finished_after", {"type": "string", "format": "date-time"}, OpenApiParameter.QUERY,
                         description="Only jobs finished at or after this moment (ISO 8601 with its UTC offset)."),
        OpenApiParameter("finished_before", {"type": "string", "format": "date-time"}, OpenApiParameter.QUERY,
                         description="Only jobs finished before this moment (ISO 8601 with its UTC offset)."),
        OpenApiParameter("q", {"type": "string", "minLength": 1, "maxLength": SEARCH_MAX_LENGTH,
                               "pattern": NON_BLANK_STRING["pattern"]}, OpenApiParameter.QUERY,
                         description="Only jobs whose filename contains this text, in any case (`%` and `_` are "
                         "plain characters)."),
        OpenApiParameter("If-None-Match", str, OpenApiParameter.HEADER, description="The ETag of the page held."),
        OpenApiParameter("ETag", str, OpenApiParameter.HEADER, response=[200, 304],
                         description="Tag of the first page, for If-None-Match."),
    ],
    responses={
        200: JobSerializer(many=True),
        304: OpenApiResponse(description="Not modified: the If-None-Match tag is the first page's current one."),
        400: OpenApiResponse(
            FIELD_ERRORS,
            description="A parameter is empty, repeated, malformed or out of range (a moment without its offset, a "
            "page size outside 1-200, a cursor this service did not give); the body names it.",
        ),
        401: UNAUTHORIZED,
        429: THROTTLED,
        503: UNAVAILABLE,
    },
))
class JobHistoryListView(ListAPIView):
    """The signed-in user's finished jobs, newest first, in cursor pages."""

    # As the active list: in local mode the user's row is checked in the page's own statement.
    authentication_classes = [page_authentication, SessionAuthentication]
    serializer_class = JobSerializer
    filter_backends = [JobFilterBackend]
    filterset_class = HistoryFilter
    pagination_class = HistoryPagination
    throttle_classes = [PollRateThrottle]

    def get_queryset(self):
        """Return the signed-in user's finished jobs, newest first."""
        return Dataset.objects.history_page_for(self.request.user)

    def list(self, request, *args, **kwargs):
        """Answer a page; the first one with its ETag, or 304 if the caller has it (before anything is formatted)."""
        jobs = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        etag = None
        if self.paginator.cursor_query_param not in request.query_params:
            links = {"next": self.paginator.get_next_link(), "previous": self.paginator.get_previous_link()}
            etag = answer_etag(self.get_serializer_class(), jobs, {**links, **representation(request)})
            if (unchanged := not_modified(request, etag, {})) is not None:
                return unchanged
        response = self.get_paginated_response(self.get_serializer(jobs, many=True).data)
        if etag is not None:
            response["ETag"] = etag
        return response

    def finalize_response(self, request, response, *args, **kwargs):
        """Mark every answer private and to be revalidated."""
        return cache_headers(super().finalize_response(request, response, *args, **kwargs))


class LocalTokensOnly:
    """Answer 404 when tokens come from DataBiz's external issuer: this service then mints none."""

    def initial(self, request, *args, **kwargs):
        """Refuse before anything else runs when AUTH_MODE is external."""
        if not TOKEN_AUTHENTICATION[auth_mode()].mints_tokens:
            raise NotFound("This service issues no tokens: AUTH_MODE is external, sign in through DataBiz.")
        super().initial(request, *args, **kwargs)


class TokenObtainView(LocalTokensOnly, TokenObtainPairView):
    """simplejwt's token pair view, throttled per client address so password guessing stays slow."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"


class TokenRefreshThrottledView(LocalTokensOnly, TokenRefreshView):
    """simplejwt's refresh view, throttled per client address."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    def post(self, request, *args, **kwargs):
        """Exchange a refresh token for a new access token; an invalid or expired one, or one whose user is gone, is a
        401."""
        # simplejwt answers a refresh token whose user was deleted, or whose `exp` is no usable time, with a 500.
        try:
            return super().post(request, *args, **kwargs)
        except get_user_model().DoesNotExist:
            message = TokenRefreshSerializer.default_error_messages["no_active_account"]
            raise AuthenticationFailed(message, "no_active_account") from None
        except INVALID_TIME_CLAIM:
            raise invalid_time_claim() from None
