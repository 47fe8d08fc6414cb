import datetime

import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import register_tzloader
from psycopg import DataError

from jobs.timestamps import IsoTimestampLoader

pytestmark = [pytest.mark.django_db, pytest.mark.postgresql]

UTC = datetime.timezone.utc

# What PostgreSQL writes for a timestamptz, and what Django's own loader reads from it.
WRITTEN = [
    ("2026-12-04 21:23:08.607517+00", datetime.datetime(2026, 12, 4, 21, 23, 8, 607517, tzinfo=UTC)),
    ("2026-12-04 21:23:08+00", datetime.datetime(2026, 12, 4, 21, 23, 8, tzinfo=UTC)),
    ("2026-12-04 21:23:08.5+00", datetime.datetime(2026, 12, 4, 21, 23, 8, 500000, tzinfo=UTC)),
    ("0001-01-01 00:00:00+00", datetime.datetime(1, 1, 1, tzinfo=UTC)),
    ("9999-12-31 23:59:59.999999+00", datetime.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
]


def read(sql, *params, djangos=False):
    """Read one value on the test's connection: with its own loader, or with Django's on this cursor alone."""
    connection.ensure_connection()
    with connection.connection.cursor() as cursor:
        if djangos:
            register_tzloader(connection.timezone, cursor)
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def test_a_connection_reads_timestamps_with_the_iso_loader_in_djangos_time_zone():
    connection.ensure_connection()
    loader = connection.connection.adapters.get_loader(1184, 0)  # timestamptz, text

    assert (issubclass(loader, IsoTimestampLoader), loader.timezone) == (True, UTC)


@pytest.mark.parametrize(("written", "expected"), WRITTEN)
def test_a_timestamp_reads_as_djangos_own_loader_reads_it(written, expected):
    ours = read("SELECT %s::timestamptz", written)
    theirs = read("SELECT %s::timestamptz", written, djangos=True)

    assert (ours, ours.tzinfo, theirs, theirs.tzinfo) == (expected, UTC, expected, UTC)


def test_a_session_in_another_time_zone_still_reads_the_same_instant_in_utc():
    with connection.cursor() as cursor:
        cursor.execute("SET TIME ZONE 'Asia/Kolkata'")
        try:
            cursor.execute("SELECT '2026-12-04 21:23:08+00'::timestamptz, '2026-12-04 21:23:08+00'::timestamptz::text")
            value, written = cursor.fetchone()
        finally:
            cursor.execute("SET TIME ZONE 'UTC'")

    assert (written, value, value.tzinfo) == (
        "2026-12-05 02:53:08+05:30", datetime.datetime(2026, 12, 4, 21, 23, 8, tzinfo=UTC), UTC
    )


@pytest.mark.parametrize("written", ["0044-03-15 12:00:00+00 BC", "infinity"])
def test_what_fromisoformat_cannot_read_goes_to_djangos_loader(written):
    with pytest.raises(DataError) as theirs:
        read("SELECT %s::timestamptz", written, djangos=True)

    with pytest.raises(DataError) as ours:
        read("SELECT %s::timestamptz", written)

    assert str(ours.value) == str(theirs.value)
