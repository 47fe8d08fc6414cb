"""Database routing of the `datasets` table: never written, never migrated."""
from .models import Dataset, ReadOnlyTableError


class DatasetRouter:
    """Refuse writes and migrations for `Dataset`; leave every other model to the default routing."""

    def db_for_write(self, model, **hints):
        """Refuse any write to `datasets` that does not name its database explicitly."""
        if model is Dataset:
            raise ReadOnlyTableError("write datasets")
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        """Never let migrations touch the imports service's table."""
        if app_label == Dataset._meta.app_label and model_name == Dataset._meta.model_name:
            return False
        return None
