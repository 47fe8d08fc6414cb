"""Who is open, and the tick: the open streams of this process by listing, their limits, the schedule that reads
them (every JOBS_STREAM_TICK, and at once for the users a notification or a new stream names) and the threads the
reads run on. Everything here runs on the event loop, but the reads, which run on the streams' database threads."""
import asyncio
import datetime
import logging
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from django.db import DatabaseError
from django.utils import timezone
from rest_framework.exceptions import APIException

from databiz.metrics import STREAM_TICK_SECONDS, STREAMS_OPEN

from ..conf import jobs_settings
from ..routers import replica_caught_up
from .notify import listen
from .pages import refresh

logger = logging.getLogger(__name__)


# How far before the last read's start a tick between full reads looks for changed datasets (without notifications):
# a row the imports service commits up to this long after the `updated_at` it wrote (a slow transaction, a clock
# behind the database's) is still found; a later one, a deletion, waits for the next full read (JOBS_STREAM_FULL_READ).
LATE_CHANGE = datetime.timedelta(seconds=10)


# How long a read of users named by the primary waits for a replica to replay their change (then it reads anyway;
# the tick is the safety net).
REPLICA_CATCH_UP = 1.0


# The streams' database calls run on three threads of their own, so on three connections a process: under ASGI,
# Django gives each request a thread (and a connection) of its own, which thousands of open streams would exhaust.
# The tick reads everyone on one; the users that notifications and new streams name are read on another, so that
# they do not wait for a whole tick to end; a new stream's own calls (its authentication, which may fetch the
# issuer's keys, and its refusals) on the third, so that it waits for neither.
DATABASE_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jobs-stream-db")


NAMED_USERS_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jobs-stream-named")


REQUESTS_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jobs-stream-requests")


STREAM_THREADS = (DATABASE_THREAD, NAMED_USERS_THREAD, REQUESTS_THREAD)


def in_database_thread(function, executor):
    """Return `function` as a coroutine function that runs on `executor`, one of the streams' database threads."""
    return sync_to_async(function, thread_sensitive=False, executor=executor)


