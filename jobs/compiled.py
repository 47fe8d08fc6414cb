"""QuerySets compiled to SQL once per process and re-run with fresh values: the polling endpoint's hot path.

Building and compiling the jobs QuerySet (the CASE expressions of the job rules, repeated in WHERE and ORDER BY)
costs several milliseconds of Python per request, ten times the database's own work. Its SQL only changes with
the filters and the JOBS_* settings, so it is compiled once with *parameters* where the signed-in user and the
moment `now` stand, and each request binds the real user id and the moments derived from the real `now`.

The parameters are expressions the QuerySet carries like any value (`created_by=USER`, `updated_at__lte=NOW -
stall_after`), so the SQL still comes from the `DatasetQuerySet` methods and the positions of the values are known
after compiling, not guessed. Compiling refuses SQL with no user parameter, with a parameter it does not know, or
with a moment or user id written in as a constant (it would be frozen for the life of the process).

`run_joined` runs two compiled QuerySets as one statement on PostgreSQL (a local-mode poll: the token's user and
the page), so a poll is one round trip and one statement that PostgreSQL, with generic plans, plans once; in either
mode the statement is also the check of a reused connection (`fetch_checked`), so no `SELECT 1` goes before it.
"""
import datetime
import functools
import logging
import re
import uuid

from django.db import OperationalError, connections, models

logger = logging.getLogger(__name__)


class CompileError(RuntimeError):
    """Raised when a QuerySet cannot be compiled into SQL that binds the user and the moment on every run."""


class Parameter(models.Expression):
    """A value that the compiled SQL takes at run time, standing in a QuerySet where the value would."""

    def __init__(self, name, output_field, offset=datetime.timedelta(0)):
        super().__init__(output_field=output_field)
        self.name, self.offset = name, offset

    def as_sql(self, compiler, connection):
        # The parameter itself is the SQL parameter: its position in the compiled params is where it is bound.
        return "%s", [self]

    def __add__(self, other):
        if isinstance(other, datetime.timedelta) and isinstance(self.output_field, models.DateTimeField):
            return Parameter(self.name, self.output_field, self.offset + other)
        return super().__add__(other)

    def __sub__(self, other):
        if isinstance(other, datetime.timedelta) and isinstance(self.output_field, models.DateTimeField):
            return Parameter(self.name, self.output_field, self.offset - other)
        return super().__sub__(other)

    def db_value(self, value, connection):
        """Return `value`, shifted by this parameter's offset, as the database takes it."""
        if isinstance(value, datetime.datetime):
            # NOW and the moments derived from it, on every poll: adapted as they are, nothing to parse.
            return connection.ops.adapt_datetimefield_value(shifted(value, self.offset))
        if self.offset:
            value = shifted(self.output_field.to_python(value), self.offset)
        return self.output_field.get_db_prep_value(value, connection)

    def __repr__(self):
        return f"Parameter({self.name!r}, offset={self.offset!r})"


def shifted(moment, delta):
    """Return `moment + delta` (a Parameter, or a moment); past either end of Python's calendar, that end, which
    orders the same against every row."""
    try:
        return moment + delta
    except OverflowError:
        end = datetime.datetime.max if delta > datetime.timedelta(0) else datetime.datetime.min
        return end.replace(tzinfo=datetime.UTC)


# The signed-in user's id, and the moment the rules are evaluated at (`NOW - delta` is a moment derived from it).
USER = Parameter("user", models.UUIDField())
NOW = Parameter("now", models.DateTimeField())


class ParameterUser:
    """Stands in for the signed-in user while a QuerySet is compiled: its `pk` is the USER parameter."""

    pk = USER


def _inline_constants(sql, params, connection):
    """Write the constant parameters into the SQL as literals, leaving only the Parameters as parameters.

    Fewer parameters keep psycopg's cache of converted statements in play (it skips statements with more than 50)
    and let PostgreSQL prepare the statement once per connection.
    """
    pieces, remaining, param_iter = [], [], iter(params)
    for token in re.split(r"(%%|%s)", sql):
        if token != "%s":
            pieces.append(token)
            continue
        param = next(param_iter)
        if isinstance(param, Parameter):
            pieces.append(token)
            remaining.append(param)
        else:
            pieces.append(connection.ops.compose_sql("%s", [param]).replace("%", "%%"))
    return "".join(pieces), remaining


