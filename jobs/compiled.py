"""QuerySets compiled to SQL once per process and re-run with fresh values: the polling endpoint's hot path.

Building and compiling the jobs QuerySet (the CASE expressions of the job rules, repeated in WHERE and ORDER BY)
costs several milliseconds of Python per request, ten times the database's own work. Its SQL only changes with
the filters and the JOBS_* settings, so it is compiled once for a placeholder user and moment, and each request
swaps in the real user id and the moments derived from the real `now`. The SQL still comes from the QuerySet
methods on `DatasetQuerySet`: the rules are not written a second time.
"""
import datetime
import functools
import re
import uuid

from django.db import connections, models

PLACEHOLDER_USER_ID = uuid.UUID("00000000-0000-4000-8000-0000000d1ab5")
_UUID = models.UUIDField()
# Far from any real moment, so a parameter this old can only be derived from it.
PLACEHOLDER_NOW = datetime.datetime(1900, 1, 1, tzinfo=datetime.UTC)
_PLACEHOLDER_ERA = (
    datetime.datetime(1800, 1, 1, tzinfo=datetime.UTC),
    datetime.datetime(1950, 1, 1, tzinfo=datetime.UTC),
)


class PlaceholderUser:
    """Stands in for the signed-in user while a QuerySet is compiled."""

    pk = PLACEHOLDER_USER_ID


def _as_moment(param):
    """Return `param` as an aware datetime when it is one the database adapter made, else None."""
    if isinstance(param, datetime.datetime):
        moment = param
    elif isinstance(param, str) and len(param) >= 19 and param[4] == "-" and param[10] == " ":
        try:
            moment = datetime.datetime.fromisoformat(param)
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def _inline_constants(sql, slots, connection):
    """Write the constant parameters into the SQL as literals, leaving only the user and the moments as parameters.

    Fewer parameters keep psycopg's cache of converted statements in play (it skips statements with more than 50)
    and let PostgreSQL prepare the statement once per connection.
    """
    pieces, remaining, slot_iter = [], [], iter(slots)
    for token in re.split(r"(%%|%s)", sql):
        if token != "%s":
            pieces.append(token)
            continue
        kind, value = next(slot_iter)
        if kind == "constant":
            pieces.append(connection.ops.compose_sql("%s", [value]).replace("%", "%%"))
        else:
            pieces.append(token)
            remaining.append((kind, value))
    return "".join(pieces), remaining


class CompiledQuerySet:
    """The SQL of a QuerySet built for `PlaceholderUser` at `PLACEHOLDER_NOW`, run for any user and moment."""

    def __init__(self, queryset):
        self.using = queryset.db
        compiler = queryset.query.get_compiler(using=self.using)
        self.sql, params = compiler.as_sql()
        connection = connections[self.using]
        placeholder_user = _UUID.get_db_prep_value(PLACEHOLDER_USER_ID, connection)
        self.slots = []
        for param in params:
            moment = _as_moment(param)
            if param == placeholder_user:
                self.slots.append(("user", None))
            elif moment is not None and _PLACEHOLDER_ERA[0] <= moment < _PLACEHOLDER_ERA[1]:
                self.slots.append(("moment", PLACEHOLDER_NOW - moment))
            else:
                self.slots.append(("constant", param))
        if connection.vendor == "postgresql":
            self.sql, self.slots = _inline_constants(self.sql, self.slots, connection)
        self.compiler = compiler
        select = compiler.select
        select_fields = compiler.klass_info["select_fields"]
        self.model = compiler.klass_info["model"]
        self.model_fields = slice(select_fields[0], select_fields[-1] + 1)
        self.init_list = [column[0].target.attname for column in select[self.model_fields]]
        self.annotations = list(compiler.annotation_col_map.items())
        self.converters = compiler.get_converters([column[0] for column in select[: compiler.col_count]])

    def params(self, user_id, now, connection):
        """Return the parameters of the SQL for a real user and moment."""
        user = _UUID.get_db_prep_value(user_id, connection)
        values = []
        for kind, value in self.slots:
            if kind == "user":
                values.append(user)
            elif kind == "moment":
                values.append(connection.ops.adapt_datetimefield_value(now - value))
            else:
                values.append(value)
        return values

    def run(self, user_id, now=None):
        """Run the SQL for `user_id` at `now` and return model instances carrying the annotations."""
        connection = connections[self.using]
        with connection.cursor() as cursor:
            cursor.execute(self.sql, self.params(user_id, now, connection))
            rows = cursor.fetchall()
        if self.converters:
            rows = self.compiler.apply_converters(rows, self.converters)
        instances = []
        for row in rows:
            instance = self.model.from_db(self.using, self.init_list, row[self.model_fields])
            for name, position in self.annotations:
                setattr(instance, name, row[position])
            instances.append(instance)
        return instances


@functools.lru_cache(maxsize=512)
def compiled(build, *key):
    """Return `build(*key)` compiled, once per process for each key; the key must hold every setting it reads."""
    return CompiledQuerySet(build(*key))
