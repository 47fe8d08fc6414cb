import datetime
import json

import pytest
import time_machine
from rest_framework_simplejwt.tokens import AccessToken

from jobs.serializers import JobSerializer

from . import NOW, ago

pytestmark = pytest.mark.django_db

URL = "/api/v2/jobs/active"


@pytest.fixture
def jobs(user, other_user, make_dataset):
    return {
        "running": make_dataset(created_by=user.pk, status="new", created_at=ago(minutes=5), updated_at=ago(minutes=5)),
        "completed": make_dataset(created_by=user.pk, status="inactive", updated_at=ago(minutes=1)),
        "archived": make_dataset(created_by=user.pk, status="archived", updated_at=ago(minutes=1)),
        "others": make_dataset(created_by=other_user.pk, status="new", updated_at=ago(minutes=1)),
    }


def etag(client, **headers):
    return client.get(URL, **headers)["ETag"]


def test_list_carries_an_etag_and_private_no_cache_headers(auth_client, jobs):
    response = auth_client.get(URL)

    assert response.status_code == 200
    assert response["ETag"].startswith('"') and len(response["ETag"]) == 34
    assert response["Cache-Control"] == "private, no-cache"
    assert set(response["Vary"].split(", ")) >= {"Authorization", "Cookie"}


def test_matching_if_none_match_is_a_304_without_a_body(auth_client, jobs):
    first = auth_client.get(URL)

    again = auth_client.get(URL, HTTP_IF_NONE_MATCH=first["ETag"])

    assert (again.status_code, again.content, again["ETag"]) == (304, b"", first["ETag"])
    assert [again[h] for h in ("X-Jobs-Running", "X-Jobs-Truncated", "X-Poll-Interval")] == ["1", "false", "10"]


def test_stale_if_none_match_gets_the_full_answer(auth_client, jobs):
    response = auth_client.get(URL, HTTP_IF_NONE_MATCH='"0123456789abcdef0123456789abcdef"')

    assert (response.status_code, response.json()) == (200, auth_client.get(URL).json())
    assert [job["status"] for job in response.json()] == ["running", "completed"]


def test_an_answer_indented_on_request_is_another_representation_with_its_own_etag(auth_client, jobs):
    compact = auth_client.get(URL)
    indented = auth_client.get(URL, HTTP_ACCEPT="application/json; indent=4")
    held_compact = auth_client.get(URL, HTTP_ACCEPT="application/json; indent=4", HTTP_IF_NONE_MATCH=compact["ETag"])
    held_indented = auth_client.get(URL, HTTP_ACCEPT="application/json; indent=4", HTTP_IF_NONE_MATCH=indented["ETag"])

    as_indented = json.dumps(compact.json(), indent=4, ensure_ascii=False).encode()
    assert (indented.content, indented["ETag"] != compact["ETag"]) == (as_indented, True)
    assert (held_compact.status_code, held_compact.content) == (200, indented.content)
    assert (held_indented.status_code, held_indented["ETag"]) == (304, indented["ETag"])


def test_head_answers_like_get_without_a_body(auth_client, jobs):
    get = auth_client.get(URL)

    head = auth_client.head(URL)

    assert (head.status_code, head.content, head["ETag"]) == (200, b"", get["ETag"])


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ("running", {"status": "inactive", "updated_at": NOW}),
        ("running", {"status": "error", "updated_at": NOW}),
        ("completed", {"original_filename": "renamed.csv"}),
        ("completed", {"status": "active"}),
        ("archived", {"status": "new"}),
    ],
)
def test_etag_changes_when_a_job_changes_or_joins_or_leaves_the_list(auth_client, jobs, change_dataset, change, fields):
    before = etag(auth_client)

    change_dataset(jobs[change], **fields)

    assert etag(auth_client) != before


def test_etag_changes_when_a_new_upload_appears(auth_client, jobs, user, make_dataset):
    before = etag(auth_client)

    make_dataset(created_by=user.pk, status="new")

    assert etag(auth_client) != before


@pytest.mark.parametrize(
    ("later", "changes"),
    [
        (datetime.timedelta(minutes=1), False),
        (datetime.timedelta(minutes=54, seconds=59), False),
        # The running job stalls (status and progress change) at 10:55.
        (datetime.timedelta(minutes=55), True),
    ],
)
def test_etag_changes_with_time_only_when_the_answer_does(auth_client, user, jobs, later, changes):
    before = etag(auth_client)

    with time_machine.travel(NOW + later, tick=False):
        auth_client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
        after = etag(auth_client)

    assert (after != before) is changes


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ("running", {"updated_at": ago(minutes=1), "file_type": "csv"}),
        ("archived", {"status": "active", "original_filename": "other.csv"}),
        ("others", {"status": "error"}),
    ],
)
def test_etag_stays_when_nothing_shown_changes(auth_client, jobs, change_dataset, change, fields):
    before = etag(auth_client)

    change_dataset(jobs[change], **fields)

    assert etag(auth_client) == before


