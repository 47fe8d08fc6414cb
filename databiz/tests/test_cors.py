"""Cross-origin use of the API: preflights, the headers a frontend on another origin may send and read, and where."""
import datetime

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.core.exceptions import ImproperlyConfigured
from django.test import AsyncClient
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from databiz.env import env_origins
from jobs import stream

pytestmark = pytest.mark.django_db

APP = "https://app.databiz.example"
VITE = "http://localhost:5173"
LIST = "/api/v2/jobs/active"
STREAM = "/api/v2/jobs/stream"
ALLOW_HEADERS = ("accept, authorization, content-type, user-agent, x-csrftoken, x-requested-with, if-none-match, "
                 "last-event-id")
EXPOSE_HEADERS = "ETag, X-Poll-Interval, X-Jobs-Running, X-Jobs-Truncated, Retry-After"
EXPOSED = {"access-control-expose-headers": EXPOSE_HEADERS}


@pytest.fixture
def allowed_origins(settings):
    settings.CORS_ALLOWED_ORIGINS = [APP, VITE]


@pytest.fixture
def hub(monkeypatch, settings):
    """A stream hub of this test's own, whose database calls run in the test's thread and transaction."""
    settings.JOBS_STREAM_TICK = datetime.timedelta(seconds=0.05)
    monkeypatch.setattr(stream.hub, "HUB", stream.StreamHub())
    monkeypatch.setattr(
        stream.hub, "in_database_thread", lambda function, executor=None: sync_to_async(function, thread_sensitive=True)
    )


def cors_headers(response):
    """Return the response's Access-Control-* headers, by lower-case name."""
    headers = {name.lower(): value for name, value in response.headers.items()}
    return {name: value for name, value in headers.items() if name.startswith("access-control-")}


def preflight(path, origin, request_headers):
    return APIClient().options(path, headers={
        "Origin": origin, "access-control-request-method": "GET", "access-control-request-headers": request_headers,
    })


def preflight_answer(origin):
    return {
        "access-control-allow-origin": origin,
        **EXPOSED,
        "access-control-allow-headers": ALLOW_HEADERS,
        "access-control-allow-methods": "GET, OPTIONS, POST",
        "access-control-max-age": "600",
    }


@pytest.mark.parametrize(
    ("path", "request_headers"),
    [(LIST, "authorization,if-none-match"), (f"{LIST}?status=running", "authorization,if-none-match"),
     (STREAM, "authorization,last-event-id")],
    ids=["list", "list-filtered", "stream"],
)
@pytest.mark.parametrize("origin", [APP, VITE])
def test_a_preflight_from_an_allowed_origin_is_answered_before_authentication(
    allowed_origins, path, request_headers, origin
):
    response = preflight(path, origin, request_headers)

    assert (response.status_code, response.content, cors_headers(response), response["Vary"]) == (
        200, b"", preflight_answer(origin), "origin"
    )


def test_a_preflight_over_plain_http_is_answered_not_redirected_to_https(allowed_origins, settings):
    settings.SECURE_SSL_REDIRECT = True

    response = preflight(LIST, VITE, "authorization")

    assert (response.status_code, cors_headers(response)) == (200, preflight_answer(VITE))


def test_a_poll_from_an_allowed_origin_may_read_the_hints_and_the_etag(allowed_origins, auth_client):
    response = auth_client.get(LIST, headers={"Origin": APP})

    assert (response.status_code, cors_headers(response), response["Vary"]) == (
        200, {"access-control-allow-origin": APP, **EXPOSED}, "Authorization, Cookie, origin"
    )


def test_a_conditional_poll_from_an_allowed_origin_gets_its_304_with_the_cors_headers(allowed_origins, auth_client):
    etag = auth_client.get(LIST, headers={"Origin": APP})["ETag"]

    response = auth_client.get(LIST, headers={"Origin": APP, "If-None-Match": etag})

    assert (response.status_code, cors_headers(response)) == (304, {"access-control-allow-origin": APP, **EXPOSED})


def test_a_refusal_carries_the_cors_headers_so_that_the_frontend_can_read_it(allowed_origins):
    response = APIClient().get(LIST, headers={"Origin": APP})

    assert (response.status_code, cors_headers(response)) == (401, {"access-control-allow-origin": APP, **EXPOSED})


def test_the_stream_under_wsgi_refuses_with_the_cors_headers(allowed_origins, auth_client):
    response = auth_client.get(STREAM, headers={"Origin": APP})

    assert (response.status_code, response["Retry-After"], cors_headers(response)) == (
        503, "5", {"access-control-allow-origin": APP, **EXPOSED}
    )


def test_the_stream_under_asgi_answers_a_preflight(allowed_origins):
    response = async_to_sync(AsyncClient().options)(STREAM, headers={
        "Origin": VITE, "access-control-request-method": "GET",
        "access-control-request-headers": "authorization,last-event-id",
    })

    assert (response.status_code, cors_headers(response)) == (200, preflight_answer(VITE))


