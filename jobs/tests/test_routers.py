import time

import pytest
from django.contrib.auth import get_user_model
from django.db import router

from jobs.models import Dataset, ReadOnlyTableError
from jobs.routers import replica_caught_up


def test_datasets_are_read_from_the_default_database_without_a_replica(settings):
    assert "replica" not in settings.DATABASES
    assert router.db_for_read(Dataset) == "default"


def test_writes_to_datasets_are_refused_and_other_models_left_alone():
    with pytest.raises(ReadOnlyTableError):
        router.db_for_write(Dataset)

    assert router.db_for_write(get_user_model()) == "default"


@pytest.mark.parametrize(
    ("db", "app_label", "model_name", "allowed"),
    [
        ("default", "jobs", "dataset", False),
        ("replica", "accounts", "user", False),
        ("default", "accounts", "user", True),
    ],
)
def test_migrations_skip_datasets_and_the_replica(db, app_label, model_name, allowed):
    assert router.allow_migrate(db, app_label, model_name=model_name) is allowed


@pytest.mark.replica
@pytest.mark.django_db(databases=["default", "replica"])
def test_a_replica_database_that_is_no_standby_has_nothing_to_catch_up():
    # CI's replica is another database (of the same PostgreSQL server, or SQLite): not in recovery, so a read after
    # a notification does not wait. A real standby's wait is tested through deploy/ (test_deploy.py).
    started = time.monotonic()

    assert (replica_caught_up(timeout=2), time.monotonic() - started < 1) == (True, True)
