"""Server-Sent Events of each user's jobs: the answers of every open stream, found with one query per tick.

Each process keeps the listings with an open stream (`hub.StreamHub`): a user's list, with the list's `status` and
`type` filters or without. Every JOBS_STREAM_TICK it reads the pages that can have changed, in one query per filter
shape in use and USERS_PER_QUERY users (`pages.tagged_pages`: `Dataset.objects.jobs_for_owners`, the same rules as
the list), and hands a stream's Mailbox an answer only when its ETag changed. An event carries exactly what
`GET /api/v2/jobs/active` with the same query answers at that moment: the same JSON array as its data, the same
ETag as its id.

One module per concern, read in this order: `pages` (what a tick reads and compares), `hub` (who is open, the
schedule, the threads), `notify` (the trigger's SQL and the LISTEN connection), `views` (the HTTP view, its refusals
and the framing). The names below keep `from jobs.stream import ...` working.
"""
from .hub import (
    COME_BACK_LATER,
    DATABASE_THREAD,
    NAMED_USERS_THREAD,
    REQUESTS_THREAD,
    STREAM_THREADS,
    Mailbox,
    StreamHub,
    StreamLimit,
    in_database_thread,
)
from .notify import channel_problem, notify_sql
from .pages import Answer, Listing, TaggedPage, refresh, render, tagged_pages
from .views import JobStreamView, listing_of

__all__ = [
    "COME_BACK_LATER", "DATABASE_THREAD", "NAMED_USERS_THREAD", "REQUESTS_THREAD", "STREAM_THREADS",
    "Answer", "JobStreamView", "Listing", "Mailbox", "StreamHub", "StreamLimit", "TaggedPage", "channel_problem",
    "in_database_thread", "listing_of", "notify_sql", "refresh", "render", "tagged_pages",
]
