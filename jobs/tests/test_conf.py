import datetime
import os

import pytest
from django.db import connection

from jobs import conf
from jobs.checks import check_jobs_settings
from jobs.conf import SETTINGS, jobs_settings

PROGRESS = ("JOBS_PROGRESS", "JOBS_PROGRESS_HISTORY", "JOBS_PROGRESS_MIN_SAMPLE", "JOBS_PROGRESS_CACHE")


def test_defaults_are_the_documented_ones():
    assert (
        conf.status_map(), jobs_settings.JOBS_RETENTION, jobs_settings.JOBS_STALL_AFTER, jobs_settings.JOBS_MAX_RESULTS
    ) == ({"new": "running", "inactive": "completed", "error": "failed"}, datetime.timedelta(hours=1),
          datetime.timedelta(hours=1), 100)


def test_settings_override_the_defaults_at_call_time(settings):
    settings.JOBS_STATUS_MAP = {"uploading": "running"}
    settings.JOBS_RETENTION = datetime.timedelta(days=1)
    settings.JOBS_STALL_AFTER = datetime.timedelta(minutes=5)
    settings.JOBS_MAX_RESULTS = 7

    assert (
        conf.status_map(), jobs_settings.JOBS_RETENTION, jobs_settings.JOBS_STALL_AFTER, jobs_settings.JOBS_MAX_RESULTS
    ) == ({"uploading": "running"}, datetime.timedelta(days=1), datetime.timedelta(minutes=5), 7)


def test_a_setting_set_to_none_has_its_default(settings):
    settings.JOBS_STREAM_TICK = None

    assert jobs_settings.JOBS_STREAM_TICK == datetime.timedelta(seconds=2)


def test_a_name_that_is_not_a_jobs_setting_is_an_attribute_error():
    with pytest.raises(AttributeError, match="'JOBS_RETENTON' is not a jobs setting"):
        jobs_settings.JOBS_RETENTON


@pytest.mark.django_db
def test_suite_runs_on_the_database_ci_asked_for():
    # .ci/run names the vendor it means to test, so a wrong DATABASE_URL cannot pass on SQLite by accident.
    expected = os.environ.get("EXPECTED_DB_VENDOR", connection.vendor)

    assert connection.vendor == expected


def test_progress_defaults_are_the_documented_ones():
    assert (conf.estimates_progress(), *(getattr(jobs_settings, name) for name in PROGRESS[1:])) == (
        True, datetime.timedelta(days=7), 10, datetime.timedelta(minutes=10)
    )


def test_progress_settings_override_the_defaults_at_call_time(settings):
    settings.JOBS_PROGRESS = "fixed"
    settings.JOBS_PROGRESS_HISTORY = datetime.timedelta(days=30)
    settings.JOBS_PROGRESS_MIN_SAMPLE = 3
    settings.JOBS_PROGRESS_CACHE = datetime.timedelta(seconds=5)

    assert (conf.estimates_progress(), *(getattr(jobs_settings, name) for name in PROGRESS[1:])) == (
        False, datetime.timedelta(days=30), 3, datetime.timedelta(seconds=5)
    )


def test_every_default_is_a_value_its_setting_accepts():
    assert {name: declared.problem(declared.default) for name, declared in SETTINGS.items()} == dict.fromkeys(
        SETTINGS
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("JOBS_RETENTION", datetime.timedelta(0), "JOBS_RETENTION must be a value from 1 s to 365 days, not 0:00:00."),
        ("JOBS_STREAM_TICK", datetime.timedelta(milliseconds=10),
         "JOBS_STREAM_TICK must be a value from 0.1 s to 1 hour, not 0:00:00.010000."),
        ("JOBS_MAX_RESULTS", 0, "JOBS_MAX_RESULTS must be a value from 1 to 10000, not 0."),
        ("JOBS_STREAM_MAX_PER_USER", 0, "JOBS_STREAM_MAX_PER_USER must be a value of at least 1, not 0."),
        ("JOBS_STALL_AFTER", 3600, "JOBS_STALL_AFTER must be of type timedelta, not 3600."),
        ("JOBS_MAX_RESULTS", True, "JOBS_MAX_RESULTS must be of type int, not True."),
        ("JOBS_PROGRESS", "guess", "JOBS_PROGRESS must be one of estimate, fixed, not 'guess'."),
        ("JOBS_THROTTLE_RATE", "100/month", "JOBS_THROTTLE_RATE must match "
         "([1-9][0-9]*)/(s|sec|second|m|min|minute|h|hour|d|day), not '100/month'."),
        ("JOBS_STATUS_MAP", ["new"], "JOBS_STATUS_MAP must be of type dict, not ['new']."),
        ("JOBS_STATUS_MAP", {"new": 1}, "JOBS_STATUS_MAP must map strings to strings, not {'new': 1}."),
        ("JOBS_STREAM_NOTIFY_CHANNEL", 5, "JOBS_STREAM_NOTIFY_CHANNEL must be of type str, not 5."),
    ],
)
def test_a_setting_outside_what_it_accepts_is_a_check_error(settings, name, value, message):
    setattr(settings, name, value)

    assert [(error.id, error.msg) for error in check_jobs_settings()] == [("jobs.E002", message)]


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("JOBS_RETENTION", "7200", datetime.timedelta(hours=2)),
        ("JOBS_MAX_RESULTS", "50", 50),
        ("JOBS_PROGRESS", "FIXED", "fixed"),
        ("JOBS_STATUS_MAP", '{"new": "running"}', {"new": "running"}),
        ("JOBS_STREAM_NOTIFY_CHANNEL", "imports", "imports"),
        ("JOBS_THROTTLE_RATE", "10/s", "10/s"),
    ],
)
def test_the_environment_is_read_by_the_declared_reader(monkeypatch, variable, value, expected):
    monkeypatch.setenv(variable, value)

    assert conf.from_environment(variable) == expected


def test_an_environment_value_outside_the_declared_range_stops_start_up(monkeypatch):
    monkeypatch.setenv("JOBS_STREAM_TICK", "0.01")

    with pytest.raises(Exception, match=r"JOBS_STREAM_TICK='0.01' is not valid: .* from 0.1 s to 1 hour"):
        conf.from_environment("JOBS_STREAM_TICK")


def test_every_jobs_setting_is_read_from_the_environment_by_the_settings_module():
    import databiz.settings

    assert {name for name in SETTINGS if not hasattr(databiz.settings, name)} == set()
