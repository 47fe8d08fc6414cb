"""The accounts app: the service's user model."""
from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "databiz.accounts"
    label = "accounts"
    verbose_name = "Accounts"
