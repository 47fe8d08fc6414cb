"""The service against its own OpenAPI description: Schemathesis, every check, bounded examples."""
import datetime

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, settings
from rest_framework_simplejwt.tokens import AccessToken
from schemathesis.specs.openapi.checks import positive_data_acceptance

from databiz.wsgi import application

CALLS = {"count": 0}


def counting(app):
    """Wrap a WSGI application so that every request Schemathesis makes is counted."""

    def counted(environ, start_response):
        CALLS["count"] += 1
        return app(environ, start_response)

    return counted


@pytest.fixture(scope="module", autouse=True)
def report_calls():
    """Print how many requests the run made (visible with `pytest -s`)."""
    yield
    print(f"\nSchemathesis made {CALLS['count']} requests.")


@pytest.fixture
def api_schema(db, settings, unthrottled):
    """The schema as the service serves it, bound to the service's WSGI application."""
    # The WSGI handler would close the test's connection after each request (Django's test client avoids that too).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    # Token requests with made-up usernames still hash the password once: keep it cheap.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    yield schemathesis.openapi.from_wsgi("/api/v2/schema?format=json", counting(application))
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def bearer_headers(user, other_user, make_dataset):
    """A valid Bearer token of a user who has running, completed and failed jobs (and another user's)."""
    now = timezone.now()
    for status in ("new", "inactive", "error", "active"):
        make_dataset(created_by=user.pk, status=status, created_at=now - datetime.timedelta(minutes=5), updated_at=now)
    make_dataset(created_by=user.pk, status="new", created_at=now - datetime.timedelta(hours=2))
    make_dataset(created_by=other_user.pk, status="new", created_at=now)
    return {"Authorization": f"Bearer {AccessToken.for_user(user)}"}


# The stream waits on an event loop: only an ASGI server serves it, and this WSGI test client gets its 503
# (jobs/tests/test_stream.py tests it under ASGI).
schema = schemathesis.pytest.from_fixture("api_schema").exclude(path="/api/v2/jobs/stream")


@schema.parametrize()
@settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_every_operation_conforms_to_the_schema_and_never_errors(case, bearer_headers):
    # A history cursor is opaque: any string is one to the schema, only those the service gave are taken (a 400
    # names `cursor` otherwise), so a made-up cursor is no valid request refused.
    made_up_cursor = case.operation.path == "/api/v2/jobs/history" and "cursor" in (case.query or {})
    case.call_and_validate(headers=bearer_headers,
                           excluded_checks=[positive_data_acceptance] if made_up_cursor else None)
