import datetime
import uuid

import pytest
from django.db import connection, router

from jobs import progress
from jobs.import_speed import learned_import_speed
from jobs.models import Dataset, ReadOnlyTableError
from jobs.table import datasets_table_problems

from . import NOW, ago

pytestmark = pytest.mark.django_db


def job_view(dataset):
    """Return what a dataset says of itself as a job."""
    return (dataset.job_status, dataset.job_type, dataset.progress, dataset.finished_at, dataset.error)


def jobs_of(user, **kwargs):
    return list(Dataset.objects.jobs_for(user, now=NOW, **kwargs))


@pytest.mark.parametrize(
    ("status", "error_message", "expected"),
    [
        ("new", None, ("running", "import", 50, None, None)),
        ("inactive", None, ("completed", "import", 100, ago(minutes=5), None)),
        (
            "error",
            "Column 'amount' is not a number.",
            ("failed", "import", 0, ago(minutes=5), "Column 'amount' is not a number."),
        ),
        ("error", None, ("failed", "import", 0, ago(minutes=5), "Import failed.")),
    ],
)
def test_each_mapped_status_becomes_its_job(user, make_dataset, status, error_message, expected):
    make_dataset(created_by=user.pk, status=status, error_message=error_message, updated_at=ago(minutes=5))

    [job] = jobs_of(user)

    assert job_view(job) == expected


@pytest.mark.parametrize("status", ["active", "archived", "quarantined", "", "NEW", " new", "Error"])
def test_statuses_outside_the_map_are_never_listed(user, make_dataset, status):
    make_dataset(created_by=user.pk, status=status, updated_at=ago(minutes=1))

    assert jobs_of(user) == []


def test_status_map_comes_from_settings(user, make_dataset, settings):
    settings.JOBS_STATUS_MAP = {"uploading": "running", "active": "completed"}
    make_dataset(created_by=user.pk, status="uploading", updated_at=ago(minutes=1))
    make_dataset(created_by=user.pk, status="active", updated_at=ago(minutes=2))
    make_dataset(created_by=user.pk, status="new", updated_at=ago(minutes=3))

    assert [(job.status, job.job_status) for job in jobs_of(user)] == [
        ("uploading", "running"),
        ("active", "completed"),
    ]


@pytest.mark.parametrize(
    ("since_update", "expected"),
    [
        (datetime.timedelta(minutes=59, seconds=59, microseconds=999999), ("running", "import", 50, None, None)),
        (
            datetime.timedelta(hours=1),
            ("failed", "import", 0, NOW, "Import stalled: no update since 2025-12-19T09:00:00Z."),
        ),
        (
            datetime.timedelta(hours=1, minutes=30),
            ("failed", "import", 0, ago(minutes=30), "Import stalled: no update since 2025-12-19T08:30:00Z."),
        ),
    ],
)
def test_running_import_stalls_exactly_after_stall_after(user, make_dataset, since_update, expected):
    make_dataset(created_by=user.pk, status="new", error_message="ignored", updated_at=NOW - since_update)

    [job] = jobs_of(user)

    assert job_view(job) == expected


def test_stall_after_comes_from_settings(user, make_dataset, settings):
    settings.JOBS_STALL_AFTER = datetime.timedelta(minutes=10)
    make_dataset(created_by=user.pk, status="new", updated_at=ago(minutes=10))

    [job] = jobs_of(user)

    assert (job.job_status, job.finished_at) == ("failed", NOW)


@pytest.mark.parametrize(
    ("status", "since_update", "listed"),
    [
        ("inactive", datetime.timedelta(hours=1), True),
        ("inactive", datetime.timedelta(hours=1, microseconds=1), False),
        ("error", datetime.timedelta(hours=1), True),
        ("error", datetime.timedelta(hours=1, microseconds=1), False),
        # A stalled import finished at the stall moment, updated_at + 1 h.
        ("new", datetime.timedelta(hours=2), True),
        ("new", datetime.timedelta(hours=2, microseconds=1), False),
        # Running jobs are listed however long ago they started.
        ("new", datetime.timedelta(minutes=59), True),
    ],
)
def test_finished_jobs_are_listed_for_exactly_the_retention_window(user, make_dataset, status, since_update, listed):
    dataset = make_dataset(created_by=user.pk, status=status, created_at=ago(days=3), updated_at=NOW - since_update)

    assert [job.pk for job in jobs_of(user)] == ([dataset.pk] if listed else [])


