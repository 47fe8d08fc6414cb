"""The reference dashboard widget: a page that polls the jobs endpoint the way the frontend should."""
from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "databiz.dashboard"
    label = "dashboard"
    verbose_name = "Dashboard"
