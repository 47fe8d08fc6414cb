"""Database work as PostgreSQL counts it: the statements in its log and the transactions in its statistics.

`django_assert_num_queries` sees the queries Django's cursor runs, not the `SELECT 1` of a connection's health check;
PostgreSQL's log (`log_statement = all`, for the service's connections only) and `pg_stat_database` see everything
whichever code sent it. PostgreSQL runs only.
"""
import asyncio
import datetime
import re
import time
import uuid
from pathlib import Path

import jwt
import psycopg
import pytest
from django.contrib.auth import get_user_model
from django.db import close_old_connections, connection, connections, router
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from jobs import stream
from jobs.models import Dataset

from . import DATABIZ_USER, SHARED_SECRET

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]

URL = "/api/v2/jobs/active"
# psycopg prepares a statement on its DATABASE_PREPARE_THRESHOLD-th run (5) in a transaction of its own: once a
# connection, by this many runs.
PREPARED = 7


def admin_params(**overrides):
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return {**params, **overrides}


def close_service_connections():
    """Close the connections of this thread and of the streams' database threads."""
    connections.close_all()
    for executor in stream.STREAM_THREADS:
        executor.submit(connections.close_all).result()


class ServerCount:
    """What PostgreSQL received from the service's connections since `start()`: statements and transactions."""

    def __init__(self, database):
        self.database = database
        with psycopg.connect(**admin_params(dbname="postgres"), autocommit=True) as admin:
            logfile, cluster = admin.execute("SELECT pg_current_logfile(), current_setting('cluster_name')").fetchone()
        # Without a logging collector, Debian's pg_ctlcluster sends the server's log to this file.
        self.log = Path(logfile or f"/var/log/postgresql/postgresql-{cluster.replace('/', '-')}.log")
        assert self.log.is_file(), f"PostgreSQL's log is not at {self.log}: the statements cannot be counted"

    def measure(self, work):
        """Return the statements and the number of transactions PostgreSQL received while `work()` ran, from
        connections opened for it: each closed before and after, so that every backend has reported its counts."""
        close_service_connections()
        self.offset, transactions_before = self.log.stat().st_size, self.transactions()
        work()
        close_service_connections()
        return self.statements(), self.transactions() - transactions_before

    def per_run(self, work, runs):
        """Return the statements (their count) and transactions of `runs` more runs of `work`, and the log of them:
        the difference between PREPARED + runs and PREPARED runs, each on a connection of its own, so that neither
        opening the connection nor preparing its statements (once each, at the PREPARED-th run) is counted."""
        statements_before, transactions_before = self.measure(lambda: [work() for _ in range(PREPARED)])
        statements, transactions = self.measure(lambda: [work() for _ in range(PREPARED + runs)])
        return (len(statements) - len(statements_before), transactions - transactions_before), statements

    def statements(self):
        """Statements the test database's connections sent since start() (each executed one is a line)."""
        with self.log.open("rb") as log:
            log.seek(self.offset)
            text = log.read().decode(errors="replace")
        pattern = rf"@{re.escape(self.database)} LOG:  (statement|execute [^:]*): (.*)"
        return [match[2] for match in re.finditer(pattern, text)]

    def transactions(self):
        """Transactions PostgreSQL counted for the test database, once every closed backend reported its own; this
        reader's connection is to another database, so its own are not counted."""
        with psycopg.connect(**admin_params(dbname="postgres"), autocommit=True) as reader:
            def read():
                return reader.execute(
                    "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s", [self.database]
                ).fetchone()[0]

            value, stable_since = read(), time.monotonic()
            while time.monotonic() - stable_since < 1.0:
                time.sleep(0.1)
                if (latest := read()) != value:
                    value, stable_since = latest, time.monotonic()
        return value


@pytest.fixture
def server_count(transactional_db):
    """Log every statement of the service's connections (theirs only: a session setting), and count."""
    options = connection.settings_dict["OPTIONS"]
    saved = options.get("options", "")
    close_service_connections()
    options["options"] = f"{saved} -c log_statement=all"
    yield ServerCount(connection.settings_dict["NAME"])
    close_service_connections()
    options["options"] = saved


@pytest.fixture
def rows(transactional_db):
    """Committed datasets of the given owners; removed afterwards."""
    using = router.db_for_read(Dataset)

    def insert(owner_id, **fields):
        now = timezone.now()
        fields = {"name": "x", "created_at": now - datetime.timedelta(minutes=3), "updated_at": now, **fields}
        Dataset._base_manager.using(using).bulk_create([Dataset(id=uuid.uuid4(), created_by=owner_id, **fields)])

    yield insert
    with connections[using].cursor() as cursor:
        cursor.execute("DELETE FROM datasets")


