"""Server-Sent Events of each user's jobs: the answers of every open stream, found with one query per tick.

Each process keeps the listings with an open stream (`StreamHub`): a user's list, with the list's `status` and
`type` filters or without. Every JOBS_STREAM_TICK it reads all their pages in one query per filter shape in use
(`Dataset.objects.jobs_for_owners`, the same rules as the list; one query when no stream filters), and sends a
stream an event only when its answer's ETag changed. An event carries exactly what `GET /api/v2/jobs/active` with
the same query answers at that moment: the same JSON array as its data, the same ETag as its id.
"""
import asyncio
import contextlib
import logging
import re
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import NamedTuple

import psycopg
from asgiref.sync import sync_to_async
from django.core.exceptions import SuspiciousOperation
from django.core.handlers.asgi import ASGIRequest
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, router, transaction
from django.http import JsonResponse, StreamingHttpResponse
from django.utils import timezone
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django_filters.utils import translate_validation
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import APIException, AuthenticationFailed, NotAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request

from databiz.errors import api_exception_handler, bad_request_body, database_unavailable_response
from databiz.metrics import STREAM_EVENTS, STREAM_TICK_SECONDS, STREAMS_OPEN

from . import conf
from .authentication import token_authentication
from .compiled import run_checked
from .filters import JobFilter
from .import_speed import learned_so_far, share_import_speed
from .models import JOB_COLUMNS, Dataset
from .polling import tagged_answer
from .routers import replica_caught_up
from .serializers import JobSerializer

logger = logging.getLogger(__name__)

# Users whose pages one query reads; more open streams take more queries per tick.
USERS_PER_QUERY = 1000
# How long a read of users named by the primary waits for a replica to replay their change (then it reads anyway;
# the tick is the safety net).
REPLICA_CATCH_UP = 1.0
# The streams' database calls run on two threads of their own, so on two connections a process: under ASGI, Django
# gives each request a thread (and a connection) of its own, which thousands of open streams would exhaust. The
# tick reads everyone on one; the users that notifications and new streams name are read on the other, so that
# they do not wait for a whole tick to end.
DATABASE_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jobs-stream-db")
NAMED_USERS_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jobs-stream-named")


def in_database_thread(function, executor=DATABASE_THREAD):
    """Return `function` as a coroutine function that runs on one of the streams' database threads."""
    return sync_to_async(function, thread_sensitive=False, executor=executor)


@dataclass(frozen=True)
class Answer:
    """What `/api/v2/jobs/active` answers one user: the JSON body and its ETag."""

    body: bytes
    etag: str

    def event(self):
        """Return the answer as one Server-Sent Event."""
        return b"event: jobs\nid: " + self.etag.encode() + b"\ndata: " + self.body + b"\n\n"


class Listing(NamedTuple):
    """What a stream follows: one user's list, narrowed by the list's filters (`?status=`, `?type=`) or not."""

    user_id: uuid.UUID
    job_statuses: tuple = ()
    job_types: tuple = ()


@dataclass(frozen=True)
class TaggedPage:
    """One listing's page as a tick read it: the answer's ETag and jobs, and what they were made of."""

    etag: str
    jobs: list
    # The page's rows as plain values (every rule's outcome at the tick's `now` is a column of them), and the rest
    # of what its answer is made of: the import speed this process had learned, and the poll interval settings.
    rows: list
    inputs: tuple


def tagged_pages(listings, *, now=None, previous=None):
    """Return {listing: TaggedPage} for every listing of `listings`: one query for the users of each filter shape
    (USERS_PER_QUERY users a query).

    `previous` holds the pages of an earlier read: a listing whose rows and inputs are the same again keeps its
    jobs and ETag, and no job is made of its rows (most pages do not change from one tick to the next).
    """
    now = now or timezone.now()
    previous = previous or {}
    using = router.db_for_read(Dataset)
    inputs = (learned_so_far(using), conf.poll_interval(running=True), conf.poll_interval(running=False))
    shapes = defaultdict(list)
    for listing in listings:
        shapes[listing.job_statuses, listing.job_types].append(listing.user_id)
    pages = {}
    for (job_statuses, job_types), user_ids in shapes.items():
        by_owner = defaultdict(list)
        for start in range(0, len(user_ids), USERS_PER_QUERY):
            queryset = Dataset.objects.using(using).jobs_for_owners(
                user_ids[start:start + USERS_PER_QUERY], now=now, job_statuses=job_statuses, job_types=job_types
            )
            fields, annotations = owner_rows(queryset, by_owner)
        for user_id in user_ids:
            listing, rows = Listing(user_id, job_statuses, job_types), by_owner[user_id]
            before = previous.get(listing)
            if before is not None and before.rows == rows and before.inputs == inputs:
                pages[listing] = before
                continue
            jobs = jobs_of(rows, fields, annotations, using)
            pages[listing] = TaggedPage(tagged_answer(JobSerializer, jobs)[0], jobs, rows, inputs)
    return pages


