"""Test set-up shared by every app: the unmanaged `datasets` table, which migrations never create."""
import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import router
from rest_framework.throttling import ScopedRateThrottle

from jobs.models import Dataset
from jobs.reference_schema import create_datasets_table, datasets_table_exists


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Create `datasets` from the reference DDL in the test database the service reads it from."""
    with django_db_blocker.unblock():
        using = router.db_for_read(Dataset)
        if not datasets_table_exists(using):
            create_datasets_table(using)


@pytest.fixture(autouse=True)
def fresh_cache():
    """Start every test with empty throttling counters: the local-memory cache outlives a test."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def unthrottled(monkeypatch):
    """Lift the per-user rate limits for a test that polls far more often than any browser tab."""
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"jobs": None, "auth": None})


def pytest_collection_modifyitems(config, items):
    """Leave out tests of PostgreSQL's own faults when the suite runs on another database (CI runs both)."""
    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        return
    deselected = [item for item in items if item.get_closest_marker("postgresql")]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker("postgresql")]
