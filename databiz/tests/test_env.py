import datetime
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from databiz.env import (
    env_bool,
    env_choice,
    env_database_url,
    env_duration,
    env_float,
    env_int,
    env_json_object,
    env_list,
    env_networks,
    env_rate,
    env_str,
    env_text_or_file,
)

ROOT = Path(__file__).resolve().parents[2]
NAME = "DATABIZ_TEST_VARIABLE"
REFUSED = "is not valid: DATABIZ_TEST_VARIABLE takes"
DURATION = (f"DATABIZ_TEST_VARIABLE='{{}}' {REFUSED} a duration: seconds (\"3600\"), \"HH:MM:SS\" or ISO 8601 "
            "(\"PT1H\")")
RATE = f"DATABIZ_TEST_VARIABLE='{{}}' {REFUSED} a rate: a count of at least 1 per s, min, hour or day (\"120/min\")."
DATABASE_URL = (f"DATABIZ_TEST_VARIABLE='{{}}' {REFUSED} a PostgreSQL or SQLite URL: "
                "\"postgres://user@host:5432/name\" or \"sqlite:///path/to/file.sqlite3\"")
IN_MEMORY = " (not an in-memory database)."


@pytest.mark.parametrize(
    ("helper", "value", "expected"),
    [
        (lambda: env_str(NAME, "x"), "  redis://cache:6379/0 ", "redis://cache:6379/0"),
        (lambda: env_bool(NAME, False), "On", True),
        (lambda: env_bool(NAME, True), "no", False),
        (lambda: env_int(NAME, 1, minimum=1), "100", 100),
        (lambda: env_float(NAME, 1.0, minimum=1), "2.5", 2.5),
        (lambda: env_duration(NAME, None), "3600", datetime.timedelta(hours=1)),
        (lambda: env_duration(NAME, None), "PT15M", datetime.timedelta(minutes=15)),
        (lambda: env_list(NAME, []), "a, b,,c ", ["a", "b", "c"]),
        (lambda: env_choice(NAME, ("local", "external"), "local"), "External", "external"),
        (lambda: env_json_object(NAME, None), '{"queued": "running"}', {"queued": "running"}),
        (lambda: env_text_or_file(NAME), "-----BEGIN PUBLIC KEY-----", "-----BEGIN PUBLIC KEY-----"),
        (lambda: env_rate(NAME, None), "120/min", "120/min"),
        (lambda: env_networks(NAME, []), "127.0.0.1, 10.0.0.0/8,::1", ["127.0.0.1", "10.0.0.0/8", "::1"]),
        (lambda: env_database_url(NAME, None)["ENGINE"], "postgres://jobs@db:5432/databiz",
         "django.db.backends.postgresql"),
    ],
    ids=["str", "bool-on", "bool-no", "int", "float", "duration-seconds", "duration-iso", "list", "choice", "json",
         "text", "rate", "networks", "database-url"],
)
def test_each_helper_reads_its_variable(helper, value, expected, monkeypatch):
    monkeypatch.setenv(NAME, value)

    assert helper() == expected


@pytest.mark.parametrize(
    "helper",
    [lambda: env_str(NAME, "d"), lambda: env_bool(NAME, "d"), lambda: env_int(NAME, "d"),
     lambda: env_float(NAME, "d"), lambda: env_duration(NAME, "d"), lambda: env_list(NAME, "d"),
     lambda: env_choice(NAME, ("a",), "d"), lambda: env_json_object(NAME, "d"), lambda: env_text_or_file(NAME, "d")],
    ids=["str", "bool", "int", "float", "duration", "list", "choice", "json", "text"],
)
@pytest.mark.parametrize("value", [None, "", "   "], ids=["unset", "empty", "blank"])
def test_each_helper_gives_its_default_when_the_variable_is_unset_or_blank(helper, value, monkeypatch):
    if value is None:
        monkeypatch.delenv(NAME, raising=False)
    else:
        monkeypatch.setenv(NAME, value)

    assert helper() == "d"


