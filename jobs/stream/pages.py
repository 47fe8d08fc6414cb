"""The stream's reads: what a stream follows (a Listing), one query per filter shape for the listings a tick reads,
the page comparison that keeps what did not change, and which listings a tick between full reads reads at all.
Runs on the streams' database threads (jobs/stream/hub.py)."""
import datetime
import hashlib
import pickle
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import NamedTuple

from django.db import connections, router, transaction
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from .. import conf
from ..compiled import compiled, run_checked
from ..import_speed import learned_so_far, share_import_speed
from ..models import FINISHED_JOB_STATUSES, Dataset, jobs_for_owners_queryset, retention_start
from ..polling import list_totals, tagged_answer
from ..serializers import JobSerializer

# Users whose pages one query reads; more open streams take more queries per tick. A read holds the rows of this many
# users at once, and Python's allocator keeps that peak: 1,024 cost 6.5 KB more a stream (docs/performance.md).
USERS_PER_QUERY = 256


class Answer:
    """What `/api/v2/jobs/active` answers one user, its ETag, and that answer as the one Server-Sent Event its streams
    send. The event is made once and shared: a stream holds the last chunk it sent until its next one, and a copy of
    its own was a second copy of the body (~1 KB a stream)."""

    __slots__ = ("etag", "event")

    def __init__(self, body, etag):
        self.etag = etag
        self.event = b"event: jobs\nid: " + etag.encode() + b"\ndata: " + body + b"\n\n"

    @property
    def body(self):
        """The JSON body: the event's data."""
        return self.event.partition(b"\ndata: ")[2][:-2]


class Listing(NamedTuple):
    """What a stream follows: one user's list, narrowed by the list's filters (`?status=`, `?type=`) or not."""

    user_id: uuid.UUID
    job_statuses: tuple = ()
    job_types: tuple = ()


@dataclass(frozen=True, slots=True)
class TaggedPage:
    """One listing's page as a read found it, kept while a stream follows the listing: its answer (what a new stream
    gets), what the next read compares (its rows, its other inputs) and what tells whether time alone may change it
    (`time_moved`). It keeps no jobs: those are made again only when the rows change."""

    answer: Answer
    # A digest of the page's rows (`digest_of`): other rows, another digest, as surely as the answer's own ETag (a
    # digest of the same size) tells answers apart; equal rows almost always the same one (a Decimal written with
    # another exponent pickles otherwise: the page is made again, to the same ETag). 16 bytes, where rows were 3 KB.
    rows_digest: bytes = b""
    # The rest of what its answer is made of: the import speed this process had learned, and the poll intervals.
    inputs: tuple = ()
    # A running import (its progress moves), or a list cut by the bound (a job below the cut may move up).
    moves_with_time: bool = False
    # The earliest finish of its finished jobs: once before the retention window (JOBS_RETENTION), that job leaves.
    first_finish: datetime.datetime | None = None

    @property
    def etag(self):
        return self.answer.etag


def page_inputs(using):
    """Return what a page's answer is made of besides its rows: the learned import speed and the poll intervals."""
    return learned_so_far(using), conf.poll_interval(running=True), conf.poll_interval(running=False)


def tagged_pages(listings, *, now=None, previous=None):
    """Return {listing: TaggedPage} for every listing of `listings`: one query for the users of each filter shape
    (USERS_PER_QUERY users a query).

    `previous` holds the pages of an earlier read: a listing whose rows and inputs are the same again keeps its
    page, and no job is made of its rows (most pages do not change from one tick to the next).
    """
    now = now or timezone.now()
    previous = previous or {}
    using = router.db_for_read(Dataset)
    inputs = page_inputs(using)
    shapes = defaultdict(list)
    for listing in listings:
        shapes[listing.job_statuses, listing.job_types].append(listing.user_id)
    pages = {}
    for (job_statuses, job_types), user_ids in shapes.items():
        for start in range(0, len(user_ids), USERS_PER_QUERY):
            owners, by_owner = user_ids[start:start + USERS_PER_QUERY], defaultdict(list)
            sql = owner_rows(owners, job_statuses, job_types, now, using, by_owner)
            for user_id in owners:
                listing, rows_digest = Listing(user_id, job_statuses, job_types), digest_of(by_owner[user_id])
                before = previous.get(listing)
                if before is not None and before.rows_digest == rows_digest and before.inputs == inputs:
                    pages[listing] = before
                    continue
                jobs = list(share_import_speed(sql.instances(by_owner[user_id], converted=True), using))
                pages[listing] = tagged_page(jobs, rows_digest, inputs, before)
    return pages


