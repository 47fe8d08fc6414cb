"""Database routing of the `datasets` table: read from the replica when there is one, never written or migrated."""
import logging
import time

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from .models import Dataset, ReadOnlyTableError

REPLICA = "replica"
logger = logging.getLogger(__name__)


class DatasetRouter:
    """Send `Dataset` reads to the replica, refuse its writes and migrations; leave other models to the default."""

    def db_for_read(self, model, **hints):
        """Read `datasets` from the replica when one is configured."""
        if model is Dataset and REPLICA in settings.DATABASES:
            return REPLICA
        return None

    def db_for_write(self, model, **hints):
        """Refuse any write to `datasets` that does not name its database explicitly."""
        if model is Dataset:
            raise ReadOnlyTableError("write datasets")
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        """Never let migrations touch the imports service's table, and keep the replica free of migrations."""
        if app_label == Dataset._meta.app_label and model_name == Dataset._meta.model_name:
            return False
        if db == REPLICA:
            return False
        return None


def replica_caught_up(timeout):
    """Wait, at most `timeout` seconds, until the replica has replayed what the primary has written by now; return
    whether it has (True at once without a PostgreSQL streaming replica).

    A notification comes from the primary as its change commits; a replica may not have replayed it yet, and a read
    there would find the old answer and spend the notification. Read-your-writes for the stream's named users.
    """
    if REPLICA not in settings.DATABASES or connections[REPLICA].vendor != "postgresql":
        return True
    deadline = time.monotonic() + timeout
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_lsn()")
            written = cursor.fetchone()[0]
        with connections[REPLICA].cursor() as cursor:
            while True:
                # Not in recovery: no streaming replica (another database of the same server), nothing to wait for.
                cursor.execute("SELECT NOT pg_is_in_recovery() OR pg_last_wal_replay_lsn() >= %s::pg_lsn", [written])
                if cursor.fetchone()[0]:
                    return True
                if time.monotonic() >= deadline:
                    return False
                time.sleep(0.01)
    except DatabaseError:
        logger.warning("Could not compare the replica's replay with the primary; reading without waiting.",
                       exc_info=True)
        return False
