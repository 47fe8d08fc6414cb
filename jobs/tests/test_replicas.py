"""Run with a replica configured: `DATABASE_REPLICA_URL=... make test PYTEST_ARGS="-m replica"` (as .ci/run does)."""
import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import connections, router

from jobs.models import Dataset
from jobs.table import datasets_table_exists

from . import ago

pytestmark = [pytest.mark.replica, pytest.mark.django_db(databases=["default", "replica"])]


def test_datasets_are_read_from_the_replica_only(auth_client, user, make_dataset):
    dataset = make_dataset(created_by=user.pk, status="new", updated_at=ago(minutes=1))

    response = auth_client.get("/api/v2/jobs/active")

    assert router.db_for_read(Dataset) == "replica"
    assert [job["id"] for job in response.json()] == [str(dataset.pk)]
    # The primary has no datasets table at all here, so the answer can only have come from the replica.
    assert (datasets_table_exists("default"), datasets_table_exists("replica")) == (False, True)


def test_users_and_sessions_stay_on_the_primary(client, user, now):
    client.force_login(user)

    assert router.db_for_read(get_user_model()) == "default"
    assert router.db_for_write(Session) == "default"
    assert Session.objects.using("default").count() == 1
    with connections["replica"].cursor() as cursor:
        assert "accounts_user" not in connections["replica"].introspection.table_names(cursor)