def owner_rows(queryset, by_owner):
    """Add the rows of `queryset`'s jobs to `by_owner` ({owner: [row, ...]}, in job order) as plain values: the
    columns a job is made of, then the annotations. Return the names of both."""
    loaded = {*JOB_COLUMNS, "created_by"}
    fields = [field.attname for field in Dataset._meta.concrete_fields if field.attname in loaded]
    annotations = list(queryset.query.annotation_select)
    owner = fields.index("created_by")
    for row in queryset.values_list(*fields, *annotations):
        by_owner[row[owner]].append(row)
    return fields, annotations


def jobs_of(rows, fields, annotations, using):
    """Return the jobs made of rows that `owner_rows` read: what iterating the QuerySet would have made of them."""
    jobs = []
    for row in rows:
        job = Dataset.from_db(using, fields, row[:len(fields)])
        for name, value in zip(annotations, row[len(fields):]):
            setattr(job, name, value)
        jobs.append(job)
    return list(share_import_speed(jobs, using))


def render(etag, jobs):
    """Return the Answer of a page of jobs whose ETag is `etag`: the list's JSON bytes."""
    return Answer(JSONRenderer().render(JobSerializer(jobs, many=True).data), etag)


def answers_for(listings, *, now=None):
    """Return {listing: Answer} for every listing of `listings`, as the list answers each of them."""
    return {listing: render(page.etag, page.jobs) for listing, page in tagged_pages(listings, now=now).items()}


