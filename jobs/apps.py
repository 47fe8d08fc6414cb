"""The jobs app: background jobs derived from the imports service's datasets."""
from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Background jobs"

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
