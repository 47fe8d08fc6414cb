import sqlite3

import pytest
from django.db import connection


# No `db` fixture: any database access would fail the test.
def test_healthz_answers_without_touching_the_database(client):
    response = client.get("/healthz")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})


@pytest.mark.django_db
def test_readyz_answers_ok_when_datasets_is_readable(client):
    response = client.get("/readyz")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("statement", "problems"),
    [
        ("DROP TABLE datasets", ["The datasets table does not exist."]),
        ("ALTER TABLE datasets RENAME COLUMN status TO state", ["The datasets table has no column 'status'."]),
    ],
)
def test_readyz_answers_503_naming_what_is_wrong_with_datasets(client, statement, problems):
    with connection.cursor() as cursor:
        cursor.execute(statement)

    response = client.get("/readyz")

    assert (response.status_code, response.json()) == (503, {"status": "unavailable", "problems": problems})


@pytest.fixture
def datasets_unreadable(db):
    """Take the SELECT privilege on `datasets` away from the service's connection for one test."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("CREATE ROLE jobs_without_select NOLOGIN")
            cursor.execute("SET ROLE jobs_without_select")
        yield
        return
    connection.ensure_connection()

    def deny_reading_datasets(action, table, *args):
        return sqlite3.SQLITE_DENY if action == sqlite3.SQLITE_READ and table == "datasets" else sqlite3.SQLITE_OK

    connection.connection.set_authorizer(deny_reading_datasets)
    yield
    connection.connection.set_authorizer(None)


def test_readyz_answers_503_when_the_database_refuses_the_read(client, datasets_unreadable):
    response = client.get("/readyz")

    assert (response.status_code, response.json()) == (
        503,
        {"status": "unavailable", "problems": ["The database or the datasets table cannot be read."]},
    )


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_probes_answer_whatever_the_host_header(client, settings, path):
    settings.SECURE_SSL_REDIRECT = True

    response = client.get(path, HTTP_HOST="10.4.2.17:8000")

    assert response.status_code == 200
