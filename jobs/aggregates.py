"""SQL the learned import speed needs on both databases: a median aggregate and durations in seconds."""
import statistics

from django.db import models

# SQLite has no median: this aggregate is registered on every SQLite connection, as Django registers
# STDDEV_POP and VAR_POP there, so the median is still computed by the database inside the one query.
SQLITE_MEDIAN = "JOBS_MEDIAN"


class SQLiteMedian:
    """The median of the non-NULL values, as PostgreSQL's PERCENTILE_CONT(0.5) computes it."""

    def __init__(self):
        self.values = []

    def step(self, value):
        if value is not None:
            self.values.append(value)

    def finalize(self):
        return float(statistics.median(self.values)) if self.values else None


def register_sqlite_functions(sender, connection, **kwargs):
    """Register the median aggregate on a new SQLite connection (a `connection_created` receiver)."""
    if connection.vendor == "sqlite":
        connection.connection.create_aggregate(SQLITE_MEDIAN, 1, SQLiteMedian)


class Median(models.Aggregate):
    """The median of an expression: PERCENTILE_CONT on PostgreSQL, a registered aggregate on SQLite."""

    function = SQLITE_MEDIAN
    name = "Median"
    output_field = models.FloatField()

    def as_postgresql(self, compiler, connection, **extra_context):
        # A copy with its own template: Aggregate.as_sql passes `template` on itself when there is a filter.
        median = self.copy()
        median.template = "PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
        return median.as_sql(compiler, connection, **extra_context)


class Seconds(models.Func):
    """A duration expression as a number of seconds."""

    output_field = models.FloatField()

    def as_postgresql(self, compiler, connection, **extra_context):
        template = "CAST(EXTRACT(EPOCH FROM %(expressions)s) AS double precision)"
        return self.as_sql(compiler, connection, template=template, **extra_context)

    def as_sqlite(self, compiler, connection, **extra_context):
        # Django's SQLite backend subtracts datetimes into microseconds.
        return self.as_sql(compiler, connection, template="(%(expressions)s / 1000000.0)", **extra_context)