def digest_of(rows):
    """Return a digest of a page's rows (plain values: strings, numbers, UUIDs, moments, None), exact as its ETag is."""
    return hashlib.blake2b(pickle.dumps(rows, protocol=pickle.HIGHEST_PROTOCOL), digest_size=16).digest()


def tagged_page(jobs, rows_digest, inputs, before=None):
    """Return the TaggedPage of `jobs`, made of the rows `rows_digest` digests and of `inputs`: rendered here, on the
    read's thread, unless its ETag is `before`'s (the same ETag, the same bytes), so that handing it out costs the
    event loop nothing."""
    etag = tagged_answer(JobSerializer, jobs)[0]
    answer = before.answer if before is not None and before.etag == etag else render(etag, jobs)
    running, truncated = list_totals(jobs)
    return TaggedPage(
        answer, rows_digest, inputs, moves_with_time=bool(running or truncated),
        first_finish=min((job.finished_at for job in jobs if job.job_status in FINISHED_JOB_STATUSES), default=None),
    )


def owner_rows(owners, job_statuses, job_types, now, using, by_owner):
    """Add the rows of the jobs of `owners` (at most USERS_PER_QUERY users) to `by_owner` ({owner: [row, ...]}, in
    job order) as plain values; return the compiled SQL that read them, which makes jobs of them.

    The SQL is `Dataset.objects.jobs_for_owners`, compiled once for each power of two of users (the list padded
    with its last user, whom an `IN` holds twice to no effect): building the rules' QuerySet on every tick was a
    quarter of the streams' CPU.
    """
    count = min(USERS_PER_QUERY, 1 << (len(owners) - 1).bit_length())
    padded = [*owners, *owners[-1:] * (count - len(owners))]
    sql = compiled(jobs_for_owners_queryset, using, count, job_statuses, job_types, conf.rules_key())
    values = {f"owner_{number}": owner for number, owner in enumerate(padded[1:], 1)}
    owner = sql.owner_position
    for row in sql.rows(padded[0], now, values):
        by_owner[row[owner]].append(row)
    return sql


def render(etag, jobs):
    """Return the Answer of a page of jobs whose ETag is `etag`: the list's JSON bytes."""
    return Answer(JSONRenderer().render(JobSerializer(jobs, many=True).data), etag)


def time_moved(listing, page, now):
    """Return whether time alone may have changed `page`'s answer by `now`, its rows unchanged: it holds a running
    import (its progress moves; it may stall), the bound cut it (a job below the cut may move up), a finished job of
    it has left the retention window (JOBS_RETENTION), or it is narrowed by status (a running import that stalls
    joins the failed ones)."""
    if listing.job_statuses or page.moves_with_time:
        return True
    return page.first_finish is not None and page.first_finish < retention_start(now)


def to_read(listings, previous, *, now, using, changed_since=None):
    """Return the listings of `listings` whose answers can have changed since `previous` was read, at `now`: those
    with no page yet, those time alone moves (`time_moved`), every one when the pages' other inputs changed, and,
    given `changed_since`, those whose user has a dataset changed since then (one query for all of them)."""
    inputs = page_inputs(using)
    changed = set()
    if changed_since is not None:
        owners = Dataset.objects.using(using).filter(created_by__in={listing.user_id for listing in listings})
        changed = set(owners.updated_since(changed_since).order_by().values_list("created_by", flat=True).distinct())
    return [
        listing for listing in listings
        if (page := previous.get(listing)) is None or page.inputs != inputs or time_moved(listing, page, now)
        or listing.user_id in changed
    ]


def refresh(listings, previous=None, *, full=True, changed_since=None):
    """Return the tagged pages of `listings`, keeping those of `previous` whose rows are the same, on a connection
    kept as a request's is (CONN_MAX_AGE), whose check is the read's own first statement: one statement, so one
    round trip and one transaction, for each filter shape in use and USERS_PER_QUERY users.

    Not `full`: only the listings `to_read` names are read (none: no statement), and only their pages returned;
    `changed_since` adds the query of the users whose datasets changed since that moment.
    """
    previous = previous or {}
    connection = connections[router.db_for_read(Dataset)]

    def read():
        now = timezone.now()
        chosen = listings
        if not full:
            chosen = to_read(listings, previous, now=now, using=connection.alias, changed_since=changed_since)
        return tagged_pages(chosen, now=now, previous=previous) if chosen else {}

    if connection.in_atomic_block:
        # Inside a caller's transaction (the tests'): a savepoint, so that a failed read leaves it usable.
        with transaction.atomic(using=connection.alias):
            return read()
    connection.close_if_unusable_or_obsolete()
    return run_checked(connection, read)