def _check_params(params, twin_params, queryset):
    """Raise CompileError unless every run-time value is a Parameter: the user's, and moments derived from NOW."""
    names = {param.name for param in params if isinstance(param, Parameter)}
    # A value that differs between two builds of the same QuerySet was read from the clock (or random).
    moving = list(dict.fromkeys(param for param, twin in zip(params, twin_params) if param != twin))
    # Where the database adapter keeps types (PostgreSQL), a moment or user id can be seen for what it is.
    typed = [param for param in params if isinstance(param, (datetime.date, datetime.time, uuid.UUID))]
    problems = [
        *([f"these values change from one build to the next and would be frozen at compile time: {moving!r} "
           "(derive moments from NOW)"] if moving else []),
        *([f"it has no {USER.name!r} parameter, so every user would get the same rows"]
          if USER.name not in names else []),
        *([f"these moments or ids are constants and would be frozen at compile time: {typed!r} (derive moments "
           "from NOW, take the user from USER)"] if typed and not moving else []),
    ]
    if problems:
        raise CompileError(f"Cannot compile the {queryset.model.__name__} QuerySet: {'; '.join(problems)}.")


class CompiledQuerySet:
    """The SQL of the QuerySet `build(*key)` makes with the USER and NOW parameters, run for any user and moment."""

    def __init__(self, build, *key):
        queryset = build(*key)
        self.using = queryset.db
        compiler = queryset.query.get_compiler(using=self.using)
        self.sql, params = compiler.as_sql()
        _check_params(params, build(*key).query.get_compiler(using=self.using).as_sql()[1], queryset)
        connection = connections[self.using]
        if connection.vendor == "postgresql":
            self.sql, params = _inline_constants(self.sql, params, connection)
        self.params = params
        self.compiler = compiler
        select = compiler.select
        select_fields = compiler.klass_info["select_fields"]
        self.model = compiler.klass_info["model"]
        self.model_fields = slice(select_fields[0], select_fields[-1] + 1)
        self.init_list = [column[0].target.attname for column in select[self.model_fields]]
        self.annotations = list(compiler.annotation_col_map.items())
        self.converters = compiler.get_converters([column[0] for column in select[: compiler.col_count]])
        # The columns the SQL returns (None when Django added ordering columns of its own at the end).
        self.width = None if compiler.has_extra_select else len(select)
        self.pk_position = self.model_fields.start + self.init_list.index(self.model._meta.pk.attname)

    def bind(self, user_id, now, connection, values=None):
        """Return the SQL's parameters for a real user and moment, and the `values` of any other Parameter."""
        values = {**(values or {}), USER.name: user_id, NOW.name: now}
        bound = []
        for param in self.params:
            if not isinstance(param, Parameter):
                bound.append(param)
            elif values.get(param.name) is None:
                raise CompileError(f"The compiled SQL's {param.name!r} parameter was given no value.")
            else:
                bound.append(param.db_value(values[param.name], connection))
        return bound

    def run(self, user_id, now=None, values=None, *, planned_for_values=False):
        """Run the SQL for `user_id` at `now` (and the `values` of its other Parameters) and return model instances
        carrying the annotations. `planned_for_values`: see `fetch_checked`."""
        connection = connections[self.using]
        params = self.bind(user_id, now, connection, values)
        return self.instances(fetch_checked(connection, self.sql, params, planned_for_values=planned_for_values))

    def rows(self, user_id, now=None, values=None):
        """Run the SQL as `run` does and return its rows as plain values, converted as the QuerySet converts them,
        for a caller that compares rows before it makes instances of them (`instances(rows, converted=True)`) and
        that checks the connection itself (`run_checked`)."""
        connection = connections[self.using]
        return self.converted(_fetch(connection, self.sql, self.bind(user_id, now, connection, values)))

    def converted(self, rows):
        """Return rows this SQL returned with the QuerySet's converters applied (the database's values as fields)."""
        if not self.converters:
            return rows
        return [tuple(row) for row in self.compiler.apply_converters(rows, self.converters)]

    def instances(self, rows, *, converted=False):
        """Return the model instances, with their annotations, of rows this SQL returned (`converted` already)."""
        rows = rows if converted else self.converted(rows)
        return model_instances(self.model, self.using, rows, self.init_list, self.model_fields, self.annotations)

    @property
    def owner_position(self):
        """Return the position of the rows' `created_by` (a query of several users' jobs tells them apart by it)."""
        return self.model_fields.start + self.init_list.index("created_by")


