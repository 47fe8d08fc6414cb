"""The frontend's package (clients/js) in a real browser against the live service.

A minimal React page built from the package with the hook (clients/js/example, `npm run build`) is served from an
origin of its own, as DataBiz's frontend is, and calls the API cross-origin with a Bearer token minted as DataBiz's
backend mints it (the external-issuer recipe, HS256).
"""
import datetime
import functools
import http.server
import json
import re
import threading
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlencode, urlsplit

import jwt
import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from jobs.tests import DATABIZ_USER, SHARED_SECRET

from .conftest import flip

EXAMPLE = Path(settings.BASE_DIR) / "clients" / "js" / "example"
USER = SimpleNamespace(pk=DATABIZ_USER)
STREAM, ACTIVE = "/api/v2/jobs/stream", "/api/v2/jobs/active"

pytestmark = pytest.mark.django_db(transaction=True)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def static_origins():
    """The example page served by two static servers: two origins, only the first of which the API allows."""
    assert (EXAMPLE / "dist" / "app.js").exists(), "build the example page first: cd clients/js && npm run build"
    servers = [
        http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=EXAMPLE))
        for _ in range(2)
    ]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield [f"http://127.0.0.1:{server.server_address[1]}" for server in servers]
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def app_origin(static_origins, settings):
    """The origin of the frontend, in the API's CORS allow-list."""
    settings.CORS_ALLOWED_ORIGINS = [static_origins[0]]
    return static_origins[0]


@pytest.fixture
def databiz_tokens(external_issuer):
    """AUTH_MODE=external with the shared-secret recipe; mints DataBiz's tokens for its user, valid `seconds`."""
    external_issuer()

    def mint(seconds=600):
        now = int(time.time())
        return jwt.encode({"sub": str(DATABIZ_USER), "iat": now, "exp": now + seconds}, SHARED_SECRET, "HS256")

    return mint


@pytest.fixture
def open_app(browser):
    """Open the example page on `origin`, talking to `api` with `token`; the requests it makes are recorded."""
    contexts = []

    def open_page(origin, api, token, **params):
        context = browser.new_context()
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(8000)
        page.requests = []
        page.on("request", lambda request: page.requests.append(SimpleNamespace(
            url=request.url, path=urlsplit(request.url).path, method=request.method, headers=request.headers,
        )))
        page.add_init_script(f"window.jobsTest = {{token: {json.dumps(token)}, tokenCalls: 0, unauthorized: 0}};")
        page.goto(f"{origin}/index.html?{urlencode({'api': api, 'poll': 500, 'retry': 500, **params})}")
        return page

    yield open_page
    for context in contexts:
        context.close()


def requests_to(page, path):
    return [request for request in page.requests if request.path == path and request.method == "GET"]


def streams_open(server):
    """The server's own count of open streams, as Prometheus scrapes it from /metrics."""
    with urllib.request.urlopen(f"{server.url}/metrics") as response:
        metrics = response.read().decode()
    return float(re.search(r"^jobs_streams_open (\S+)$", metrics, re.MULTILINE)[1])


def test_a_flip_reaches_the_page_through_the_stream_within_3_seconds_without_polling(
    asgi_server, app_origin, databiz_tokens, rows, open_app
):
    dataset = rows(USER, original_filename="sales.csv", status="new")
    page = open_app(app_origin, asgi_server.url, databiz_tokens())
    expect(page.locator("#mode")).to_have_text("stream")
    expect(page.locator(".job .status")).to_have_text(["running"])

    flip(dataset, status="inactive")

    # The default tick (JOBS_STREAM_TICK, 2 s) reads the change; the event carries it to the page.
    expect(page.locator(".job .status")).to_have_text(["completed"], timeout=3000)
    expect(page.locator("#running")).to_have_text("0")
    token = page.evaluate("window.jobsTest.token")
    assert (len(requests_to(page, ACTIVE)), requests_to(page, STREAM)[0].headers["authorization"]) == (
        0, f"Bearer {token}"
    )
    assert [request.url for request in page.requests if token in request.url] == []  # never a token in a URL


def test_against_the_wsgi_server_the_page_polls_with_if_none_match_and_shows_the_flip(
    live_server, fast_polling, app_origin, databiz_tokens, rows, open_app
):
    dataset = rows(USER, original_filename="sales.csv", status="new")
    page = open_app(app_origin, live_server.url, databiz_tokens())
    expect(page.locator("#mode")).to_have_text("polling")  # the WSGI server answers the stream 503
    expect(page.locator(".job .status")).to_have_text(["running"])
    page.wait_for_timeout(1200)  # a few polls, each answered 304

    flip(dataset, status="inactive")

    expect(page.locator(".job .status")).to_have_text(["completed"], timeout=3000)
    polls = requests_to(page, ACTIVE)
    assert [("if-none-match" in poll.headers) for poll in polls[:2]] == [False, True]
    assert requests_to(page, STREAM)[0].headers["authorization"] == polls[0].headers["authorization"]


