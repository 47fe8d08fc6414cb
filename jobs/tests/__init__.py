"""Shared values of the tests: a fixed moment, a DataBiz user and secret of the external issuer, and the stream's
Server-Sent Events as a client reads them."""
import datetime
import io
import uuid

from django.core.management import call_command
from django.db import connection

from jobs.stream import tagged_pages

NOW = datetime.datetime(2025, 12, 19, 10, 0, tzinfo=datetime.UTC)
# A DataBiz user: no row in this service's user table, only in the issuer's tokens and in `datasets.created_by`.
DATABIZ_USER = uuid.UUID("3f6c9a52-1b7e-4d0a-9c1e-5b2f8e4a7d10")
SHARED_SECRET = "databiz-backend-shared-secret-0123456789abcdef"


def ago(**delta):
    """Return the moment `delta` before the fixed NOW."""
    return NOW - datetime.timedelta(**delta)


def run_command(*args):
    """Run a management command and return what it printed."""
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def poll_queries():
    """Return the queries of a local-mode poll: the token's user and the page, one statement on PostgreSQL."""
    return 1 if connection.vendor == "postgresql" else 2


# A stream's reconnection hint (JOBS_STREAM_RETRY's default): its first chunk, and its last when the server stops.
RETRY = b"retry: 5000\n\n"
HEARTBEAT = b": heartbeat\n\n"


def stream_answers(listings, *, now=None):
    """Return {listing: Answer} for `listings` as one read of the streams makes them (what the list answers each)."""
    return {listing: page.answer for listing, page in tagged_pages(listings, now=now).items()}


def jobs_event(etag, body):
    """Return the `jobs` event of an answer as the stream frames it: the list's ETag as its id, its body as data."""
    return b"event: jobs\nid: " + etag.encode() + b"\ndata: " + body + b"\n\n"
