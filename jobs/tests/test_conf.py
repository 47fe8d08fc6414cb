import datetime
import os

import pytest
from django.db import connection

from jobs import conf


def test_defaults_are_the_documented_ones():
    assert (conf.status_map(), conf.retention(), conf.stall_after(), conf.max_results()) == (
        {"new": "running", "inactive": "completed", "error": "failed"},
        datetime.timedelta(hours=1),
        datetime.timedelta(hours=1),
        100,
    )


def test_settings_override_the_defaults_at_call_time(settings):
    settings.JOBS_STATUS_MAP = {"uploading": "running"}
    settings.JOBS_RETENTION = datetime.timedelta(days=1)
    settings.JOBS_STALL_AFTER = datetime.timedelta(minutes=5)
    settings.JOBS_MAX_RESULTS = 7

    assert (conf.status_map(), conf.retention(), conf.stall_after(), conf.max_results()) == (
        {"uploading": "running"},
        datetime.timedelta(days=1),
        datetime.timedelta(minutes=5),
        7,
    )


@pytest.mark.django_db
def test_suite_runs_on_the_database_ci_asked_for():
    # .ci/run names the vendor it means to test, so a wrong DATABASE_URL cannot pass on SQLite by accident.
    expected = os.environ.get("EXPECTED_DB_VENDOR", connection.vendor)

    assert connection.vendor == expected


def test_progress_defaults_are_the_documented_ones():
    assert (
        conf.estimates_progress(),
        conf.progress_history(),
        conf.progress_min_sample(),
        conf.progress_cache(),
    ) == (True, datetime.timedelta(days=7), 10, datetime.timedelta(minutes=10))


def test_progress_settings_override_the_defaults_at_call_time(settings):
    settings.JOBS_PROGRESS = "fixed"
    settings.JOBS_PROGRESS_HISTORY = datetime.timedelta(days=30)
    settings.JOBS_PROGRESS_MIN_SAMPLE = 3
    settings.JOBS_PROGRESS_CACHE = datetime.timedelta(seconds=5)

    assert (
        conf.estimates_progress(),
        conf.progress_history(),
        conf.progress_min_sample(),
        conf.progress_cache(),
    ) == (False, datetime.timedelta(days=30), 3, datetime.timedelta(seconds=5))