def model_instances(model, using, rows, attnames, columns, annotations):
    """Return the instances of `model` that iterating a QuerySet makes of `rows`: each made of the row's `columns` (a
    slice, the fields `attnames`), with each annotation (name, position in the row) set on it."""
    instances = []
    for row in rows:
        instance = model.from_db(using, attnames, row[columns])
        for name, position in annotations:
            setattr(instance, name, row[position])
        instances.append(instance)
    return instances


def run_joined(driver, joined, user_id, now=None, values=None, *, planned_for_values=False):
    """Run two compiled queries for one user and moment, and return the instances of each: on PostgreSQL as one
    statement, so in one round trip and one snapshot.

    `driver` reads at most one row (e.g. the user's, by primary key); `joined` is joined to it LATERAL, each of its
    rows beside the driver's row, in its own order. No driver row: no rows at all; a driver row with no joined rows:
    one row whose joined columns are NULL.
    """
    connection = connections[driver.using]
    if connection.vendor != "postgresql" or joined.using != driver.using:
        return driver.run(user_id, now), joined.run(user_id, now, values, planned_for_values=planned_for_values)
    params = driver.bind(user_id, now, connection) + joined.bind(user_id, now, connection, values)
    rows = fetch_checked(connection, joined_sql(driver, joined), params, planned_for_values=planned_for_values)
    width = driver.width
    joined_rows = [row[width:] for row in rows if row[width + joined.pk_position] is not None]
    return driver.instances([row[:width] for row in rows[:1]]), joined.instances(joined_rows)


# As many as the two compile caches hold between them: a history page's (a client's shape) must not push out a poll's.
@functools.lru_cache(maxsize=768)
def joined_sql(driver, joined):
    """Return the one statement of `driver` with `joined` joined to its row LATERAL."""
    if driver.width is None or joined.width is None:
        raise CompileError("Cannot join compiled queries whose SQL returns columns Django added for its ordering.")
    return f"SELECT * FROM ({driver.sql}) AS driver LEFT JOIN LATERAL ({joined.sql}) AS joined ON TRUE"


def fetch_checked(connection, sql, params, *, planned_for_values=False):
    """Run one statement and return its rows, the statement itself being the check of a reused connection.

    `planned_for_values`: on PostgreSQL, the values are bound into the statement's text by psycopg (client-side
    binding, Django's own default), so that the server plans it for them. The service's connections plan a statement
    once for any values (DATABASE_PLAN_CACHE_MODE), right for the poll, whose one plan reads one user's recent rows;
    a history page planned for an average user reads a long history whole to sort it (226 ms for 100,000 jobs),
    where the plan for the caller's values walks the index (created_by, updated_at DESC) and stops after the page
    (0.8 ms; docs/performance.md, "Job history"). One statement, where `SET LOCAL plan_cache_mode` took a
    transaction and three more.
    """
    if planned_for_values and connection.vendor == "postgresql":
        # Composed inside the read: composing opens a cursor, which before `run_checked` would cost Django's
        # `SELECT 1` health check of a reused connection.
        return run_checked(connection, lambda: _fetch(connection, connection.ops.compose_sql(sql, params), None))
    return run_checked(connection, lambda: _fetch(connection, sql, params))


def run_checked(connection, read):
    """Return `read()` (it only reads), its first statement being the check of a reused connection.

    Django checks a reused connection with a `SELECT 1` round trip before a request's first query
    (CONN_HEALTH_CHECKS): on a poll or a stream's tick, a round trip of its own. Here the read's own first statement
    is that check: a connection that died since it was last used fails it, and the read runs again, once, on a new
    connection. Inside a caller's transaction, where a new connection cannot take over, Django's own check stands.
    """
    if connection.in_atomic_block:
        return read()
    checked_by_django = connection.connection is None or not connection.health_check_enabled
    connection.health_check_done = True
    try:
        return read()
    except OperationalError as exc:
        if checked_by_django or connection.is_usable():
            raise
        logger.info("A reused database connection failed (%s); the read runs again on a new one.", exc)
        connection.close()
        return read()


def _fetch(connection, sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# `compiled(build, *key)`: `build(*key)` compiled once per process for each key; the key must hold every setting the
# build reads.
compiled = functools.lru_cache(maxsize=512)(CompiledQuerySet)
# The same in a cache of its own, for keys a client chooses (page sizes, cursor offsets): they must not push the
# polls' SQL out of theirs.
compiled_for_clients = functools.lru_cache(maxsize=256)(CompiledQuerySet)