@pytest.fixture(params=["local", "external"])
def poller(request, transactional_db, external_issuer, unthrottled):
    """A client polling as DataBiz's frontend does, in each identity mode, and the user id it lists."""
    client = APIClient()
    if request.param == "external":
        external_issuer()
        token = jwt.encode({"sub": str(DATABIZ_USER), "exp": int(time.time()) + 600}, SHARED_SECRET, "HS256")
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return client, DATABIZ_USER
    user = get_user_model().objects.create_user("alice")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    return client, user.pk


def poll(client):
    """GET the list as a server would: Django's per-request connection upkeep first (the test client skips it)."""
    close_old_connections()
    response = client.get(URL)
    assert response.status_code == 200
    return response


def test_a_poll_is_one_statement_and_one_transaction_on_the_server_in_each_mode(poller, rows, server_count):
    client, user_id = poller
    rows(user_id, status="new")
    rows(user_id, status="inactive")
    poll(client)  # the import speed learned (each process learns it every JOBS_PROGRESS_CACHE)

    (statements, transactions), log = server_count.per_run(lambda: poll(client), 20)

    assert (statements, transactions) == (20, 20), log[:4]
    assert "SELECT 1" not in log


def test_a_history_page_is_one_statement_and_one_transaction_on_the_server_in_each_mode(poller, rows, server_count):
    client, user_id = poller
    rows(user_id, status="inactive")
    rows(user_id, status="error")
    poll(client)

    def history_page():
        close_old_connections()
        assert client.get("/api/v2/jobs/history").status_code == 200

    (statements, transactions), log = server_count.per_run(history_page, 20)

    # Its values written into the statement (planned for them), the local user checked in it: nothing around it.
    assert (statements, transactions) == (20, 20), log[:4]
    assert "SELECT 1" not in log


def test_a_connection_killed_between_polls_is_replaced_silently_in_each_mode(poller, rows):
    client, user_id = poller
    rows(user_id, status="new")
    first = poll(client)
    backend_pid = connection.connection.info.backend_pid
    with psycopg.connect(**admin_params(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [backend_pid])

    second = poll(client)

    assert (second.json(), connection.connection.info.backend_pid != backend_pid) == (first.json(), True)


@pytest.fixture
def hub(monkeypatch):
    """A stream hub whose ticks the test runs itself, one at a time (its own schedule does nothing)."""

    async def no_schedule(self):
        return None

    monkeypatch.setattr(stream.StreamHub, "run", no_schedule)
    return stream.StreamHub()


@pytest.mark.parametrize(
    ("full_read", "notified", "per_tick"),
    [(datetime.timedelta(0), False, 1), (datetime.timedelta(hours=1), True, 1),
     (datetime.timedelta(hours=1), False, 2)],
    ids=["full reads", "between full reads, notified", "between full reads, which users changed first"],
)
def test_a_tick_of_open_streams_is_one_transaction_a_statement_on_the_server(
    hub, rows, server_count, settings, full_read, notified, per_tick
):
    settings.JOBS_STREAM_FULL_READ = full_read
    users = [uuid.uuid4() for _ in range(4)]
    for user_id in users:
        rows(user_id, status="new")
        rows(user_id, status="inactive")
    mailboxes = []

    async def open_streams():
        mailboxes.extend(hub.subscribe(stream.Listing(user_id)) for user_id in users)

    asyncio.run(open_streams())
    asyncio.run(hub.tick())  # the first read is a full one
    if notified:
        hub.listening.set()

    (statements, transactions), log = server_count.per_run(lambda: asyncio.run(hub.tick()), 10)

    # Between full reads, without notifications, a query of which users changed comes first (its own statement).
    assert (statements, transactions) == (10 * per_tick, 10 * per_tick), log[:4]
    assert "SELECT 1" not in log
    # Each stream got its answer: the ticks read for real.
    assert [type(mailbox.take()) for mailbox in mailboxes] == [stream.Answer] * 4


def test_a_streams_connection_killed_between_ticks_is_replaced_silently(hub, rows):
    user_id = uuid.uuid4()
    rows(user_id, status="new")

    def backend_pid():
        return stream.DATABASE_THREAD.submit(lambda: connection.connection.info.backend_pid).result()

    async def tick_twice(kill_between):
        mailbox = hub.subscribe(stream.Listing(user_id))
        await hub.tick()
        first = mailbox.take()
        kill_between()
        hub.sent.clear()  # so that the second tick hands its answer to the stream again
        await hub.tick()
        return first, mailbox.take()

    killed = []

    def kill():
        killed.append(backend_pid())
        with psycopg.connect(**admin_params(), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [killed[0]])

    first, second = asyncio.run(tick_twice(kill))

    assert (second.body, backend_pid() != killed[0]) == (first.body, True)
    close_service_connections()