def test_a_restarted_server_is_rejoined_with_last_event_id_and_nothing_rendered_twice(
    asgi_server, app_origin, databiz_tokens, rows, open_app, settings
):
    settings.JOBS_STREAM_RETRY = datetime.timedelta(seconds=0.5)
    done = rows(USER, original_filename="products.json", status="inactive")
    page = open_app(app_origin, asgi_server.url, databiz_tokens())
    expect(page.locator("#mode")).to_have_text("stream")
    expect(page.locator(".job .filename")).to_have_text(["products.json"])
    page.evaluate("""() => {
        window.mutations = 0;
        new MutationObserver((records) => { window.mutations += records.length; })
          .observe(document.querySelector("ul"), {childList: true, subtree: true, characterData: true});
    }""")

    asgi_server.stop()  # a deploy: every stream ends with its retry: hint
    expect(page.locator("#mode")).not_to_have_text("stream")
    asgi_server.start()  # on the same port

    expect(page.locator("#mode")).to_have_text("stream", timeout=10000)
    page.wait_for_timeout(2500)  # more than a tick after the reconnection
    # The first event's id is the ETag of the list then; the list has not changed since.
    etag = Client().get(ACTIVE, HTTP_AUTHORIZATION=f"Bearer {page.evaluate('window.jobsTest.token')}")["ETag"]
    streams = requests_to(page, STREAM)
    assert (streams[0].headers.get("last-event-id"), streams[-1].headers.get("last-event-id")) == (None, etag)
    assert page.evaluate("window.mutations") == 0, "the unchanged list was rendered again"
    expect(page.locator(".job .filename")).to_have_text(["products.json"])

    flip(done, status="error", error_message="Sheet 'Orders' is empty.")
    expect(page.locator(".job .status")).to_have_text(["failed"], timeout=3000)


def test_a_token_that_expires_is_renewed_through_get_token_and_the_page_goes_on(
    asgi_server, app_origin, databiz_tokens, rows, open_app
):
    dataset = rows(USER, original_filename="sales.csv", status="new")
    page = open_app(app_origin, asgi_server.url, databiz_tokens(seconds=6))  # time to open the stream first
    expect(page.locator("#mode")).to_have_text("stream")
    renewed = databiz_tokens()
    page.evaluate(f"window.jobsTest.token = {json.dumps(renewed)}")  # what the frontend's token refresh does

    # At the first token's expiry the server sends `event: reauthenticate`; the page asks getToken and reconnects.
    wait_until(lambda: page.evaluate("window.jobsTest.tokenCalls") == 2)
    flip(dataset, status="inactive")

    expect(page.locator(".job .status")).to_have_text(["completed"], timeout=3000)
    assert (page.evaluate("window.jobsTest"), requests_to(page, STREAM)[-1].headers["authorization"]) == (
        {"token": renewed, "tokenCalls": 2, "unauthorized": 0}, f"Bearer {renewed}"
    )


def test_a_hidden_page_makes_no_request_and_closes_its_stream(
    asgi_server, app_origin, databiz_tokens, rows, open_app
):
    rows(USER, original_filename="sales.csv", status="new")
    elsewhere = streams_open(asgi_server)  # the gauge is the process's, and earlier tests' hubs counted in it
    page = open_app(app_origin, asgi_server.url, databiz_tokens())
    expect(page.locator("#mode")).to_have_text("stream")
    wait_until(lambda: streams_open(asgi_server) == elsewhere + 1)
    before = len(page.requests)

    # Headless Chromium keeps every page visible: hide this one as the browser does a background tab.
    page.evaluate("""() => {
        Object.defineProperty(document, "hidden", {configurable: true, get: () => true});
        Object.defineProperty(document, "visibilityState", {configurable: true, get: () => "hidden"});
        document.dispatchEvent(new Event("visibilitychange"));
    }""")
    wait_until(lambda: streams_open(asgi_server) == elsewhere)
    page.wait_for_timeout(3000)

    assert page.requests[before:] == []


def test_unmounting_closes_the_stream(asgi_server, app_origin, databiz_tokens, rows, open_app):
    rows(USER, original_filename="sales.csv", status="new")
    elsewhere = streams_open(asgi_server)  # the gauge is the process's, and earlier tests' hubs counted in it
    page = open_app(app_origin, asgi_server.url, databiz_tokens())
    expect(page.locator("#mode")).to_have_text("stream")
    wait_until(lambda: streams_open(asgi_server) == elsewhere + 1)

    page.get_by_role("button", name="Unmount").click()

    wait_until(lambda: streams_open(asgi_server) == elsewhere)
    page.wait_for_timeout(1000)
    assert [request.path for request in page.requests] == ["/index.html", "/dist/app.js", STREAM]


@pytest.mark.parametrize("origin, shown", [(0, ["sales.csv"]), (1, [])])
def test_only_an_allowed_origin_reads_the_api(
    origin, shown, live_server, fast_polling, static_origins, app_origin, databiz_tokens, rows, open_app
):
    rows(USER, original_filename="sales.csv", status="new")

    page = open_app(static_origins[origin], live_server.url, databiz_tokens())

    expect(page.locator("#mode")).to_have_text("polling" if shown else "offline")
    expect(page.locator(".job .filename")).to_have_text(shown)
    if not shown:
        expect(page.locator("#error")).to_have_text("network")  # the browser hides a blocked answer entirely


def wait_until(condition, seconds=8):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
