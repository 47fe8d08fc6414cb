import json
import logging
import os
import subprocess
import sys

import pytest
from rest_framework_simplejwt.tokens import AccessToken

from databiz.logs import JsonFormatter


def request_records(caplog):
    return [record for record in caplog.records if record.name == "jobs.requests"]


@pytest.mark.django_db
def test_one_line_per_api_request_with_user_id_and_never_the_token(client, user, now, caplog):
    token = str(AccessToken.for_user(user))
    caplog.set_level(logging.INFO, logger="jobs.requests")

    client.get("/api/v2/jobs/active?status=running", HTTP_AUTHORIZATION=f"Bearer {token}")
    client.get("/api/v2/jobs/active", HTTP_AUTHORIZATION="Bearer not-a-token")
    client.get("/healthz")

    records = request_records(caplog)
    assert [record.request_fields | {"duration_ms": None} for record in records] == [
        {"method": "GET", "path": "/api/v2/jobs/active", "status": 200, "duration_ms": None, "user_id": str(user.pk)},
        {"method": "GET", "path": "/api/v2/jobs/active", "status": 401, "duration_ms": None, "user_id": None},
    ]
    assert records[0].getMessage().startswith("GET /api/v2/jobs/active 200 ")
    assert records[0].getMessage().endswith(f"ms user={user.pk}")
    assert all(isinstance(record.request_fields["duration_ms"], float) for record in records)
    assert token not in caplog.text and "not-a-token" not in caplog.text


@pytest.mark.django_db
def test_json_formatter_writes_one_json_object_per_line(client, user, now, caplog):
    caplog.set_level(logging.INFO, logger="jobs.requests")
    client.get("/api/v2/jobs/active")

    line = JsonFormatter().format(request_records(caplog)[0])

    assert "\n" not in line
    assert json.loads(line) | {"time": None, "duration_ms": None} == {
        "time": None,
        "level": "INFO",
        "logger": "jobs.requests",
        "message": json.loads(line)["message"],
        "method": "GET",
        "path": "/api/v2/jobs/active",
        "status": 401,
        "duration_ms": None,
        "user_id": None,
    }


def test_log_format_json_prints_json_lines_to_stdout():
    script = (
        "import django; django.setup(); from django.test import Client; "
        "Client().get('/api/v2/jobs/active', HTTP_HOST='localhost')"
    )
    env = {**os.environ, "LOG_FORMAT": "json", "DJANGO_SETTINGS_MODULE": "databiz.settings"}

    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)

    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(line["logger"], line["path"], line["status"]) for line in lines if "path" in line] == [
        ("jobs.requests", "/api/v2/jobs/active", 401)
    ]
