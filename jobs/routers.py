"""Database routing of the `datasets` table: read from the replica when there is one, never written or migrated."""
from django.conf import settings

from .models import Dataset, ReadOnlyTableError

REPLICA = "replica"


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
