"""PostgreSQL's own faults: unreachable, a killed connection, a hung query, a read-only role. PostgreSQL runs only."""
import threading
import time

import psycopg
import pytest
from django.db import close_old_connections, connection, connections, router, transaction
from django.db.utils import ProgrammingError
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from jobs.models import Dataset

from . import ago

pytestmark = pytest.mark.postgresql

URL = "/api/v2/jobs/active"
LEAKS = ("Traceback", "SELECT", "psycopg", "datasets\".", "SECRET", "password", "File \"")


def assert_clean_503(response):
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json() == {
        "detail": "The jobs service cannot reach its database right now. Try again shortly.",
        "code": "database_unavailable",
    }
    assert not any(leak in response.content.decode() for leak in LEAKS)


def poll(client):
    """GET the list as a server would: Django's per-request connection upkeep first (the test client skips it)."""
    close_old_connections()
    return client.get(URL)


def admin_connection():
    """A second connection to the test database, as another client would have."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return psycopg.connect(**params, autocommit=True)


@pytest.fixture
def client_of(db):
    def make(user):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
        return client

    return make


@pytest.fixture
def committed_rows(transactional_db, user, make_dataset):
    """A listed dataset committed for real (these tests use connections of their own); removed afterwards."""
    dataset = make_dataset(created_by=user.pk, status="new", updated_at=ago(minutes=1))
    yield dataset
    # The test may have left its connection broken on purpose: start the clean-up on a fresh one.
    connection.close()
    with connections[router.db_for_read(Dataset)].cursor() as cursor:
        cursor.execute("DELETE FROM datasets WHERE created_by = %s", [user.pk])


def test_unreachable_database_is_a_503_and_the_next_request_after_it_is_back_succeeds(
    committed_rows, user, client_of, now
):
    client = client_of(user)
    saved_port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = "1"  # nothing listens there: connection refused
    try:
        down = poll(client)
    finally:
        connection.close()
        connection.settings_dict["PORT"] = saved_port

    back = poll(client)

    assert_clean_503(down)
    assert (back.status_code, [job["id"] for job in back.json()]) == (200, [str(committed_rows.pk)])


@pytest.fixture
def health_checks(monkeypatch):
    """Record each `SELECT 1` health check Django makes of the connection (is_usable)."""
    checks = []
    is_usable = connection.is_usable

    def recorded():
        checks.append(is_usable())
        return checks[-1]

    monkeypatch.setattr(connection, "is_usable", recorded)
    return checks


def test_poll_on_a_live_reused_connection_makes_no_health_check_round_trip(
    committed_rows, user, client_of, health_checks, now
):
    client = client_of(user)
    assert poll(client).status_code == 200
    backend_pid = connection.connection.info.backend_pid

    response = poll(client)

    assert (response.status_code, [job["id"] for job in response.json()]) == (200, [str(committed_rows.pk)])
    assert (connection.connection.info.backend_pid, health_checks) == (backend_pid, [])


def test_connection_killed_between_requests_is_replaced_silently(
    committed_rows, user, client_of, health_checks, now
):
    client = client_of(user)
    assert poll(client).status_code == 200
    backend_pid = connection.connection.info.backend_pid
    with admin_connection() as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [backend_pid])

    response = poll(client)

    assert (response.status_code, [job["id"] for job in response.json()]) == (200, [str(committed_rows.pk)])
    assert connection.connection.info.backend_pid != backend_pid
    # The poll's own statements found the dead connection; one check confirmed it before they ran again.
    assert health_checks == [False]


def test_connection_killed_mid_request_is_a_503(committed_rows, user, client_of, now):
    client = client_of(user)
    assert poll(client).status_code == 200
    backend_pid = connection.connection.info.backend_pid
    with admin_connection() as locker, admin_connection() as killer:
        # The poll waits on this lock; meanwhile its connection is killed.
        locker.execute("BEGIN")
        locker.execute("LOCK TABLE datasets IN ACCESS EXCLUSIVE MODE")
        threading.Timer(0.3, lambda: killer.execute("SELECT pg_terminate_backend(%s)", [backend_pid])).start()
        response = poll(client)
        locker.execute("ROLLBACK")

    assert_clean_503(response)
    assert poll(client).status_code == 200


def test_hung_query_hits_the_statement_timeout_and_is_a_503(committed_rows, user, client_of):
    # The real clock (no frozen `now`): the test measures how long the poll waited.
    client = client_of(user)
    connection.close()
    saved_options = connection.settings_dict["OPTIONS"]["options"]
    connection.settings_dict["OPTIONS"]["options"] = "-c statement_timeout=300"
    try:
        with admin_connection() as locker:
            locker.execute("BEGIN")
            locker.execute("LOCK TABLE datasets IN ACCESS EXCLUSIVE MODE")
            started = time.monotonic()
            response = poll(client)
            waited = time.monotonic() - started
            locker.execute("ROLLBACK")
    finally:
        connection.close()
        connection.settings_dict["OPTIONS"]["options"] = saved_options

    assert_clean_503(response)
    assert 0.3 <= waited < 2
    assert poll(client).status_code == 200


def test_default_statement_timeout_is_two_seconds(db):
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone() == ("2s",)


def test_the_polls_statement_is_prepared_and_planned_once_not_on_every_poll(user, client_of, make_dataset, now):
    make_dataset(created_by=user.pk, status="new", updated_at=ago(minutes=1))
    client = client_of(user)

    answers = {client.get(URL).content for _ in range(12)}

    with connection.cursor() as cursor:
        cursor.execute("SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE %s",
                       ["%FROM \"datasets\"%"])
        plans = cursor.fetchall()
    # psycopg prepares a statement on its 6th run (DATABASE_PREPARE_THRESHOLD); from then on one generic plan.
    assert (len(answers), plans) == (1, [(7, 0)])


def test_endpoint_works_under_a_role_that_may_only_read(user, client_of, make_dataset, now):
    dataset = make_dataset(created_by=user.pk, status="inactive", updated_at=ago(minutes=1))
    with connection.cursor() as cursor:
        cursor.execute("CREATE ROLE jobs_reader_test NOLOGIN")
        cursor.execute("GRANT SELECT ON datasets, accounts_user TO jobs_reader_test")
        cursor.execute("SET ROLE jobs_reader_test")

    response = client_of(user).get(URL)
    with pytest.raises(ProgrammingError, match="permission denied"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE datasets SET status = 'error'")

    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")
    assert [(job["id"], job["status"]) for job in response.json()] == [(str(dataset.pk), "completed")]
