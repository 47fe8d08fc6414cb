"""The jobs app: background jobs derived from the imports service's datasets."""
from django.apps import AppConfig
from django.db.backends.signals import connection_created


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Background jobs"

    def ready(self):
        from .aggregates import register_sqlite_functions
        from .timestamps import register_timestamp_loader

        connection_created.connect(register_sqlite_functions, dispatch_uid="jobs.sqlite_functions")
        connection_created.connect(register_timestamp_loader, dispatch_uid="jobs.timestamp_loader")
        from . import checks  # noqa: F401  (registers the system checks)