@pytest.mark.parametrize(
    ("helper", "value", "message"),
    [
        (lambda: env_bool(NAME, False), "maybe",
         "DATABIZ_TEST_VARIABLE='maybe' is not valid: DATABIZ_TEST_VARIABLE takes one of 1, true, yes, on, 0, false, "
         "no, off."),
        (lambda: env_int(NAME, 1), "ten",
         "DATABIZ_TEST_VARIABLE='ten' is not valid: DATABIZ_TEST_VARIABLE takes a whole number."),
        (lambda: env_int(NAME, 1, minimum=1), "0",
         "DATABIZ_TEST_VARIABLE='0' is not valid: DATABIZ_TEST_VARIABLE takes a whole number of at least 1."),
        (lambda: env_float(NAME, 1.0, minimum=1), "nan",
         "DATABIZ_TEST_VARIABLE='nan' is not valid: DATABIZ_TEST_VARIABLE takes a number of at least 1."),
        (lambda: env_duration(NAME, None), "an hour",
         "DATABIZ_TEST_VARIABLE='an hour' is not valid: DATABIZ_TEST_VARIABLE takes a duration: seconds (\"3600\"), "
         "\"HH:MM:SS\" or ISO 8601 (\"PT1H\")."),
        (lambda: env_choice(NAME, ("local", "external"), "local"), "oidc",
         "DATABIZ_TEST_VARIABLE='oidc' is not valid: DATABIZ_TEST_VARIABLE takes one of local, external."),
        (lambda: env_json_object(NAME, None), '["new"]',
         "DATABIZ_TEST_VARIABLE='[\"new\"]' is not valid: DATABIZ_TEST_VARIABLE takes a JSON object of strings, e.g. "
         "{\"new\": \"running\"}."),
        (lambda: env_json_object(NAME, None), "{new: running}",
         "DATABIZ_TEST_VARIABLE='{new: running}' is not valid: DATABIZ_TEST_VARIABLE takes a JSON object of strings, "
         "e.g. {\"new\": \"running\"}."),
        (lambda: env_int(NAME, 1, minimum=1, maximum=10), "11",
         "DATABIZ_TEST_VARIABLE='11' is not valid: DATABIZ_TEST_VARIABLE takes a whole number from 1 to 10."),
        (lambda: env_float(NAME, 1.0, minimum=1, maximum=60), "inf",
         "DATABIZ_TEST_VARIABLE='inf' is not valid: DATABIZ_TEST_VARIABLE takes a number from 1 to 60."),
        (lambda: env_duration(NAME, None, minimum=datetime.timedelta(milliseconds=1)), "0", DURATION + " of at least "
         "0.001 s."),
        (lambda: env_duration(NAME, None, minimum=datetime.timedelta(0), maximum=datetime.timedelta(minutes=5)),
         "999999999", DURATION + " from 0 s to 5 minutes."),
        (lambda: env_duration(NAME, None, maximum=datetime.timedelta(days=365)), "99999999999999999999",
         DURATION + " of at most 365 days."),
        (lambda: env_rate(NAME, None), "100/month", RATE),
        (lambda: env_rate(NAME, None), "0/min", RATE),
        (lambda: env_networks(NAME, []), "10.0.0.0/33",
         "DATABIZ_TEST_VARIABLE='10.0.0.0/33' is not valid: DATABIZ_TEST_VARIABLE takes IP addresses or networks, "
         "comma-separated (\"10.0.0.0/8\")."),
        (lambda: env_database_url(NAME, None), "garbage", DATABASE_URL + "."),
        (lambda: env_database_url(NAME, None), "mysql://jobs@db/databiz", DATABASE_URL + IN_MEMORY),
        (lambda: env_database_url(NAME, None), "sqlite://", DATABASE_URL + IN_MEMORY),
    ],
    ids=["bool", "int", "int-minimum", "float-nan", "duration", "choice", "json-list", "json-broken", "int-range",
         "float-inf", "duration-minimum", "duration-maximum", "duration-overflow", "rate-month", "rate-zero",
         "networks", "database-garbage", "database-mysql", "database-in-memory"],
)
def test_a_bad_value_is_refused_naming_the_variable_and_what_it_takes(helper, value, message, monkeypatch):
    monkeypatch.setenv(NAME, value)

    with pytest.raises(ImproperlyConfigured) as error:
        helper()

    assert str(error.value) == message.replace("{}", value)


def test_text_or_file_reads_the_file_the_file_variable_names(monkeypatch, tmp_path):
    (tmp_path / "key.pem").write_text("-----BEGIN PUBLIC KEY-----\n")
    monkeypatch.setenv(NAME, "ignored")
    monkeypatch.setenv(f"{NAME}_FILE", str(tmp_path / "key.pem"))

    assert env_text_or_file(NAME) == "-----BEGIN PUBLIC KEY-----\n"


def test_text_or_file_refuses_a_file_it_cannot_read(monkeypatch, tmp_path):
    monkeypatch.setenv(f"{NAME}_FILE", str(tmp_path / "missing.pem"))

    with pytest.raises(ImproperlyConfigured) as error:
        env_text_or_file(NAME)

    assert str(error.value) == (
        f"DATABIZ_TEST_VARIABLE_FILE='{tmp_path / 'missing.pem'}' is not valid: DATABIZ_TEST_VARIABLE_FILE takes the "
        "path of a readable file (No such file or directory)."
    )


def start(env):
    """Start Django with the given environment, as a server process would; return (exit code, last error line)."""
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); import sys, databiz.urls; "
         "print(sorted(m for m in sys.modules if m.startswith('databiz.demo')))"],
        cwd=ROOT, env={"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "databiz.settings",
                       "DJANGO_SECRET_KEY": "x" * 50, **env},
        capture_output=True, text=True,
    )
    return result.returncode, (result.stdout + result.stderr).strip().splitlines()[-1]


def test_a_bad_value_stops_start_up_naming_the_variable():
    assert start({"JOBS_MAX_RESULTS": "lots"}) == (
        1, "databiz.env.BadEnvironmentVariable: JOBS_MAX_RESULTS='lots' is not valid: JOBS_MAX_RESULTS takes "
           "a whole number from 1 to 10000."
    )


def test_production_settings_leave_the_demo_out_and_import_none_of_it():
    assert start({}) == (0, "[]")


def test_manage_py_says_which_variable_is_bad_in_one_line():
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, capture_output=True, text=True,
        env={"PATH": os.environ["PATH"], "DJANGO_SECRET_KEY": "x" * 50, "JOBS_THROTTLE_RATE": "100/month"},
    )

    assert (result.returncode, result.stdout, result.stderr) == (1, "", (
        "Configuration error: JOBS_THROTTLE_RATE='100/month' is not valid: JOBS_THROTTLE_RATE takes a rate: a count "
        "of at least 1 per s, min, hour or day (\"120/min\").\n"
    ))
