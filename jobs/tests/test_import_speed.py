"""Learning the import speed in the background: a poll never waits for it, and its failure only means fixed progress."""
import datetime
import time

import pytest
from django.db import connections, router
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from jobs import import_speed, progress
from jobs.models import Dataset, DatasetQuerySet

from . import ago

pytestmark = [pytest.mark.postgresql, pytest.mark.learning_in_background]

URL = "/api/v2/jobs/active"
MIB = 1_048_576


@pytest.fixture
def committed_history(transactional_db, user, other_user, make_dataset):
    """Twelve completed imports of another user and one running import of `user`, committed (the learning thread
    reads them on a connection of its own); removed afterwards."""
    for size in range(1, 13):
        make_dataset(created_by=other_user.pk, status="inactive", file_size=size * MIB,
                     created_at=ago(days=1, seconds=5 + size * 16), updated_at=ago(days=1))
    make_dataset(created_by=user.pk, status="new", file_size=4 * MIB, created_at=ago(seconds=20),
                 updated_at=ago(seconds=20))
    yield
    with connections[router.db_for_read(Dataset)].cursor() as cursor:
        cursor.execute("DELETE FROM datasets WHERE created_by IN (%s, %s)", [user.pk, other_user.pk])


@pytest.fixture
def learning_threads(monkeypatch):
    """The threads the polls start to learn the import speed, as they are started."""
    threads, start = [], import_speed.run_in_background

    def recording(learn, using):
        threads.append(start(learn, using))
        return threads[-1]

    monkeypatch.setattr(import_speed, "run_in_background", recording)
    return threads


@pytest.fixture
def client(user, now):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    return client


def timed_poll(client):
    started = time.perf_counter()
    response = client.get(URL)
    return response, time.perf_counter() - started


def test_the_speed_learned_in_the_background_reaches_the_next_poll(committed_history, client, learning_threads):
    first, _ = timed_poll(client)
    learning_threads[0].join(timeout=10)

    second, _ = timed_poll(client)

    speed = Dataset.objects.import_speed()
    assert [job["progress"] for job in first.json()] == [50]
    assert [(job["progress"], job["remaining_seconds"]) for job in second.json()] == [
        (progress.progress_percent(4 * MIB, 20, speed), progress.remaining_seconds(4 * MIB, 20, speed))
    ] == [(28, 49)]
    assert len(learning_threads) == 1


def test_a_hanging_learning_query_never_slows_a_poll_and_falls_back_to_fixed_progress(
    committed_history, client, learning_threads, monkeypatch, caplog
):
    learn = DatasetQuerySet.import_speed

    def hanging(queryset, **kwargs):
        # The learning query's connection really waits on PostgreSQL, until the statement timeout cancels it.
        with connections[queryset.db].cursor() as cursor:
            cursor.execute("SELECT pg_sleep(30)")
        return learn(queryset, **kwargs)

    monkeypatch.setattr(DatasetQuerySet, "import_speed", hanging)

    polls = [timed_poll(client) for _ in range(5)]
    learning_threads[0].join(timeout=10)
    after, _ = timed_poll(client)

    assert [(response.status_code, [job["progress"] for job in response.json()]) for response, _ in polls] == [
        (200, [50])
    ] * 5
    assert max(seconds for _, seconds in polls) < 0.5
    assert (learning_threads[0].is_alive(), len(learning_threads)) == (False, 1)
    assert "Learning the import speed failed; progress stays as it was." in caplog.messages
    assert (after.status_code, [job["progress"] for job in after.json()]) == (200, [50])


def test_a_refresh_that_fails_unexpectedly_keeps_the_last_speed_and_does_not_stop_the_next(
    db, monkeypatch, settings, caplog
):
    settings.JOBS_PROGRESS_CACHE = datetime.timedelta(0)  # every poll finds the speed due
    monkeypatch.setattr(import_speed, "run_in_background", lambda learn, using: learn(using))
    failures = []

    def fails(queryset):
        failures.append(1)
        raise RuntimeError("a bug")

    monkeypatch.setattr(DatasetQuerySet, "import_speed", fails)

    speeds = [import_speed.learned_import_speed(), import_speed.learned_import_speed()]

    assert (speeds, len(failures)) == ([None, None], 2)
    assert caplog.text.count("Learning the import speed failed; progress stays as it was.") == 2


def test_a_failed_learning_is_tried_again_within_half_a_minute_then_later_each_time(db, monkeypatch, settings):
    settings.JOBS_PROGRESS_CACHE = datetime.timedelta(minutes=10)
    monkeypatch.setattr(import_speed, "run_in_background", lambda learn, using: learn(using))
    clock, attempts = [1000.0], []
    monkeypatch.setattr(import_speed.time, "monotonic", lambda: clock[0])
    outcomes = iter([RuntimeError("a statement timeout"), RuntimeError("again"), 7.5])

    def learns(queryset):
        attempts.append(clock[0] - 1000.0)
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    monkeypatch.setattr(DatasetQuerySet, "import_speed", learns)

    speeds = []
    for seconds in (0, 29, 31, 90, 92, 300, 690):
        clock[0] = 1000.0 + seconds
        speeds.append(import_speed.learned_import_speed())

    # Failed at 0 s, so due again at 30 s; failed at 31 s, so due 60 s later; learned at 92 s, kept for 10 minutes.
    assert (attempts, speeds) == ([0, 31, 92], [None, None, None, None, 7.5, 7.5, 7.5])