def test_retention_comes_from_settings(user, make_dataset, settings):
    settings.JOBS_RETENTION = datetime.timedelta(days=1)
    dataset = make_dataset(created_by=user.pk, status="inactive", updated_at=ago(hours=23))

    assert [job.pk for job in jobs_of(user)] == [dataset.pk]


def test_long_running_import_is_listed_though_it_started_long_ago(user, make_dataset):
    dataset = make_dataset(created_by=user.pk, status="new", created_at=ago(hours=5), updated_at=ago(minutes=1))

    assert [(job.pk, job.job_status) for job in jobs_of(user)] == [(dataset.pk, "running")]


def test_other_users_datasets_are_not_listed(user, other_user, make_dataset):
    mine = make_dataset(created_by=user.pk, status="new", updated_at=ago(minutes=1))
    make_dataset(created_by=other_user.pk, status="new", updated_at=ago(minutes=1))
    make_dataset(created_by=uuid.uuid4(), status="error", updated_at=ago(minutes=1))

    assert [job.pk for job in jobs_of(user)] == [mine.pk]


def test_jobs_are_ordered_running_first_then_most_recently_finished(user, make_dataset):
    older_running = make_dataset(
        created_by=user.pk, status="new", created_at=ago(minutes=50), updated_at=ago(minutes=1)
    )
    newer_running = make_dataset(created_by=user.pk, status="new", created_at=ago(minutes=5), updated_at=ago(minutes=5))
    completed = make_dataset(created_by=user.pk, status="inactive", updated_at=ago(minutes=2))
    failed = make_dataset(created_by=user.pk, status="error", updated_at=ago(minutes=20))
    # Stalled at updated_at + 1 h = 10 minutes ago: between the completed and the failed job.
    stalled = make_dataset(created_by=user.pk, status="new", created_at=ago(hours=2), updated_at=ago(minutes=70))

    expected = [newer_running, older_running, completed, stalled, failed]
    assert [job.pk for job in jobs_of(user)] == [dataset.pk for dataset in expected]


def test_bound_drops_finished_jobs_before_running_ones(user, make_dataset, settings):
    settings.JOBS_MAX_RESULTS = 3
    running = [
        make_dataset(created_by=user.pk, status="new", created_at=ago(minutes=minutes)) for minutes in (30, 20)
    ]
    newest_finished = make_dataset(created_by=user.pk, status="inactive", updated_at=ago(minutes=1))
    make_dataset(created_by=user.pk, status="error", updated_at=ago(minutes=2))

    bounded = list(Dataset.objects.jobs_for(user, now=NOW).bounded())

    assert [job.pk for job in bounded] == [running[1].pk, running[0].pk, newest_finished.pk]


def test_bound_keeps_the_newest_running_jobs_when_they_alone_exceed_it(user, make_dataset, settings):
    settings.JOBS_MAX_RESULTS = 2
    running = [make_dataset(created_by=user.pk, status="new", created_at=ago(minutes=m)) for m in (3, 2, 1)]
    make_dataset(created_by=user.pk, status="inactive", updated_at=ago(minutes=1))

    bounded = list(Dataset.objects.jobs_for(user, now=NOW).bounded())

    assert [job.pk for job in bounded] == [running[2].pk, running[1].pk]


def test_nullable_columns_may_all_be_null(user, make_dataset):
    make_dataset(
        created_by=user.pk,
        name="Sales 2025",
        status="error",
        original_filename=None,
        file_type=None,
        file_size=None,
        error_message=None,
        updated_at=ago(minutes=1),
    )

    [job] = jobs_of(user)

    assert (job.filename, job.error, job.progress) == ("Sales 2025", "Import failed.", 0)


