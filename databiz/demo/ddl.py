"""The reference DDL of the imports service's `datasets` table, for demo, development and test databases."""
from django.db import connections

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


def create_datasets_table(using="default"):
    """Create the `datasets` table and its index from the reference schema in the database `using`."""
    connection = connections[using]
    if connection.vendor not in DDL:
        raise NotImplementedError(f"No reference schema of the datasets table for {connection.vendor}.")
    with connection.cursor() as cursor:
        for statement in DDL[connection.vendor]:
            cursor.execute(statement)