class StreamHub:
    """The open streams of this process, by user, and the tick that refreshes them all with one query."""

    def __init__(self):
        self.streams = defaultdict(set)
        self.per_user = Counter()
        # By listing: the ETag of the answer last handed to their streams, and when the read that found it started.
        self.sent = {}
        # By listing: its page as the last read found it, so that the next read makes nothing of unchanged rows.
        self.pages = {}
        self.task = None
        # Set by notifications and new streams (the users they name), and once LISTEN is in place.
        self.woken = asyncio.Event()
        self.named = set()
        self.listening = asyncio.Event()
        # New streams, which get the current answer from the next read that started after they opened (by when they
        # opened), whatever was sent before.
        self.fresh = {}
        # Set when the server stops: open streams end, new ones are refused.
        self.stopping = False

    def open_count(self, user_id=None):
        """Return how many streams are open: in this process, or of one user."""
        if user_id is None:
            return self.per_user.total()
        return self.per_user[user_id]

    def subscribe(self, listing):
        """Open a stream of a listing's answers; return its queue of events."""
        # Checked again as the stream opens, with no pause since: streams asked for at once all passed the view's check.
        past_a_limit = self.limit_reached(listing.user_id) is not None
        loop = asyncio.get_running_loop()
        if self.task is None or self.task.done() or self.task.get_loop() is not loop:
            # asyncio's events belong to the loop that first waits on them: a new loop gets new ones.
            self.woken, self.listening = asyncio.Event(), asyncio.Event()
            self.task = loop.create_task(self.run())
        queue = asyncio.Queue(maxsize=conf.stream_queue())
        self.streams[listing].add(queue)
        self.per_user[listing.user_id] += 1
        self.fresh[queue] = time.perf_counter()
        self.named.add(listing.user_id)
        self.woken.set()
        STREAMS_OPEN.inc()
        if past_a_limit:
            deliver(queue, COME_BACK_LATER)
        return queue

    def limit_reached(self, user_id):
        """Return the StreamLimit a new stream of `user_id` meets now, or None: the server is stopping, or the user
        or this process already holds as many streams as allowed."""
        wait = int(conf.stream_retry().total_seconds())
        if self.stopping:
            return StreamLimit(503, "This server is stopping: poll, or try again shortly.", wait)
        if self.open_count(user_id) >= conf.stream_max_per_user():
            return StreamLimit(429, "Too many open streams for this user: close one, or poll.", wait)
        if self.open_count() >= conf.stream_max_per_process():
            return StreamLimit(503, "This server holds as many streams as it can: poll, or try again shortly.", wait)
        return None

    def unsubscribe(self, listing, queue):
        """Close one stream."""
        queues = self.streams.get(listing)
        self.fresh.pop(queue, None)
        if queues is not None and queue in queues:
            STREAMS_OPEN.dec()
            queues.discard(queue)
            self.per_user[listing.user_id] -= 1
            if not self.per_user[listing.user_id]:
                del self.per_user[listing.user_id]
            if not queues:
                del self.streams[listing]
                self.sent.pop(listing, None)
                self.pages.pop(listing, None)

    def stop(self):
        """End every open stream with a reconnection hint, and refuse new ones: the server is stopping.

        Servers wait for open responses to end before they stop; a stream would never end on its own.
        """
        self.stopping = True
        for queues in self.streams.values():
            for queue in queues:
                deliver(queue, COME_BACK_LATER, drop_behind=True)

    async def run(self):
        """Refresh while any stream is open: everyone every JOBS_STREAM_TICK, and at once the users that
        notifications (JOBS_STREAM_NOTIFY_CHANNEL) and new streams name, each on a database thread of its own."""
        loop = asyncio.get_running_loop()
        helpers = [loop.create_task(self.refresh_named())]
        if conf.stream_notify_channel():
            helpers.append(loop.create_task(self.listen()))
        try:
            while self.streams:
                await self.tick_and_go_on()
                await asyncio.sleep(conf.stream_tick().total_seconds())
        finally:
            for helper in helpers:
                helper.cancel()

    async def refresh_named(self):
        """Refresh the users that notifications and new streams name, as soon as they are named."""
        while True:
            await self.woken.wait()
            self.woken.clear()
            named, self.named = self.named, set()
            listings = [listing for listing in self.streams if listing.user_id in named]
            await self.tick_and_go_on(listings, executor=NAMED_USERS_THREAD, after_the_primary=True)

    async def tick_and_go_on(self, listings=None, executor=DATABASE_THREAD, after_the_primary=False):
        """Tick; whatever goes wrong, the streams stay open and the next tick tries again."""
        try:
            await self.tick(listings, executor, after_the_primary)
        except Exception:
            logger.exception("A stream tick failed; the next one tries again.")

    async def listen(self):
        """Listen to the imports service's notifications (datasets changed for a user) and wake the ticker."""
        while True:
            try:
                async with await notification_connection() as connection:
                    await connection.execute(f"LISTEN {quote_channel(conf.stream_notify_channel())}")
                    self.listening.set()
                    async for notification in connection.notifies():
                        with contextlib.suppress(ValueError):
                            self.named.add(uuid.UUID(notification.payload))
                            self.woken.set()
            except Exception:
                # The tick goes on meanwhile; listen again shortly.
                logger.warning("Listening for dataset notifications failed; retrying.", exc_info=True)
                await asyncio.sleep(conf.stream_retry().total_seconds())

    async def tick(self, listings=None, executor=DATABASE_THREAD, after_the_primary=False):
        """Read the answers of `listings` (every open stream's by default) and hand them to the streams that lack
        them: the changed ones to every stream of their listing, the current ones to new streams.

        `after_the_primary`: the users were named by the primary (a notification, a new stream), so the read waits
        until a replica has replayed what the primary had written by then; before the read's start is taken, so
        that a tick reading meanwhile cannot count as newer than it.
        """
        listings = list(self.streams) if listings is None else listings
        if not listings or self.stopping:
            return
        if after_the_primary:
            await in_database_thread(replica_caught_up, executor=executor)(REPLICA_CATCH_UP)
        started = time.perf_counter()
        try:
            pages = await in_database_thread(refresh, executor=executor)(listings, self.pages)
        except DatabaseError:
            # The streams stay open and catch up on the tick after the database is back.
            logger.warning("The stream tick could not read the datasets.", exc_info=True)
            return
        finally:
            STREAM_TICK_SECONDS.observe(time.perf_counter() - started)
        if not self.stopping:  # stopping: the streams have their retry hint, nothing may queue behind it
            self.hand_out(pages, started)

    def hand_out(self, pages, started):
        """Hand the pages a read that started at `started` found to the streams that lack them."""
        for listing, page in pages.items():
            if listing not in self.streams:
                continue  # closed during the read
            sent_etag, sent_read_at = self.sent.get(listing, (None, 0.0))
            if sent_read_at > started:
                continue  # a read that started later (a notification's) already found a newer answer
            self.pages[listing] = page
            etag = page.etag
            changed = sent_etag != etag
            # A stream that opened after this read started waits for a read that started after it did.
            ready = [queue for queue in self.streams[listing] if self.fresh.get(queue, started) <= started]
            waiting = [queue for queue in ready if changed or queue in self.fresh]
            if changed and not waiting:
                continue
            self.sent[listing] = (etag, started)
            if not waiting:
                continue
            # Rendered only for the streams that need it: most answers do not change from one tick to the next.
            answer = render(etag, page.jobs)
            for queue in waiting:
                self.fresh.pop(queue, None)
                deliver(queue, answer)