def test_filename_is_the_original_filename_when_known(make_dataset):
    dataset = make_dataset(name="Sales", original_filename="sales-2025.csv")

    assert dataset.filename == "sales-2025.csv"


@pytest.mark.parametrize(
    ("error_message", "error"),
    [
        ("x" * 500, "x" * 500),
        ("x" * 501, "x" * 499 + "…"),
        ("  Bad header row.  ", "Bad header row."),
        ("   ", "Import failed."),
        ("Parse failed.\nTraceback (most recent call last):\n  File \"/srv/x.py\"", "Parse failed."),
        ("Traceback (most recent call last):\n  File \"/srv/x.py\", line 1", "Import failed."),
    ],
)
def test_error_is_trimmed_for_users(user, make_dataset, error_message, error):
    make_dataset(created_by=user.pk, status="error", error_message=error_message, updated_at=ago(minutes=1))

    [job] = jobs_of(user)

    assert job.error == error


def test_datasets_table_may_have_columns_the_model_does_not_know(user, make_dataset):
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE datasets ADD COLUMN row_count integer NULL")
        cursor.execute("ALTER TABLE datasets ADD COLUMN source varchar(20) NOT NULL DEFAULT 'upload'")
    dataset = make_dataset(created_by=user.pk, status="new", updated_at=ago(minutes=1))

    assert [job.pk for job in jobs_of(user)] == [dataset.pk]


def test_default_manager_gives_every_dataset_its_job_view(make_dataset):
    dataset = make_dataset(status="inactive", updated_at=ago(minutes=1))

    fetched = Dataset.objects.get(pk=dataset.pk)

    assert (fetched.job_status, fetched.job_type, fetched.progress, fetched.error) == ("completed", "import", 100, None)


def test_dataset_reads_well_in_the_shell(make_dataset):
    dataset = make_dataset(
        id=uuid.UUID("550e8400-e29b-41d4-a716-446655440000"), original_filename="sales.csv", status="new"
    )

    assert (str(dataset), repr(dataset)) == (
        "sales.csv (new)",
        "<Dataset 550e8400-e29b-41d4-a716-446655440000 'sales.csv' status='new'>",
    )


@pytest.mark.parametrize(
    "write",
    [
        lambda dataset: dataset.save(),
        lambda dataset: dataset.delete(),
        lambda dataset: Dataset.objects.filter(pk=dataset.pk).update(status="error"),
        lambda dataset: Dataset.objects.filter(pk=dataset.pk).delete(),
        lambda dataset: Dataset.objects.all().delete(),
        lambda dataset: Dataset.objects.create(id=uuid.uuid4(), name="x", status="new"),
        lambda dataset: Dataset.objects.bulk_create([Dataset(id=uuid.uuid4())]),
        lambda dataset: Dataset.objects.bulk_update([dataset], ["status"]),
        lambda dataset: Dataset.objects.get_or_create(id=uuid.uuid4()),
        lambda dataset: Dataset.objects.update_or_create(id=dataset.pk, defaults={"status": "error"}),
        # Past the model's guards, the database router still refuses.
        lambda dataset: Dataset._base_manager.filter(pk=dataset.pk).update(status="error"),
        lambda dataset: Dataset._base_manager.bulk_create([Dataset(id=uuid.uuid4())]),
    ],
    ids=["save", "delete", "update", "filtered-delete", "delete-all", "create", "bulk_create", "bulk_update",
         "get_or_create", "update_or_create", "router-update", "router-insert"],
)
def test_every_write_to_datasets_is_refused(make_dataset, write):
    dataset = make_dataset(status="new", name="unchanged")

    with pytest.raises(ReadOnlyTableError, match="only reads it"):
        write(dataset)

    assert Dataset.objects.filter(pk=dataset.pk).values_list("status", "name").get() == ("new", "unchanged")


def test_migrations_never_touch_the_datasets_table():
    assert router.allow_migrate_model("default", Dataset) is False


def test_reference_table_has_no_problems():
    assert datasets_table_problems() == []


