"""Test set-up shared by every app: the `datasets` table (migrations never create it), users, rows, clients."""
import datetime

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import router
from model_bakery import baker
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle
from rest_framework_simplejwt import authentication as simplejwt_authentication
from rest_framework_simplejwt import serializers as simplejwt_serializers
from rest_framework_simplejwt import settings as simplejwt_settings
from rest_framework_simplejwt import tokens as simplejwt_tokens
from rest_framework_simplejwt.tokens import AccessToken

from databiz.demo.ddl import create_datasets_table
from jobs import import_speed
from jobs.authentication import forget_verified_tokens, issuer_backend_for
from jobs.models import Dataset
from jobs.table import datasets_table_exists
from jobs.tests import NOW, SHARED_SECRET


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Create `datasets` from the reference DDL in the test database the service reads it from."""
    with django_db_blocker.unblock():
        using = router.db_for_read(Dataset)
        if not datasets_table_exists(using):
            create_datasets_table(using)


@pytest.fixture(autouse=True)
def fresh_cache():
    """Start every test with empty caches: no throttling count, learned speed or token verification outlives it."""
    cache.clear()
    import_speed.forget_import_speeds()
    forget_verified_tokens()
    yield
    cache.clear()
    import_speed.forget_import_speeds()
    forget_verified_tokens()


@pytest.fixture(autouse=True)
def import_speed_learned_inline(request, monkeypatch):
    """Learn the import speed in the test's own thread and transaction (a thread of its own would not see the
    test's rows); tests marked `learning_in_background` keep the real thread."""
    if not request.node.get_closest_marker("learning_in_background"):
        monkeypatch.setattr(import_speed, "run_in_background", lambda learn, using: learn(using))


@pytest.fixture
def unthrottled(settings, monkeypatch):
    """Lift the rate limits for a test that polls far more often than any browser tab."""
    settings.JOBS_THROTTLE_RATE = "1000000/s"
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth": None})


@pytest.fixture
def now():
    """Freeze the clock at NOW, so tokens, rules and payloads all see the same moment."""
    with time_machine.travel(NOW, tick=False):
        yield NOW


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
        for module in (simplejwt_authentication, simplejwt_serializers, simplejwt_tokens):
            monkeypatch.setattr(module, "api_settings", simplejwt_settings.api_settings)
        # Each configuration gets a backend (and JWKS cache) of its own, as a fresh process would.
        issuer_backend_for.cache_clear()

    yield use
    issuer_backend_for.cache_clear()


def pytest_collection_modifyitems(config, items):
    """Leave out tests of PostgreSQL's own faults when the suite runs on another database (CI runs both)."""
    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        return
    deselected = [item for item in items if item.get_closest_marker("postgresql")]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker("postgresql")]