def test_etag_changes_when_only_the_running_count_does(auth_client, user, make_dataset, change_dataset, settings):
    # Three running imports, two listed: the one cut off finishing leaves the body as it was, not X-Jobs-Running.
    settings.JOBS_MAX_RESULTS = 2
    uploads = [make_dataset(created_by=user.pk, status="new", created_at=ago(minutes=minutes))
               for minutes in (1, 2, 3)]
    before = auth_client.get(URL)

    change_dataset(uploads[2], status="inactive", updated_at=NOW)
    after = auth_client.get(URL, HTTP_IF_NONE_MATCH=before["ETag"])

    assert (after.status_code, after.json(), after["X-Jobs-Running"]) == (200, before.json(), "2")
    assert (before["X-Jobs-Running"], after["ETag"] != before["ETag"]) == ("3", True)


def test_etag_differs_between_users_with_different_answers(auth_client, api_client, other_user, jobs):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(other_user)}")

    assert etag(auth_client) != etag(api_client)


def test_hints_count_running_jobs_the_bound_cut_off(auth_client, user, make_dataset, settings):
    settings.JOBS_MAX_RESULTS = 2
    for minutes in (1, 2, 3):
        make_dataset(created_by=user.pk, status="new", created_at=ago(minutes=minutes))

    response = auth_client.get(URL)

    assert [job["started_at"] for job in response.json()] == ["2025-12-19T09:59:00Z", "2025-12-19T09:58:00Z"]
    assert [response[h] for h in ("X-Jobs-Running", "X-Jobs-Truncated", "X-Poll-Interval")] == ["3", "true", "10"]


@pytest.mark.parametrize(("query", "hints"), [
    ("", ["2", "false", "10"]),
    ("?status=completed", ["0", "false", "30"]),  # the hints describe the list asked for
    ("?status=running&type=import", ["2", "false", "10"]),
])
def test_hints_count_the_running_jobs_of_the_list_asked_for(auth_client, user, make_dataset, query, hints):
    for minutes in (1, 2):
        make_dataset(created_by=user.pk, status="new", created_at=ago(minutes=minutes))
    make_dataset(created_by=user.pk, status="inactive", updated_at=ago(minutes=1))

    response = auth_client.get(URL + query)

    assert [response[h] for h in ("X-Jobs-Running", "X-Jobs-Truncated", "X-Poll-Interval")] == hints


def test_idle_callers_are_told_to_poll_less_often(auth_client, user, make_dataset, settings):
    settings.JOBS_IDLE_POLL_INTERVAL = datetime.timedelta(minutes=1)
    make_dataset(created_by=user.pk, status="inactive", updated_at=ago(minutes=1))

    response = auth_client.get(URL)

    assert [response[h] for h in ("X-Jobs-Running", "X-Jobs-Truncated", "X-Poll-Interval")] == ["0", "false", "60"]


def test_empty_answer_has_hints_too(auth_client):
    response = auth_client.get(URL)

    assert [response[h] for h in ("X-Jobs-Running", "X-Jobs-Truncated", "X-Poll-Interval")] == ["0", "false", "30"]


@pytest.mark.parametrize("conditional", [False, True])
def test_a_poll_costs_one_query_for_the_datasets_and_one_for_the_user(
    auth_client, user, make_dataset, django_assert_max_num_queries, conditional
):
    for minutes in range(30):
        status = ("new", "inactive", "error")[minutes % 3]
        make_dataset(created_by=user.pk, status=status, updated_at=ago(minutes=minutes))
    headers = {"HTTP_IF_NONE_MATCH": etag(auth_client)} if conditional else {}

    with django_assert_max_num_queries(2) as captured:
        response = auth_client.get(URL, **headers)

    assert response.status_code == (304 if conditional else 200)
    [datasets_query] = [q["sql"] for q in captured.captured_queries if "datasets" in q["sql"]]
    selected = datasets_query.split(" FROM ")[0]
    assert "file_type" not in selected and '"created_by"' not in selected


def test_a_304_formats_and_renders_nothing(auth_client, jobs, monkeypatch):
    first = auth_client.get(URL)
    formatted = []
    to_representation = JobSerializer.to_representation
    monkeypatch.setattr(JobSerializer, "to_representation", lambda serializer, job: formatted.append(job.pk) or
                        to_representation(serializer, job))

    again = auth_client.get(URL, HTTP_IF_NONE_MATCH=first["ETag"])
    changed = auth_client.get(URL, HTTP_IF_NONE_MATCH='"0123456789abcdef0123456789abcdef"')

    assert (again.status_code, changed.status_code, formatted) == (
        304, 200, [jobs["running"].pk, jobs["completed"].pk]
    )
