"""Fixtures of the jobs tests: users, a fixed `now`, datasets and API clients."""
import datetime
import uuid

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import router
from model_bakery import baker
from rest_framework.test import APIClient
from rest_framework_simplejwt import authentication as simplejwt_authentication
from rest_framework_simplejwt import settings as simplejwt_settings
from rest_framework_simplejwt import tokens as simplejwt_tokens
from rest_framework_simplejwt.tokens import AccessToken

from jobs.authentication import issuer_backend_for
from jobs.models import Dataset

NOW = datetime.datetime(2025, 12, 19, 10, 0, tzinfo=datetime.UTC)


def ago(**delta):
    """Return the moment `delta` before the fixed NOW."""
    return NOW - datetime.timedelta(**delta)


@pytest.fixture
def now():
    """Freeze the clock at NOW, so tokens, rules and payloads all see the same moment."""
    with time_machine.travel(NOW, tick=False):
        yield NOW


@pytest.fixture(autouse=True)
def empty_cache():
    """Start every test with an empty cache, so no learned import speed leaks from one test to the next."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def user(db):
    return baker.make(get_user_model(), username="alice")


@pytest.fixture
def other_user(db):
    return baker.make(get_user_model(), username="bob")


@pytest.fixture
def make_dataset(db):
    """Insert one row into `datasets` (without the forbidden `save()`) and return it."""

    def make(**fields):
        fields.setdefault("created_at", fields.get("updated_at", NOW))
        fields.setdefault("updated_at", fields["created_at"])
        # Naming the database passes the router that refuses writes to datasets: only tests do this.
        return baker.make(Dataset, _bulk_create=True, _quantity=1, _using=router.db_for_read(Dataset), **fields)[0]

    return make


@pytest.fixture
def change_dataset(db):
    """Change a row of `datasets` as the imports service would (the service itself never does)."""

    def change(dataset, **fields):
        Dataset._base_manager.using(router.db_for_read(Dataset)).filter(pk=dataset.pk).update(**fields)

    return change


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def auth_client(user, now):
    """An API client that sends `user`'s access token as a Bearer token."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    return client


# A DataBiz user: no row in this service's user table, only in the issuer's tokens and in `datasets.created_by`.
DATABIZ_USER = uuid.UUID("3f6c9a52-1b7e-4d0a-9c1e-5b2f8e4a7d10")
SHARED_SECRET = "databiz-backend-shared-secret-0123456789abcdef"


@pytest.fixture
def external_issuer(settings, monkeypatch):
    """Switch to AUTH_MODE=external with the given simplejwt settings; returns the function that does it."""

    def use(**simple_jwt):
        settings.AUTH_MODE = "external"
        settings.SIMPLE_JWT = {
            "ALGORITHM": "HS256",
            "SIGNING_KEY": SHARED_SECRET,
            "USER_ID_CLAIM": "sub",
            "LEEWAY": datetime.timedelta(seconds=30),
            "TOKEN_TYPE_CLAIM": None,
            "JTI_CLAIM": None,
            "AUTH_TOKEN_CLASSES": ("jobs.authentication.IssuerToken",),
            "TOKEN_USER_CLASS": "jobs.authentication.IssuerUser",
            **simple_jwt,
        }
        # simplejwt rebinds its `api_settings` when SIMPLE_JWT changes, but its modules keep the object they
        # imported: point them at the new one, as a process started with these settings would have it.
        for module in (simplejwt_authentication, simplejwt_tokens):
            monkeypatch.setattr(module, "api_settings", simplejwt_settings.api_settings)
        # Each configuration gets a backend (and JWKS cache) of its own, as a fresh process would.
        issuer_backend_for.cache_clear()

    yield use
    issuer_backend_for.cache_clear()
