"""Shared values of the tests: a fixed moment, and a DataBiz user and secret of the external issuer."""
import datetime
import io
import uuid

from django.core.management import call_command
from django.db import connection

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
