"""The demo: a `datasets` table of our own with demo users and rows (prepare_demo), played live (play_demo).

Production leaves it out of INSTALLED_APPS (DATABIZ_DEMO off, the default); `make run` and `make test` turn it on.
"""
from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "databiz.demo"
    label = "demo"
    verbose_name = "Demo"
