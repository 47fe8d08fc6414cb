import datetime

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError
from django.db import connection
from django.utils import timezone

from databiz.demo.data import DEMO_ROWS, demo_table_is_marked
from jobs.models import Dataset
from jobs.tests import run_command

pytestmark = pytest.mark.django_db


def test_prepare_demo_leaves_a_table_it_did_not_create_alone(user, make_dataset):
    make_dataset(created_by=user.pk, status="new")

    output = run_command("prepare_demo")

    assert "left as it is" in output
    assert (Dataset.objects.count(), get_user_model().objects.count()) == (1, 1)


@pytest.fixture
def no_datasets_table(db):
    """Drop the session's datasets table for one test and put it back afterwards."""
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE datasets")
    yield


def test_prepare_demo_creates_marks_and_fills_a_table_then_refreshes_it(no_datasets_table):
    first = run_command("prepare_demo")
    again = run_command("prepare_demo")

    alice = get_user_model().objects.get(username="alice")
    listed = list(Dataset.objects.jobs_for(alice))
    assert "Created the datasets table" in first
    assert "refreshing its demo rows" in again
    assert demo_table_is_marked()
    assert Dataset.objects.count() == len(DEMO_ROWS)
    assert alice.check_password("alice-demo-password")
    assert sorted((job.filename, job.job_status) for job in listed) == [
        ("Marketing leads", "completed"),
        ("big-history.csv", "failed"),
        ("customers.xlsx", "running"),
        ("inventory.csv", "failed"),
        ("orders.parquet", "failed"),
        ("products.json", "completed"),
        ("sales-2025.csv", "running"),
    ]


def test_demo_history_makes_the_progress_estimate_kick_in(no_datasets_table, now):
    run_command("prepare_demo")

    alice = get_user_model().objects.get(username="alice")
    jobs = {job.filename: job for job in Dataset.objects.jobs_for(alice)}
    running = [jobs[name] for name in ("customers.xlsx", "sales-2025.csv")]
    failed = [jobs[name] for name in ("orders.parquet", "inventory.csv", "big-history.csv")]
    assert Dataset.objects.import_speed().sample >= 10
    assert all(1 < job.progress < 99 and job.progress != 50 and job.remaining_seconds > 0 for job in running)
    assert all(0 < job.progress < 99 and job.remaining_seconds is None for job in failed)


def test_play_demo_refuses_a_table_prepare_demo_did_not_create(user):
    with pytest.raises(CommandError, match="was not created by `manage.py prepare_demo`"):
        run_command("play_demo", "--iterations", "1")


def test_play_demo_starts_finishes_and_stalls_uploads_on_the_demo_table(no_datasets_table):
    run_command("prepare_demo")
    alice = get_user_model().objects.get(username="alice")
    before = {job.pk: job.job_status for job in Dataset.objects.jobs_for(alice)}
    # Make every demo upload due, so this tick finishes them.
    Dataset._base_manager.using("default").filter(status="new").update(
        created_at=timezone.now() - datetime.timedelta(minutes=20)
    )

    output = run_command("play_demo", "--iterations", "2", "--interval", "0", "--seed", "7")

    after = {job.pk: (job.job_status, job.error) for job in Dataset.objects.jobs_for(alice)}
    assert "tick 2:" in output
    assert any(before.get(pk) == "running" and status in ("completed", "failed") for pk, (status, _) in after.items())
    assert ("failed", "Import stalled: no update since") in {
        (status, (error or "")[:31]) for status, error in after.values()
    }


@pytest.mark.parametrize(("args", "message"), [
    (["play_demo", "--interval", "-1"], "argument --interval: give seconds, from 0 to 3600"),
    (["play_demo", "--interval", "nan"], "argument --interval: give seconds, from 0 to 3600"),
    (["play_demo", "--iterations", "-3"], "argument --iterations: give 0 (play until stopped) or more"),
    (["prepare_demo", "--database", "nope"], "argument --database: invalid choice: 'nope' (choose from 'default')"),
])
def test_demo_commands_refuse_bad_arguments_before_doing_anything(args, message):
    with pytest.raises(CommandError) as error:
        run_command(*args)

    assert str(error.value) == f"Error: {message}"
