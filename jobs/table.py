"""The contract of the imports service's `datasets` table: the columns the service reads, and a check of them."""
from django.db import connections

TABLE = "datasets"

# The columns the service reads; a real table may carry more.
REFERENCE_COLUMNS = (
    "id",
    "name",
    "original_filename",
    "file_type",
    "file_size",
    "status",
    "error_message",
    "created_by",
    "created_at",
    "updated_at",
)


def datasets_table_exists(using="default"):
    """Tell whether the database `using` has a `datasets` table."""
    connection = connections[using]
    with connection.cursor() as cursor:
        return TABLE in connection.introspection.table_names(cursor)


def datasets_table_columns(using="default"):
    """Return the names of the columns of the `datasets` table in the database `using`."""
    connection = connections[using]
    with connection.cursor() as cursor:
        return [column.name for column in connection.introspection.get_table_description(cursor, TABLE)]


def datasets_table_problems(using="default"):
    """Return what keeps the service from reading `datasets` in the database `using` (empty when nothing does)."""
    if not datasets_table_exists(using):
        return [f"The {TABLE} table does not exist."]
    missing = [column for column in REFERENCE_COLUMNS if column not in datasets_table_columns(using)]
    return [f"The {TABLE} table has no column {column!r}." for column in missing]