async def notification_connection():
    """Return a connection of its own (autocommit) for LISTEN, to the primary (DATABASE_URL): notifications are sent
    where the imports service writes, and a streaming replica neither relays them nor accepts LISTEN."""
    params = connections[DEFAULT_DB_ALIAS].get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return await psycopg.AsyncConnection.connect(**params, autocommit=True)


def quote_channel(channel):
    """Return a channel name quoted as an SQL identifier."""
    return '"' + channel.replace('"', '""') + '"'


NOTIFY_SQL = """-- Run by the imports team on the database of `datasets` (the jobs service never installs it).
-- A change notifies the dataset's owner before it and after it: a dataset given to another user leaves one list
-- and joins another. PostgreSQL sends the same owner once per transaction.
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.created_by IS NOT NULL THEN
        PERFORM pg_notify({channel_literal}, OLD.created_by::text);
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.created_by IS NOT NULL THEN
        PERFORM pg_notify({channel_literal}, NEW.created_by::text);
    END IF;
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS {function} ON datasets;
CREATE TRIGGER {function} AFTER INSERT OR UPDATE OR DELETE ON datasets
    FOR EACH ROW EXECUTE FUNCTION {function}();
"""


# A channel is written into the trigger's SQL: only a plain PostgreSQL identifier (at most 63 bytes) is taken.
CHANNEL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
CHANNEL_RULE = "letters, digits and _, not starting with a digit, at most 63 characters"


def channel_problem(channel):
    """Return why `channel` cannot be the trigger's channel, or None when it is a plain PostgreSQL identifier."""
    if CHANNEL_NAME.fullmatch(channel):
        return None
    return f"The channel {channel!r} is not a plain PostgreSQL identifier ({CHANNEL_RULE})."


def notify_sql(channel):
    """Return the trigger SQL that notifies `channel` with the owners (before and after) of every changed dataset."""
    if (problem := channel_problem(channel)) is not None:
        raise ValueError(problem)
    # A plain identifier needs no quoting inside the string literal.
    return NOTIFY_SQL.format(function="databiz_jobs_notify", channel_literal=f"'{channel}'")


def refresh(listings, previous=None):
    """Return the tagged pages of `listings` (keeping those of `previous` whose rows are the same), on a connection
    kept as a request's is (CONN_MAX_AGE), whose check is the read's own first statement: one statement, so one
    round trip and one transaction, for each filter shape in use."""
    connection = connections[router.db_for_read(Dataset)]
    if connection.in_atomic_block:
        # Inside a caller's transaction (the tests'): a savepoint, so that a failed read leaves it usable.
        with transaction.atomic(using=connection.alias):
            return tagged_pages(listings, previous=previous)
    connection.close_if_unusable_or_obsolete()
    return run_checked(connection, lambda: tagged_pages(listings, previous=previous))


# What a stream's queue holds instead of an answer when the stream is to end: its client fell too far behind (it
# reconnects and starts afresh), or the server is stopping or the stream opened past a limit (the client is told
# when to come back).
FELL_BEHIND, COME_BACK_LATER = "fell behind", "come back later"


def deliver(queue, answer, *, drop_behind=False):
    """Queue an answer for a stream; a stream that stopped reading is ended instead of buffered without bound."""
    if drop_behind:
        _empty(queue)
    try:
        queue.put_nowait(answer)
    except asyncio.QueueFull:
        _empty(queue)
        queue.put_nowait(FELL_BEHIND)


def _empty(queue):
    with contextlib.suppress(asyncio.QueueEmpty):
        while True:
            queue.get_nowait()


def retry_hint():
    """Return the field that tells an EventSource how long to wait before it reconnects (JOBS_STREAM_RETRY)."""
    return f"retry: {int(conf.stream_retry().total_seconds() * 1000)}\n\n".encode()


HUB = StreamHub()


