import datetime
import uuid

import pytest
from django.db import router
from model_bakery import baker

from jobs.models import Dataset, JobStatus

from . import NOW, ago

pytestmark = pytest.mark.django_db

URL = "/api/v2/jobs/active"


def parse(timestamp):
    return datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00")) if timestamp else None


def assert_sane(jobs):
    for job in jobs:
        assert job["status"] in JobStatus.values
        assert 0 <= job["progress"] <= 100
        assert job["filename"]
        if job["finished_at"] is not None:
            assert parse(job["finished_at"]) >= parse(job["started_at"])


@pytest.mark.parametrize(
    ("fields", "listed_as"),
    [
        # Statuses are matched exactly: another case or padding is not a status the imports service writes.
        ({"status": "NEW"}, None),
        ({"status": " new"}, None),
        ({"status": "Inactive"}, None),
        ({"status": "deleted-by-admin"}, None),
        ({"status": ""}, None),
        (
            {"status": "error", "original_filename": None, "file_type": None, "file_size": None,
             "error_message": None},
            ("failed", "Sales", "Import failed."),
        ),
        ({"status": "new", "file_size": -5}, ("running", "sales.csv", None)),
        ({"status": "new", "file_size": 2**63 - 1}, ("running", "sales.csv", None)),
        ({"status": "inactive", "file_type": "exe;rm -rf /"}, ("completed", "sales.csv", None)),
        ({"status": "error", "error_message": "\ufffd<script>alert(1)</script>"},
         ("failed", "sales.csv", "\ufffd<script>alert(1)</script>")),
        # Clock skew between the imports service's servers: times in the future.
        ({"status": "new", "created_at": NOW + datetime.timedelta(hours=2),
          "updated_at": NOW + datetime.timedelta(hours=2)}, ("running", "sales.csv", None)),
        ({"status": "inactive", "created_at": NOW + datetime.timedelta(minutes=5),
          "updated_at": NOW + datetime.timedelta(minutes=6)}, ("completed", "sales.csv", None)),
        # Updated before it was created: it still finished no earlier than it started.
        ({"status": "inactive", "created_at": ago(minutes=5), "updated_at": ago(minutes=30)},
         ("completed", "sales.csv", None)),
        ({"status": "error", "created_at": ago(minutes=1), "updated_at": ago(minutes=50)},
         ("failed", "sales.csv", "Import failed.")),
    ],
)
def test_odd_rows_are_answered_sanely_or_left_out(auth_client, user, make_dataset, fields, listed_as):
    defaults = {"name": "Sales", "original_filename": "sales.csv", "error_message": None,
                "created_at": ago(minutes=10), "updated_at": ago(minutes=10)}
    make_dataset(created_by=user.pk, **{**defaults, **fields})

    response = auth_client.get(URL)

    jobs = response.json()
    assert response.status_code == 200
    assert_sane(jobs)
    assert [(job["status"], job["filename"], job["error"]) for job in jobs] == ([listed_as] if listed_as else [])


def test_finished_at_is_never_before_started_at(auth_client, user, make_dataset):
    make_dataset(created_by=user.pk, status="inactive", created_at=ago(minutes=5), updated_at=ago(minutes=30))

    [job] = auth_client.get(URL).json()

    assert (job["started_at"], job["finished_at"]) == ("2025-12-19T09:55:00Z", "2025-12-19T09:55:00Z")


def test_rows_of_users_that_do_not_exist_are_nobodys(auth_client, make_dataset):
    make_dataset(created_by=uuid.uuid4(), status="new", updated_at=ago(minutes=1))

    assert auth_client.get(URL).json() == []


def test_thousands_of_rows_for_one_user_give_a_bounded_answer(auth_client, user, make_dataset, settings):
    statuses = ["new", "inactive", "error", "active", "archived", "odd"]
    rows = [
        baker.prepare(Dataset, created_by=user.pk, status=statuses[i % 6], original_filename=f"f{i}.csv",
                      created_at=ago(minutes=i % 50 + 1), updated_at=ago(minutes=i % 50))
        for i in range(3000)
    ]
    Dataset._base_manager.using(router.db_for_read(Dataset)).bulk_create(rows)

    response = auth_client.get(URL)

    # The newest 100 of the 500 running imports (ties broken by id), and no finished job in their place.
    running = sorted((row for row in rows if row.status == "new"), key=lambda r: (-r.created_at.timestamp(), r.id))
    jobs = response.json()
    assert (response.status_code, response["X-Jobs-Truncated"], response["X-Jobs-Running"]) == (200, "true", "500")
    assert [job["id"] for job in jobs] == [str(row.id) for row in running[:100]]
    assert [job["status"] for job in jobs] == ["running"] * 100
    assert_sane(jobs)
