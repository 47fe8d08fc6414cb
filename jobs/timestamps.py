"""PostgreSQL timestamps read in C on Django's connections: a page of jobs is mostly timestamps (three a row).

Django reads `timestamptz` with a Python subclass of psycopg's loader (to set its own tzinfo), and a Python subclass
gets psycopg's Python parser, not its C one: about 6 µs a timestamp, 0.9 ms of a 50-job page (docs/performance.md).
PostgreSQL writes timestamps in ISO 8601 (psycopg requires DateStyle ISO), which `datetime.fromisoformat` reads in C.
"""
import datetime

from django.db.backends.postgresql.psycopg_any import BaseTzLoader


class IsoTimestampLoader(BaseTzLoader):
    """Django's `timestamptz` loader, parsing with `datetime.fromisoformat`: the same instant in Django's time zone.
    What fromisoformat cannot read (a BC date, a year past 9999, infinity) goes to Django's loader, as before."""

    def load(self, data):
        try:
            value = datetime.datetime.fromisoformat(bytes(data).decode())
        except ValueError:
            return super().load(data)
        return value.astimezone(self.timezone)


def register_timestamp_loader(sender, connection, **kwargs):
    """Read a new PostgreSQL connection's timestamps with IsoTimestampLoader, in the time zone Django gave it (a
    `connection_created` receiver; with USE_TZ off Django's own loader stays)."""
    if connection.vendor != "postgresql" or connection.timezone is None:
        return

    class Loader(IsoTimestampLoader):
        # Django's cursors compare this with the connection's to decide whether to register a loader of their own.
        timezone = connection.timezone

    connection.connection.adapters.register_loader("timestamptz", Loader)
