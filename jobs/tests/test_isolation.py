"""Property: for random datasets of random users, each user gets exactly what docs/rules.md says, and only theirs
(from the list, and from the stream's one query for everyone)."""
import datetime
import json

import pytest
from django.contrib.auth import get_user_model
from django.db import router, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from model_bakery import baker
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from jobs.models import Dataset
from jobs.stream import Listing

from . import NOW, stream_answers

pytestmark = pytest.mark.django_db

HOUR = datetime.timedelta(hours=1)
STATUSES = ["new", "inactive", "error", "active", "archived", "NEW", "weird"]


def reference_jobs(rows, owner):
    """docs/rules.md's rules, written independently of the QuerySet: [(id, status)] in the order the API must give."""
    running, finished = [], []
    for row in rows:
        if row["owner"] != owner:
            continue
        if row["status"] == "new" and NOW - row["updated_at"] < HOUR:
            running.append(row)
        elif row["status"] == "new":
            finished.append((max(row["updated_at"] + HOUR, row["created_at"]), row, "failed"))
        elif row["status"] in ("inactive", "error"):
            status = "completed" if row["status"] == "inactive" else "failed"
            finished.append((max(row["updated_at"], row["created_at"]), row, status))
    running.sort(key=lambda row: (-row["created_at"].timestamp(), row["id"]))
    listed = [(finished_at, row, status) for finished_at, row, status in finished if NOW - finished_at <= HOUR]
    listed.sort(key=lambda item: (-item[0].timestamp(), -item[1]["created_at"].timestamp(), item[1]["id"]))
    return [(str(row["id"]), "running") for row in running] + [(str(row["id"]), status) for _, row, status in listed]


minutes = st.integers(min_value=-30, max_value=200)
rows_strategy = st.lists(
    st.fixed_dictionaries({
        "owner": st.integers(min_value=0, max_value=2),
        "status": st.sampled_from(STATUSES),
        "created": minutes,
        "age": st.integers(min_value=0, max_value=120),
        "id": st.uuids(),
    }),
    max_size=25,
    unique_by=lambda row: row["id"],
)


def insert(rows, users):
    """Insert the generated rows as `datasets` rows of `users`; return them with their moments."""
    prepared = [
        {"id": row["id"], "owner": row["owner"], "status": row["status"],
         "created_at": NOW - datetime.timedelta(minutes=row["created"] + row["age"]),
         "updated_at": NOW - datetime.timedelta(minutes=row["created"])}
        for row in rows
    ]
    Dataset._base_manager.using(router.db_for_read(Dataset)).bulk_create([
        Dataset(id=row["id"], name="n", status=row["status"], created_by=users[row["owner"]].pk,
                created_at=row["created_at"], updated_at=row["updated_at"])
        for row in prepared
    ])
    return prepared


@pytest.fixture
def three_users(db):
    return [baker.make(get_user_model(), username=f"user{i}") for i in range(3)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=rows_strategy)
def test_every_user_sees_exactly_their_own_jobs_by_the_rules(three_users, rows, now, unthrottled):
    with transaction.atomic():
        prepared = insert(rows, three_users)
        for owner, user in enumerate(three_users):
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
            answer = [(job["id"], job["status"]) for job in client.get("/api/v2/jobs/active").json()]
            others = {str(row["id"]) for row in prepared if row["owner"] != owner}
            assert answer == reference_jobs(prepared, owner)
            assert not others & {job_id for job_id, _ in answer}
        transaction.set_rollback(True)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=rows_strategy)
def test_one_stream_query_gives_every_user_exactly_their_own_jobs(three_users, rows, now):
    with transaction.atomic():
        prepared = insert(rows, three_users)
        answers = stream_answers([Listing(user.pk) for user in three_users])
        for owner, user in enumerate(three_users):
            answer = [(job["id"], job["status"]) for job in json.loads(answers[Listing(user.pk)].body)]
            assert answer == reference_jobs(prepared, owner)
        transaction.set_rollback(True)