def test_missing_columns_are_named_as_problems():
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE datasets DROP COLUMN error_message")
        cursor.execute("ALTER TABLE datasets DROP COLUMN file_size")

    assert datasets_table_problems() == [
        "The datasets table has no column 'file_size'.",
        "The datasets table has no column 'error_message'.",
    ]


def test_missing_table_is_named_as_a_problem():
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE datasets")

    assert datasets_table_problems() == ["The datasets table does not exist."]


MIB = 1_048_576

# Known history: 11 completed imports taking 5 s plus 64 KiB/s, and one odd one that took an hour.
HISTORY = [(size * MIB, 5 + size * 16) for size in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)] + [(6 * MIB, 3600)]


@pytest.fixture
def history(other_user, make_dataset):
    """Insert HISTORY as completed imports, finished a day ago, of another user."""

    def make(rows=HISTORY, **fields):
        for size, seconds in rows:
            finished = ago(days=1)
            fields = {"status": "inactive", "updated_at": finished, **fields}
            started = finished - datetime.timedelta(seconds=seconds)
            make_dataset(created_by=other_user.pk, file_size=size, created_at=started, **fields)

    return make


def test_import_speed_is_learned_from_the_medians_of_the_history(history, now):
    history()
    # Excluded: too old, failed, running, without a size, not yet started.
    history([(MIB, 1)], updated_at=ago(days=8))
    history([(MIB, 1)], status="error")
    history([(MIB, 1)], status="new")
    history([(None, 1)])

    assert Dataset.objects.import_speed() == progress.ImportSpeed(throughput=65_536.0, overhead=5.0, sample=12)


def test_import_speed_window_and_minimum_come_from_settings(history, now, settings):
    history()
    settings.JOBS_PROGRESS_MIN_SAMPLE = 13
    too_few = Dataset.objects.import_speed()
    settings.JOBS_PROGRESS_MIN_SAMPLE = 1
    settings.JOBS_PROGRESS_HISTORY = datetime.timedelta(hours=23)

    assert (too_few, Dataset.objects.import_speed()) == (None, None)


def test_completed_statuses_of_the_history_come_from_the_status_map(history, now, settings):
    history(status="ready")
    settings.JOBS_STATUS_MAP = {"new": "running", "ready": "completed"}

    assert Dataset.objects.import_speed().throughput == 65_536.0


def test_learned_import_speed_is_cached(history, now, django_assert_num_queries):
    history()
    with django_assert_num_queries(1):
        first = learned_import_speed()
    history()

    with django_assert_num_queries(0):
        assert learned_import_speed() == first


@pytest.mark.parametrize(
    ("status", "file_size", "created", "updated", "expected"),
    [
        # 10 MiB: expected 165 s. Running 66 s: 40 %, 99 s left.
        ("new", 10 * MIB, 66, 0, ("running", 40, 99)),
        # Clock skew: created in the future.
        ("new", 10 * MIB, -60, -60, ("running", 1, 165)),
        # Past its expected time: slowing, no estimate of the rest.
        ("new", 10 * MIB, 330, 0, ("running", 96, None)),
        # Failed after 33 s: where it stopped.
        ("error", 10 * MIB, 120, 87, ("failed", 20, None)),
        # Stalled: at the stall moment, an hour after its last update: 4600 s of the expected 16005 s.
        ("new", 1000 * MIB, 5000, 4000, ("failed", 28, None)),
        ("inactive", 10 * MIB, 30, 0, ("completed", 100, None)),
        # No size: the fixed values.
        ("new", None, 66, 0, ("running", 50, None)),
        ("error", None, 66, 0, ("failed", 0, None)),
    ],
)
def test_progress_is_estimated_from_size_and_elapsed_time(
    user, history, make_dataset, now, status, file_size, created, updated, expected
):
    history()
    make_dataset(
        created_by=user.pk,
        status=status,
        file_size=file_size,
        created_at=ago(seconds=created),
        updated_at=ago(seconds=updated),
    )

    [job] = jobs_of(user)

    assert (job.job_status, job.progress, job.remaining_seconds) == expected
