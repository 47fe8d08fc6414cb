import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache.backends.redis import RedisCache
from django.core.management import call_command
from django.db import connection
from rest_framework.throttling import ScopedRateThrottle

from databiz.demo.ddl import create_datasets_table
from jobs.throttling import PollRateThrottle

from . import ago

URL = "/api/v2/jobs/active"
ROOT = Path(__file__).resolve().parents[2]
LEAKS = ("Traceback", "SELECT", "File \"", "SECRET_KEY", "django-insecure", "Bearer ey")


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v2/nothing", "/api/v2/jobs/active/extra", "/nothing-here"])
def test_unknown_urls_are_a_json_404(client, path):
    response = client.get(path)

    assert (response.status_code, response["Content-Type"], response.json()) == (
        404, "application/json", {"detail": "Not found."}
    )


@pytest.fixture
def low_rates(settings, monkeypatch):
    settings.JOBS_THROTTLE_RATE = "3/min"
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth": "2/min"})


@pytest.mark.django_db
def test_polling_faster_than_the_rate_is_a_429_with_retry_after(auth_client, low_rates):
    statuses = [auth_client.get(URL).status_code for _ in range(4)]
    refused = auth_client.get(URL)

    assert statuses == [200, 200, 200, 429]
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert refused.json()["detail"].startswith("Request was throttled.")


@pytest.mark.django_db
def test_each_user_has_a_rate_of_their_own(auth_client, api_client, other_user, low_rates):
    from rest_framework_simplejwt.tokens import AccessToken

    for _ in range(3):
        auth_client.get(URL)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(other_user)}")

    assert (auth_client.get(URL).status_code, api_client.get(URL).status_code) == (429, 200)


@pytest.mark.django_db
def test_token_endpoint_slows_down_password_guessing(api_client, user, low_rates):
    statuses = [
        api_client.post("/api/v2/auth/token", {"username": "alice", "password": "guess"}, format="json").status_code
        for _ in range(3)
    ]

    assert statuses == [401, 401, 429]


@pytest.mark.django_db
def test_throttling_counts_in_a_shared_redis_cache(auth_client, user, low_rates, monkeypatch):
    location = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
    redis_cache = RedisCache(location, {"KEY_PREFIX": secrets.token_hex(4)})
    monkeypatch.setattr(PollRateThrottle, "cache", redis_cache)
    try:
        statuses = [auth_client.get(URL).status_code for _ in range(4)]
        # A second process sharing the cache sees the same count.
        keys = redis_cache._cache.get_client().keys(f"{redis_cache.key_prefix}:*")
    finally:
        client = redis_cache._cache.get_client()
        for key in client.keys(f"{redis_cache.key_prefix}:*"):
            client.delete(key)

    assert (statuses, keys) == ([200, 200, 200, 429], [f"{redis_cache.key_prefix}:1:throttle_jobs_{user.pk}".encode()])


@pytest.mark.django_db
def test_an_unreachable_redis_lets_polls_through_and_the_token_endpoint_answers_503(
    auth_client, api_client, user, monkeypatch, caplog
):
    nowhere = RedisCache("redis://127.0.0.1:1/0", {"OPTIONS": {"socket_connect_timeout": 0.2}})
    monkeypatch.setattr(PollRateThrottle, "cache", nowhere)
    monkeypatch.setattr(ScopedRateThrottle, "cache", nowhere)

    polled = auth_client.get(URL)
    token = api_client.post("/api/v2/auth/token", {"username": "alice", "password": "s3cret-pass"}, format="json")

    assert (polled.status_code, polled.json()) == (200, [])
    assert "Polls are not throttled: the shared cache cannot be reached." in caplog.text
    assert (token.status_code, token["Retry-After"], token.json()) == (503, "5", {
        "detail": "The jobs service cannot reach its shared cache right now. Try again shortly.",
        "code": "cache_unavailable",
    })


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("ddl", "detail"),
    [
        ("DROP TABLE datasets", "The jobs service cannot read the datasets table: The datasets table does not exist."),
        (
            "ALTER TABLE datasets RENAME COLUMN status TO state",
            "The jobs service cannot read the datasets table: The datasets table has no column 'status'.",
        ),
    ],
)
def test_missing_table_or_column_is_a_503_that_says_so(auth_client, ddl, detail):
    try:
        with connection.cursor() as cursor:
            cursor.execute(ddl)
        response = auth_client.get(URL)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS datasets")
        create_datasets_table()

    assert (response.status_code, response["Retry-After"]) == (503, "5")
    assert response.json() == {"detail": detail, "code": "datasets_unreadable"}
    assert not any(leak in response.content.decode() for leak in LEAKS)


@pytest.mark.django_db
def test_system_check_names_a_missing_column(capsys):
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE datasets DROP COLUMN error_message")

    call_command("check")

    assert "jobs.W001) The datasets table has no column 'error_message'." in capsys.readouterr().err


@pytest.mark.django_db
def test_status_map_to_an_unknown_job_status_is_a_check_error(settings):
    from django.core import checks

    settings.JOBS_STATUS_MAP = {"new": "queued"}

    errors = [message.id for message in checks.run_checks() if message.id.startswith("jobs.E")]

    assert errors == ["jobs.E001"]


@pytest.mark.django_db
def test_error_bodies_never_leak(auth_client, make_dataset, user):
    make_dataset(created_by=user.pk, status="error", error_message="boom\nTraceback (most recent call last):\n x",
                 updated_at=ago(minutes=1))
    bodies = [
        auth_client.get(URL).content,
        auth_client.get(URL + "?status=' OR 1=1 --").content,
        auth_client.post(URL).content,
        auth_client.get("/api/v2/nope").content,
    ]

    assert not any(leak.encode() in body for body in bodies for leak in LEAKS)


def test_deploy_check_with_production_settings_reports_nothing(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "DATABIZ_"))},
        "DJANGO_SETTINGS_MODULE": "databiz.settings",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
    }
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, cwd=ROOT)
    # The table as the imports service has it; production settings leave the demo app out.
    subprocess.run([sys.executable, "-c", "import django; django.setup(); "
                    "from databiz.demo.ddl import create_datasets_table; create_datasets_table()"],
                   env=env, check=True, cwd=ROOT)

    result = subprocess.run([*manage, "check", "--deploy", "--fail-level", "WARNING"], env=env, cwd=ROOT,
                            capture_output=True, text=True)

    assert (result.returncode, result.stdout.strip(), result.stderr.strip()) == (
        0, "System check identified no issues (2 silenced).", ""
    )