class StreamLimit(APIException):
    """Too many open streams: of this user (429), or in this process (503, so that clients fall back to polling)."""

    def __init__(self, status_code, detail, wait):
        super().__init__(detail)
        self.status_code, self.wait = status_code, wait


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
        # When the last full read started (the event loop's clock), and the last scheduled read (the wall clock).
        self.full_read_at = None
        self.read_since = None

    def open_count(self, user_id=None):
        """Return how many streams are open: in this process, or of one user."""
        if user_id is None:
            return self.per_user.total()
        return self.per_user[user_id]

    def subscribe(self, listing):
        """Open a stream of a listing's answers; return its Mailbox."""
        # Checked again as the stream opens, with no pause since: streams asked for at once all passed the view's check.
        past_a_limit = self.limit_reached(listing.user_id) is not None
        loop = asyncio.get_running_loop()
        if self.task is None or self.task.done() or self.task.get_loop() is not loop:
            # asyncio's events belong to the loop that first waits on them: a new loop gets new ones.
            self.woken, self.listening = asyncio.Event(), asyncio.Event()
            self.task = loop.create_task(self.run())
        mailbox = Mailbox()
        self.streams[listing].add(mailbox)
        self.per_user[listing.user_id] += 1
        self.fresh[mailbox] = time.perf_counter()
        self.named.add(listing.user_id)
        self.woken.set()
        STREAMS_OPEN.inc()
        if past_a_limit:
            mailbox.put(COME_BACK_LATER)
        return mailbox

    def limit_reached(self, user_id):
        """Return the StreamLimit a new stream of `user_id` meets now, or None: the server is stopping, or the user
        or this process already holds as many streams as allowed."""
        wait = int(jobs_settings.JOBS_STREAM_RETRY.total_seconds())
        if self.stopping:
            return StreamLimit(503, "This server is stopping: poll, or try again shortly.", wait)
        if self.open_count(user_id) >= jobs_settings.JOBS_STREAM_MAX_PER_USER:
            return StreamLimit(429, "Too many open streams for this user: close one, or poll.", wait)
        if self.open_count() >= jobs_settings.JOBS_STREAM_MAX_PER_PROCESS:
            return StreamLimit(503, "This server holds as many streams as it can: poll, or try again shortly.", wait)
        return None

    def unsubscribe(self, listing, mailbox):
        """Close one stream."""
        mailboxes = self.streams.get(listing)
        self.fresh.pop(mailbox, None)
        if mailboxes is not None and mailbox in mailboxes:
            STREAMS_OPEN.dec()
            mailboxes.discard(mailbox)
            self.per_user[listing.user_id] -= 1
            if not self.per_user[listing.user_id]:
                del self.per_user[listing.user_id]
            if not mailboxes:
                del self.streams[listing]
                self.sent.pop(listing, None)
                self.pages.pop(listing, None)

    def stop(self):
        """End every open stream with a reconnection hint, and refuse new ones: the server is stopping.

        Servers wait for open responses to end before they stop; a stream would never end on its own.
        """
        self.stopping = True
        for mailboxes in self.streams.values():
            for mailbox in mailboxes:
                mailbox.put(COME_BACK_LATER)

    async def run(self):
        """Refresh while any stream is open: every tick (`tick_period`) what can have changed (`reads`), and at once
        the users that notifications (JOBS_STREAM_NOTIFY_CHANNEL) and new streams name, each on a database thread of
        its own."""
        loop = asyncio.get_running_loop()
        helpers = [loop.create_task(self.refresh_named())]
        if jobs_settings.JOBS_STREAM_NOTIFY_CHANNEL:
            helpers.append(loop.create_task(self.listen()))
        try:
            while self.streams:
                await self.tick_and_go_on()
                await asyncio.sleep(self.tick_period())
        finally:
            for helper in helpers:
                helper.cancel()

    def tick_period(self):
        """Return the seconds to the next scheduled tick: JOBS_STREAM_TICK, or JOBS_STREAM_NOTIFIED_TICK while
        notifications are listened to (they bring the changes; the tick then only carries what time moves)."""
        if self.listening.is_set():
            return jobs_settings.JOBS_STREAM_NOTIFIED_TICK.total_seconds()
        return jobs_settings.JOBS_STREAM_TICK.total_seconds()

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

        def named(user_id):
            self.named.add(user_id)
            self.woken.set()

        def listening(now_listening):
            if now_listening:
                self.full_read_at = None  # what changed while nobody listened: the next tick reads everyone
                self.listening.set()
            else:
                self.listening.clear()

        retry = jobs_settings.JOBS_STREAM_RETRY.total_seconds()
        await listen(jobs_settings.JOBS_STREAM_NOTIFY_CHANNEL, named, listening, retry)

    def reads(self):
        """Return (full, changed_since), what the next scheduled tick reads: everyone every JOBS_STREAM_FULL_READ
        (and first); between those full reads only the listings whose answers can have changed (pages.to_read):
        those time alone moves and, unless notifications name the changed users as they change, the users with a
        dataset changed since the last tick started (less LATE_CHANGE)."""
        if self.full_read_at is None or self.read_since is None:
            return True, None
        if time.perf_counter() - self.full_read_at >= jobs_settings.JOBS_STREAM_FULL_READ.total_seconds():
            return True, None
        return False, None if self.listening.is_set() else self.read_since - LATE_CHANGE

    async def tick(self, listings=None, executor=DATABASE_THREAD, after_the_primary=False):
        """Read the answers of `listings` (every open stream's by default) and hand them to the streams that lack
        them: the changed ones to every stream of their listing, the current ones to new streams.

        `after_the_primary`: the users were named by the primary (a notification, a new stream), so the read waits
        until a replica has replayed what the primary had written by then; before the read's start is taken, so
        that a tick reading meanwhile cannot count as newer than it.
        """
        scheduled = listings is None
        listings = list(self.streams) if scheduled else listings
        if not listings or self.stopping:
            return
        if after_the_primary:
            await in_database_thread(replica_caught_up, executor=executor)(REPLICA_CATCH_UP)
        full, changed_since = self.reads() if scheduled else (True, None)
        started, moment = time.perf_counter(), timezone.now()
        try:
            pages = await in_database_thread(refresh, executor=executor)(
                listings, self.pages, full=full, changed_since=changed_since
            )
            if scheduled:
                self.read_since = moment
                self.full_read_at = started if full else self.full_read_at
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
            ready = [mailbox for mailbox in self.streams[listing] if self.fresh.get(mailbox, started) <= started]
            waiting = [mailbox for mailbox in ready if changed or mailbox in self.fresh]
            if changed and not waiting:
                continue
            self.sent[listing] = (etag, started)
            for mailbox in waiting:
                self.fresh.pop(mailbox, None)
                mailbox.put(page.answer)


# What a stream's mailbox holds instead of an answer when the stream is to end: the server is stopping, or the
# stream opened past a limit (the client is told when to come back).
COME_BACK_LATER = "come back later"


class Mailbox:
    """What the hub has for one stream to send next: the latest answer it has not sent yet, or its end.

    Each answer is the whole list, so a newer one replaces one not sent yet: a stream that sends slowly (a slow
    client) skips to the current answer instead of queueing old ones, and holds one answer at most. The end
    (COME_BACK_LATER) replaces an answer and is never replaced. Two slots, where an asyncio.Queue cost 3.3 KB a stream
    (docs/performance.md).
    """

    __slots__ = ("item", "waiter")

    def __init__(self):
        self.item = None
        self.waiter = None

    def put(self, item):
        """Leave `item` for the stream, in place of an answer it has not sent yet."""
        if self.item is COME_BACK_LATER:
            return
        self.item = item
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def take(self):
        """Return what is waiting (None: nothing), emptying the mailbox."""
        item, self.item = self.item, None
        return item

    async def get(self):
        """Wait for an item, and take it."""
        while self.item is None:
            self.waiter = asyncio.get_running_loop().create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None
        return self.take()


HUB = StreamHub()
