"""What the browser tests share: Debian's Chromium, the project served as `make run` serves it, rows of `datasets`."""
import asyncio
import datetime
import os
import re
import threading
import time
import uuid

import pytest
import uvicorn
from django.contrib.auth import get_user_model
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.servers.basehttp import WSGIServer
from django.db import OperationalError, connections, router
from django.test.testcases import LiveServerThread
from django.utils import timezone
from playwright.sync_api import expect, sync_playwright

from databiz import asgi
from jobs import stream
from jobs.models import Dataset

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


class SerialWSGIServer(WSGIServer):
    """Django's live server answering one request at a time (and closing each connection, as Django's unthreaded
    server does), in the live server's own thread."""

    def __init__(self, *args, connections_override=None, **kwargs):
        # The live server's thread already uses the overriding connections (LiveServerThread.run).
        super().__init__(*args, **kwargs)


@pytest.fixture(scope="session", autouse=True)
def one_live_request_at_a_time_on_sqlite():
    """On SQLite the test database is in memory, and Django's threaded live server hands every request thread the
    test's one connection; two requests of one page using it at once hung in SQLite for good (twice in about ten
    runs: both threads waiting in `execute`). Django's documentation asks that the threads never use it at the same
    time (LiveServerTestCase), so on SQLite the live server answers one request at a time. PostgreSQL's threads each
    have a connection of their own: the threaded server stays."""
    if connections["default"].vendor != "sqlite":
        yield
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(LiveServerThread, "server_class", SerialWSGIServer)
        yield


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium; a machine without it fails here, it never skips."""
    # Playwright's sync API runs an event loop in this thread, which Django's ORM takes for an async context; the
    # ORM calls of these tests are synchronous all the same. Allowed for the browser tests only.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def fast_polling(settings):
    """Poll twice a second, and let the server's hint say the same, instead of waiting 10 s between polls."""
    settings.DASHBOARD_POLL_INTERVAL = 0.5
    settings.JOBS_POLL_INTERVAL = datetime.timedelta(seconds=0.5)
    settings.JOBS_IDLE_POLL_INTERVAL = datetime.timedelta(seconds=0.5)


@pytest.fixture
def rows(transactional_db):
    """Insert datasets for an owner (a user, or anything with the user id as `pk`), and remove them afterwards:
    flush skips the unmanaged table."""
    using = router.db_for_read(Dataset)

    def insert(owner, **fields):
        now = timezone.now()
        fields = {"name": "x", "created_at": now - datetime.timedelta(minutes=3), "updated_at": now, **fields}
        dataset = Dataset(id=uuid.uuid4(), created_by=owner.pk, **fields)
        Dataset._base_manager.using(using).bulk_create([dataset])
        return dataset

    yield insert
    with connections[using].cursor() as cursor:
        cursor.execute("DELETE FROM datasets")


def flip(dataset, **fields):
    """Change a row as the imports service would (the service itself never writes to datasets)."""
    rows = Dataset._base_manager.using(router.db_for_read(Dataset)).filter(pk=dataset.pk)
    # The test database on SQLite is in memory with a shared cache, where a read under way on the server's threads
    # locks the table and a write fails at once instead of waiting: wait for it as the imports service's would.
    deadline = time.monotonic() + 5
    while True:
        try:
            return rows.update(updated_at=timezone.now(), **fields)
        except OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class AsgiServer:
    """The project as `make run` serves it (databiz/asgi.py under uvicorn, the stream included), in a thread.

    Django's live server is WSGI, where the stream answers 503 and clients poll. The thread shares the test database
    as the live server's does; each start gets a stream hub of its own, as a new process would. `stop()` ends the
    open streams with their `retry:` hint first, as a deploy's SIGTERM does (databiz/asgi.py), and `start()` again
    serves on the same port.
    """

    def __init__(self, monkeypatch):
        self.monkeypatch, self.port, self.server, self.thread, self.loop = monkeypatch, 0, None, None, None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self.monkeypatch.setattr(stream.hub, "HUB", stream.StreamHub())
        config = uvicorn.Config(ASGIStaticFilesHandler(asgi.application), host="127.0.0.1", port=self.port,
                                lifespan="on", log_level="warning", timeout_graceful_shutdown=2)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=asyncio.run, args=(self.serve(),), daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]

    async def serve(self):
        self.loop = asyncio.get_running_loop()
        await self.server.serve()

    def stop(self):
        self.loop.call_soon_threadsafe(stream.hub.HUB.stop)
        self.server.should_exit = True
        self.thread.join(10)
        assert not self.thread.is_alive(), "uvicorn did not stop within 10 s"


@pytest.fixture
def asgi_server(transactional_db, monkeypatch):
    server = AsgiServer(monkeypatch)
    server.start()
    yield server
    if server.thread.is_alive():
        server.stop()
    # The streams' database thread and the WSGI requests' thread outlive the test; their connections must not.
    for executor in (*stream.STREAM_THREADS, asgi.django_wsgi.executor):
        executor.submit(connections.close_all).result()


PASSWORD = "correct-horse-battery"


@pytest.fixture
def people(transactional_db):
    """alice and bob, who sign in with PASSWORD."""
    make = get_user_model().objects.create_user
    return make("alice", password=PASSWORD), make("bob", password=PASSWORD)


@pytest.fixture
def page(browser, live_server):
    """A fresh browser page (its own cookies) for the live server."""
    context = browser.new_context(viewport={"width": 1000, "height": 800})
    page = context.new_page()
    page.set_default_timeout(8000)
    yield page
    context.close()


def sign_in(page, live_server, username="alice"):
    """Sign in through the login form, as a user does, and land on the dashboard."""
    page.goto(live_server.url + "/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(live_server.url + "/")
