"""`GET /api/v2/jobs/stream`: the HTTP side of a stream. Authentication and refusals (on the streams' requests
thread), the listing a request asks for, and the Server-Sent Events framing of what the hub hands the stream."""
import asyncio
import math
import time

from django.core.exceptions import SuspiciousOperation
from django.core.handlers.asgi import ASGIRequest
from django.db import DatabaseError
from django.http import StreamingHttpResponse
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django_filters.utils import translate_validation
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import APIException, AuthenticationFailed, MethodNotAllowed, NotAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from databiz.errors import api_exception_handler
from databiz.metrics import STREAM_EVENTS

from ..authentication import token_authentication
from ..conf import jobs_settings
from ..filters import JobFilter
from ..models import Dataset
from . import hub as hubs
from .hub import COME_BACK_LATER, REQUESTS_THREAD
from .pages import Listing


def retry_hint():
    """Return the field that tells an EventSource how long to wait before it reconnects (JOBS_STREAM_RETRY)."""
    return f"retry: {int(jobs_settings.JOBS_STREAM_RETRY.total_seconds() * 1000)}\n\n".encode()


def authenticate(django_request):
    """Return (user, token) as the list authenticates its caller (Bearer token, or the session), or raise."""
    request = Request(django_request, authenticators=[token_authentication(), SessionAuthentication()])
    if request.user is None or not request.user.is_authenticated:
        raise NotAuthenticated()
    return request.user, request.auth


class NotAStreamingServer(APIException):
    """A stream asked of a WSGI server, which would hold a worker for the stream's whole life (Django reads an async
    stream to its end before sending anything): the client polls instead."""

    status_code = 503
    default_detail = "This server does not stream (it is not an ASGI server): poll /api/v2/jobs/active."

    def __init__(self):
        super().__init__()
        self.wait = jobs_settings.JOBS_STREAM_RETRY.total_seconds()


def refusal(exc):
    """Return the JSON answer the API gives for `exc`, through its exception handler as DRF's views do: 400, 401
    with its challenge, 405, 429, and 503 (with `Retry-After`) for a database outage or a full server."""
    if isinstance(exc, (NotAuthenticated, AuthenticationFailed)):
        # As APIView.handle_exception does: the challenge, set before the handler, makes the answer a 401.
        exc.auth_header = token_authentication().authenticate_header(None)
    response = api_exception_handler(exc, {})
    if isinstance(response, Response):
        response.accepted_renderer, response.accepted_media_type, response.renderer_context = (
            JSONRenderer(), "application/json", {}
        )
        response.render()
    return response


def listing_of(user_id, query_params):
    """Return the listing a stream request asks for: its `status` and `type` filters validated as the list's are."""
    filterset = JobFilter(query_params, queryset=Dataset._base_manager.none())
    if not filterset.is_valid():
        raise translate_validation(filterset.errors)
    chosen = filterset.form.cleaned_data
    return Listing(user_id, tuple(sorted(set(chosen["status"]))), tuple(sorted(set(chosen["type"]))))


# How a stream ends when its credentials are due: a token's client signs in again; a session's browser reconnects,
# its cookie checked anew (a signed-out or deactivated user then gets the 401).
REAUTHENTICATE = b'event: reauthenticate\ndata: {"detail": "The token has expired."}\n\n'


# A heartbeat falls due on a mark of a grid this many to the heartbeat period (1 s for the 15 s default).
HEARTBEAT_MARKS = 15


def heartbeat_wait(ends_at):
    """Return how long a stream waits for an answer: until its next heartbeat, or until it is due to end.

    The heartbeat falls due on the first mark of the grid (HEARTBEAT_MARKS) after a whole heartbeat period, at most a
    mark late: the streams that fell silent within one mark wake the event loop once, together, not each at its own
    moment. That took a third of the streams' CPU off at 2,000 tabs (docs/performance.md, "round four").
    """
    heartbeat = jobs_settings.JOBS_STREAM_HEARTBEAT.total_seconds()
    now, mark = time.time(), heartbeat / HEARTBEAT_MARKS
    due = math.ceil((now + heartbeat) / mark) * mark
    return min(due - now, max(0.0, ends_at - now))


def stream_end(token):
    """Return (when, last chunk) a stream ends: at its Bearer token's expiry asking for a new one, or for a browser
    session after JOBS_STREAM_SESSION_RECHECK with a reconnection hint."""
    if token is not None and "exp" in token:
        return float(token["exp"]), REAUTHENTICATE
    return time.time() + jobs_settings.JOBS_STREAM_SESSION_RECHECK.total_seconds(), retry_hint()


async def events(listing, last_event_id, ends_at, end):
    """Yield the stream of one listing: the current answer (unless the client has it), then each change, until
    `ends_at`, when `end` is its last chunk."""
    mailbox = hubs.HUB.subscribe(listing)
    sent = last_event_id
    try:
        yield retry_hint()
        while True:
            try:
                # A deadline on this task, not asyncio.wait_for's task per wait (Python 3.11): ~1.5 KiB a stream.
                async with asyncio.timeout(heartbeat_wait(ends_at)):
                    answer = await mailbox.get()
            except TimeoutError:
                if time.time() >= ends_at:
                    yield end
                    return
                yield b": heartbeat\n\n"
                continue
            if answer is COME_BACK_LATER:
                yield retry_hint()
                return
            if answer.etag != sent:
                sent = answer.etag
                STREAM_EVENTS.inc()
                yield answer.event
    finally:
        hubs.HUB.unsubscribe(listing, mailbox)


class JobStreamView(View):
    """`GET /api/v2/jobs/stream`: the signed-in user's jobs as Server-Sent Events, each what the list answers."""

    @classmethod
    def as_view(cls, **initkwargs):
        """Return the view, exempt from CSRF checks as DRF's views are: it only reads, and refuses any other method."""
        return csrf_exempt(super().as_view(**initkwargs))

    def http_method_not_allowed(self, request, *args, **kwargs):
        """Refuse a method other than GET as the API does: a JSON 405 naming the allowed ones."""

        async def refused():
            response = await hubs.in_database_thread(refusal, REQUESTS_THREAD)(MethodNotAllowed(request.method))
            response["Allow"] = ", ".join(self._allowed_methods())
            return response

        return refused()

    async def get(self, request):
        """Open the stream, or answer 400, 401, 429 or 503 as JSON."""
        try:
            if not isinstance(request, ASGIRequest):
                raise NotAStreamingServer()
            user, token = await hubs.in_database_thread(authenticate, REQUESTS_THREAD)(request)
            listing = listing_of(user.pk, request.GET)
            if (limit := hubs.HUB.limit_reached(user.pk)) is not None:
                raise limit
        # DatabaseError: an outage; SuspiciousOperation: a query Django refuses to read.
        except (APIException, DatabaseError, SuspiciousOperation) as exc:
            return await hubs.in_database_thread(refusal, REQUESTS_THREAD)(exc)
        response = StreamingHttpResponse(
            events(listing, request.headers.get("Last-Event-ID"), *stream_end(token)),
            content_type="text/event-stream",
        )
        # Proxies must pass each event on at once (nginx: this header; others: buffering off for this path).
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"
        return response