def test_the_stream_under_asgi_opens_with_the_cors_headers(allowed_origins, hub, user):
    async def first_chunk():
        response = await AsyncClient().get(
            STREAM, headers={"Origin": APP, "Authorization": f"Bearer {AccessToken.for_user(user)}"}
        )
        chunk = await anext(response.streaming_content)
        await response.streaming_content.aclose()
        return response, chunk

    response, chunk = async_to_sync(first_chunk)()

    assert (response.status_code, response["Content-Type"], chunk, cors_headers(response)) == (
        200, "text/event-stream", b"retry: 5000\n\n", {"access-control-allow-origin": APP, **EXPOSED}
    )


def test_an_unauthenticated_stream_under_asgi_is_a_401_the_frontend_can_read(allowed_origins):
    response = async_to_sync(AsyncClient().get)(STREAM, headers={"Origin": APP})

    assert (response.status_code, cors_headers(response)) == (401, {"access-control-allow-origin": APP, **EXPOSED})


@pytest.mark.parametrize(
    "origin",
    ["https://evil.example", "http://app.databiz.example", "https://app.databiz.example:8443",
     "http://localhost:5174", "null"],
    ids=["other-host", "other-scheme", "other-port", "other-dev-port", "null"],
)
def test_an_origin_not_in_the_list_gets_no_cors_headers(allowed_origins, auth_client, origin):
    poll = auth_client.get(LIST, headers={"Origin": origin})
    checked = preflight(LIST, origin, "authorization")

    assert (poll.status_code, cors_headers(poll), checked.status_code, cors_headers(checked)) == (200, {}, 200, {})


def test_by_default_no_origin_is_allowed_and_no_cors_header_is_sent(auth_client):
    poll = auth_client.get(LIST, headers={"Origin": APP})
    checked = preflight(LIST, APP, "authorization")

    assert (poll.status_code, cors_headers(poll), cors_headers(checked)) == (200, {}, {})


@pytest.mark.parametrize("path", ["/healthz", "/admin/", "/admin/login/", "/"])
def test_pages_outside_the_api_get_no_cors_headers(allowed_origins, path):
    page = APIClient().get(path, headers={"Origin": APP})
    checked = preflight(path, APP, "authorization")

    assert (cors_headers(page), "Vary" in checked and "origin" in checked["Vary"], cors_headers(checked)) == (
        {}, False, {}
    )


def test_credentials_are_allowed_only_when_asked_for(allowed_origins, auth_client, settings):
    settings.CORS_ALLOW_CREDENTIALS = True

    response = auth_client.get(LIST, headers={"Origin": APP})

    assert cors_headers(response) == {
        "access-control-allow-origin": APP, "access-control-allow-credentials": "true", **EXPOSED
    }


NAME = "DATABIZ_TEST_VARIABLE"
ORIGINS = ("origins, comma-separated, each scheme://host[:port] with no path "
           "(\"https://app.databiz.example,http://localhost:5173\").")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://app.databiz.example, http://localhost:5173", [APP, VITE]),
        ("HTTPS://App.DataBiz.example:443,http://localhost:80", [APP, "http://localhost"]),
        ("http://[::1]:5173,http://127.0.0.1:8080", ["http://[::1]:5173", "http://127.0.0.1:8080"]),
    ],
    ids=["two", "written-as-browsers-send-them", "addresses"],
)
def test_origins_are_read_as_browsers_send_them(monkeypatch, value, expected):
    monkeypatch.setenv(NAME, value)

    assert env_origins(NAME, []) == expected


@pytest.mark.parametrize("value", [None, "", " , "], ids=["unset", "empty", "commas"])
def test_no_origin_is_allowed_by_default(monkeypatch, value):
    if value is None:
        monkeypatch.delenv(NAME, raising=False)
    else:
        monkeypatch.setenv(NAME, value)

    assert env_origins(NAME, []) == []


@pytest.mark.parametrize(
    "value",
    ["https://app.databiz.example/", "https://app.databiz.example/app", "app.databiz.example", "localhost:5173", "*",
     "https://*.databiz.example", "null", "ftp://app.databiz.example", "https://app.databiz.example?x=1",
     "https://user@app.databiz.example", "http://localhost:99999", "http://localhost:0",
     "https://app.databiz.example,*"],
    ids=["slash", "path", "no-scheme", "host-port", "star", "wildcard", "null", "ftp", "query", "user", "port-range",
         "port-zero", "one-bad-of-two"],
)
def test_a_bad_origin_is_refused_naming_the_variable_and_what_it_takes(monkeypatch, value):
    monkeypatch.setenv(NAME, value)

    with pytest.raises(ImproperlyConfigured) as error:
        env_origins(NAME, [])

    assert str(error.value) == f"{NAME}={value!r} is not valid: {NAME} takes {ORIGINS}"
