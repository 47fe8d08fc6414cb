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
    env_duration,
    env_float,
    env_int,
    env_json_object,
    env_list,
    env_str,
    env_text_or_file,
)

ROOT = Path(__file__).resolve().parents[2]
NAME = "DATABIZ_TEST_VARIABLE"


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
    ],
    ids=["str", "bool-on", "bool-no", "int", "float", "duration-seconds", "duration-iso", "list", "choice", "json",
         "text"],
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
    ],
    ids=["bool", "int", "int-minimum", "float-nan", "duration", "choice", "json-list", "json-broken"],
)
def test_a_bad_value_is_refused_naming_the_variable_and_what_it_takes(helper, value, message, monkeypatch):
    monkeypatch.setenv(NAME, value)

    with pytest.raises(ImproperlyConfigured) as error:
        helper()

    assert str(error.value) == message


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
        1, "django.core.exceptions.ImproperlyConfigured: JOBS_MAX_RESULTS='lots' is not valid: JOBS_MAX_RESULTS takes "
           "a whole number of at least 1."
    )


def test_production_settings_leave_the_demo_out_and_import_none_of_it():
    assert start({}) == (0, "[]")
