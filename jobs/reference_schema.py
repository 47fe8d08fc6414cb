"""The reference DDL of the imports service's `datasets` table, for development, demo and test databases."""
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

_POSTGRESQL = (
    """
    CREATE TABLE datasets (
        id uuid PRIMARY KEY,
        name varchar(255) NOT NULL,
        original_filename varchar(512) NULL,
        file_type varchar(32) NULL,
        file_size bigint NULL,
        status varchar(20) NOT NULL,
        error_message text NULL,
        created_by uuid NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL
    )
    """,
    "CREATE INDEX datasets_created_by_updated_at_idx ON datasets (created_by, updated_at DESC)",
)

# SQLite has no uuid or timestamptz: these are the types Django's SQLite backend reads as UUID and datetime.
_SQLITE = (
    """
    CREATE TABLE datasets (
        id char(32) NOT NULL PRIMARY KEY,
        name varchar(255) NOT NULL,
        original_filename varchar(512) NULL,
        file_type varchar(32) NULL,
        file_size bigint NULL,
        status varchar(20) NOT NULL,
        error_message text NULL,
        created_by char(32) NOT NULL,
        created_at datetime NOT NULL,
        updated_at datetime NOT NULL
    )
    """,
    "CREATE INDEX datasets_created_by_updated_at_idx ON datasets (created_by, updated_at DESC)",
)

DDL = {"postgresql": _POSTGRESQL, "sqlite": _SQLITE}


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


def create_datasets_table(using="default"):
    """Create the `datasets` table and its index from the reference schema in the database `using`."""
    connection = connections[using]
    if connection.vendor not in DDL:
        raise NotImplementedError(f"No reference schema of the datasets table for {connection.vendor}.")
    with connection.cursor() as cursor:
        for statement in DDL[connection.vendor]:
            cursor.execute(statement)


def datasets_table_problems(using="default"):
    """Return what keeps the service from reading `datasets` in the database `using` (empty when nothing does)."""
    if not datasets_table_exists(using):
        return [f"The {TABLE} table does not exist."]
    missing = [column for column in REFERENCE_COLUMNS if column not in datasets_table_columns(using)]
    return [f"The {TABLE} table has no column {column!r}." for column in missing]