def authenticate(django_request):
    """Return (user, token) as the list authenticates its caller (Bearer token, or the session), or raise."""
    request = Request(django_request, authenticators=[token_authentication(), SessionAuthentication()])
    if request.user is None or not request.user.is_authenticated:
        raise NotAuthenticated()
    return request.user, request.auth


def refusal(exc):
    """Return the JSON answer DRF gives for an API exception (401 with its challenge, 429, 503)."""
    response = api_exception_handler(exc, {})
    if isinstance(exc, (NotAuthenticated, AuthenticationFailed)):
        response.status_code = 401
        response["WWW-Authenticate"] = token_authentication().authenticate_header(None)
    response.accepted_renderer, response.accepted_media_type, response.renderer_context = (
        JSONRenderer(), "application/json", {}
    )
    return response.render()


class StreamLimit(APIException):
    """Too many open streams: of this user (429), or in this process (503, so that clients fall back to polling)."""

    def __init__(self, status_code, detail, wait):
        super().__init__(detail)
        self.status_code, self.wait = status_code, wait


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


def heartbeat_wait(ends_at):
    """Return how long a stream waits for an answer: until its next heartbeat, or until it is due to end."""
    wait = conf.stream_heartbeat().total_seconds()
    return min(wait, max(0.0, ends_at - time.time()))


def stream_end(token):
    """Return (when, last chunk) a stream ends: at its Bearer token's expiry asking for a new one, or for a browser
    session after JOBS_STREAM_SESSION_RECHECK with a reconnection hint."""
    if token is not None and "exp" in token:
        return float(token["exp"]), REAUTHENTICATE
    return time.time() + conf.stream_session_recheck().total_seconds(), retry_hint()


async def events(listing, last_event_id, ends_at, end):
    """Yield the stream of one listing: the current answer (unless the client has it), then each change, until
    `ends_at`, when `end` is its last chunk."""
    queue = HUB.subscribe(listing)
    sent = last_event_id
    try:
        yield retry_hint()
        while True:
            try:
                answer = await asyncio.wait_for(queue.get(), timeout=heartbeat_wait(ends_at))
            except TimeoutError:
                if time.time() >= ends_at:
                    yield end
                    return
                yield b": heartbeat\n\n"
                continue
            if answer is COME_BACK_LATER:
                yield retry_hint()
                return
            if answer is FELL_BEHIND:
                return
            if answer.etag != sent:
                sent = answer.etag
                STREAM_EVENTS.inc()
                yield answer.event()
    finally:
        HUB.unsubscribe(listing, queue)


class JobStreamView(View):
    """`GET /api/v2/jobs/stream`: the signed-in user's jobs as Server-Sent Events, each what the list answers."""

    @classmethod
    def as_view(cls, **initkwargs):
        """Return the view, exempt from CSRF checks as DRF's views are: it only reads, and refuses any other method."""
        return csrf_exempt(super().as_view(**initkwargs))

    def http_method_not_allowed(self, request, *args, **kwargs):
        """Refuse a method other than GET as the API does: a JSON 405 naming the allowed ones."""
        response = JsonResponse(
            {"detail": f'Method "{request.method}" not allowed.'}, status=405,
            headers={"Allow": ", ".join(self._allowed_methods())},
        )

        async def refused():
            return response

        return refused()

    async def get(self, request):
        """Open the stream, or answer 400, 401, 429 or 503 as JSON."""
        if not isinstance(request, ASGIRequest):
            # A WSGI server would hold a worker for the stream's whole life (Django reads an async stream to its end
            # before sending anything): refuse, so that the client polls instead.
            return JsonResponse(
                {"detail": "This server does not stream (it is not an ASGI server): poll /api/v2/jobs/active."},
                status=503, headers={"Retry-After": str(int(conf.stream_retry().total_seconds()))},
            )
        try:
            user, token = await in_database_thread(authenticate)(request)
            listing = listing_of(user.pk, request.GET)
            if (limit := HUB.limit_reached(user.pk)) is not None:
                raise limit
        except APIException as exc:
            return await in_database_thread(refusal)(exc)
        except DatabaseError as exc:
            return await in_database_thread(database_unavailable_response)(exc)
        except SuspiciousOperation as exc:  # a query Django refuses to read
            return JsonResponse(bad_request_body(exc), status=400)
        response = StreamingHttpResponse(
            events(listing, request.headers.get("Last-Event-ID"), *stream_end(token)),
            content_type="text/event-stream",
        )
        # Proxies must pass each event on at once (nginx: this header; others: buffering off for this path).
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"
        return response
