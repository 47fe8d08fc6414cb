"""The job history: every finished job of the caller, newest first, in cursor pages, filtered and searched."""
import base64
import datetime
import uuid
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
from django.db import connection, connections, router, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from jobs.models import Dataset

from . import DATABIZ_USER, NOW, SHARED_SECRET, ago

pytestmark = pytest.mark.django_db

URL = "/api/v2/jobs/history"


def item(dataset, status, finished_at, error=None, progress=None):
    """A job of the history as the API shows it (progress fixed: no import history to learn from)."""
    return {
        "id": str(dataset.id), "type": "import", "status": status,
        "progress": {"completed": 100, "failed": 0}[status] if progress is None else progress,
        "remaining_seconds": None, "filename": dataset.original_filename or dataset.name,
        "started_at": iso(dataset.created_at), "finished_at": iso(finished_at), "error": error,
    }


def iso(moment):
    return moment.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")


def ids(response):
    return [job["id"] for job in response.json()["results"]]


@pytest.fixture
def history(user, other_user, make_dataset):
    """The user's finished jobs, newest first, and what the history must leave out."""
    completed = make_dataset(created_by=user.pk, name="Sales", original_filename="sales_2025%.csv",
                             status="inactive", created_at=ago(minutes=12), updated_at=ago(minutes=10))
    failed = make_dataset(created_by=user.pk, name="Orders", original_filename=None, status="error",
                          error_message="Sheet 'Orders' is empty.", created_at=ago(days=2, minutes=5),
                          updated_at=ago(days=2))
    stalled = make_dataset(created_by=user.pk, original_filename="stuck.parquet", status="new",
                           created_at=ago(days=9, minutes=1), updated_at=ago(days=9))
    old = make_dataset(created_by=user.pk, original_filename="SALES-2019.CSV", status="inactive",
                       created_at=ago(days=400, minutes=3), updated_at=ago(days=400))
    # Left out: a running import, datasets that are no jobs, another user's jobs with the same filenames.
    make_dataset(created_by=user.pk, original_filename="sales-running.csv", status="new", updated_at=ago(minutes=1))
    make_dataset(created_by=user.pk, original_filename="sales-active.csv", status="active", updated_at=ago(days=1))
    make_dataset(created_by=other_user.pk, original_filename="sales_2025%.csv", status="inactive",
                 updated_at=ago(minutes=5))
    make_dataset(created_by=other_user.pk, original_filename="stuck.parquet", status="error", updated_at=ago(days=3))
    return {"completed": completed, "failed": failed, "stalled": stalled, "old": old}


def test_the_history_answers_every_finished_job_of_the_caller_newest_first(auth_client, history):
    response = auth_client.get(URL)

    assert response.status_code == 200
    assert response.json() == {
        "next": None,
        "previous": None,
        "results": [
            item(history["completed"], "completed", ago(minutes=10)),
            item(history["failed"], "failed", ago(days=2), error="Sheet 'Orders' is empty."),
            item(history["stalled"], "failed", ago(days=8, hours=23),
                 error=f"Import stalled: no update since {iso(ago(days=9))}."),
            item(history["old"], "completed", ago(days=400)),
        ],
    }
    assert (response["Cache-Control"], response["Vary"]) == ("private, no-cache", "Authorization, Cookie, origin")


def test_pages_follow_each_other_through_their_links_each_job_once(auth_client, history):
    first = auth_client.get(URL, {"page_size": 3})
    second = auth_client.get(first.json()["next"])
    back = auth_client.get(second.json()["previous"])

    assert [ids(first), ids(second), ids(back)] == [
        [str(history[name].id) for name in ("completed", "failed", "stalled")],
        [str(history["old"].id)],
        [str(history[name].id) for name in ("completed", "failed", "stalled")],
    ]
    assert (second.json()["next"], parse_qs(urlsplit(first.json()["next"]).query)["page_size"]) == (None, ["3"])


def test_jobs_updated_at_one_moment_are_paged_by_id_each_once_both_ways_with_no_offset(
    auth_client, user, make_dataset
):
    same = [make_dataset(created_by=user.pk, status="inactive", updated_at=ago(hours=2)) for _ in range(5)]
    pages, url, params = [], URL, {"page_size": 2}
    while url:
        pages.append(auth_client.get(url, params).json())
        url, params = pages[-1]["next"], None
    back = auth_client.get(pages[-1]["previous"]).json()
    cursors = [base64.b64decode(parse_qs(urlsplit(page[link]).query)["cursor"][0])
               for page in pages for link in ("next", "previous") if page[link]]

    by_id = [str(dataset.id) for dataset in sorted(same, key=lambda dataset: dataset.id, reverse=True)]
    assert [[job["id"] for job in page["results"]] for page in pages] == [by_id[:2], by_id[2:4], by_id[4:]]
    assert [job["id"] for job in back["results"]] == by_id[2:4]
    assert [cursor for cursor in cursors if b"o=" in cursor] == []


def test_a_link_given_before_positions_held_the_id_pages_on_as_it_did(auth_client, history):
    newest_first = ids(auth_client.get(URL))
    # As DRF wrote a position of `updated_at` alone: the moment's str(), url-encoded.
    after_failed = forged(urlencode({"p": str(history["failed"].updated_at)}).encode())
    before_stalled = forged(urlencode({"r": "1", "p": str(history["stalled"].updated_at)}).encode())

    second = auth_client.get(URL, {"page_size": 2, "cursor": after_failed})
    back = auth_client.get(URL, {"page_size": 1, "cursor": before_stalled})

    assert (ids(second), ids(back)) == (newest_first[2:4], newest_first[1:2])


def test_a_job_that_finishes_while_the_user_pages_on_joins_the_top_and_shifts_no_page(
    auth_client, history, make_dataset
):
    first = auth_client.get(URL, {"page_size": 2})
    newest = make_dataset(created_by=history["completed"].created_by, original_filename="new.csv",
                          status="inactive", updated_at=ago(seconds=1))
    second = auth_client.get(first.json()["next"])
    again = auth_client.get(URL, {"page_size": 2})

    assert [ids(first), ids(second), ids(again)] == [
        [str(history["completed"].id), str(history["failed"].id)],
        [str(history["stalled"].id), str(history["old"].id)],
        [str(newest.id), str(history["completed"].id)],
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "failed"}, ["failed", "stalled"]),
        ({"status": "completed,failed", "type": "import"}, ["completed", "failed", "stalled", "old"]),
        ({"finished_after": iso(ago(days=2))}, ["completed", "failed"]),
        # The stalled import finished (was reported failed) an hour after its last update.
        ({"finished_after": iso(ago(days=8, hours=23))}, ["completed", "failed", "stalled"]),
        ({"finished_after": iso(ago(days=8, hours=23) + datetime.timedelta(seconds=1))}, ["completed", "failed"]),
        ({"finished_before": iso(ago(days=2))}, ["stalled", "old"]),
        ({"finished_after": "2025-12-10T00:00:00+01:00", "finished_before": "2025-12-17T11:00:00+01:00"},
         ["stalled"]),
        ({"finished_after": "2025-12-10T00:00:00+01:00", "finished_before": "2025-12-17T11:00:01+01:00"},
         ["failed", "stalled"]),
        ({"q": "SALES"}, ["completed", "old"]),
        ({"q": "_2025%"}, ["completed"]),  # % and _ are the characters themselves
        ({"q": "sales_20"}, ["completed"]),  # not SALES-2019: _ is no wildcard
        ({"q": "%"}, ["completed"]),
        ({"q": "order"}, ["failed"]),  # no file name: the dataset's name
        ({"q": "sales", "status": "completed", "finished_after": iso(ago(days=1))}, ["completed"]),
        # Moments at the calendar's ends, whatever their offset: before or after every job.
        ({"finished_after": "0001-01-01T00:00:00+05:00"}, ["completed", "failed", "stalled", "old"]),
        ({"finished_before": "0001-01-01T00:00:00Z"}, []),
        ({"finished_after": "9999-12-31T23:59:59-05:00"}, []),
        ({"finished_before": "9999-12-31T23:59:59-23:59"}, ["completed", "failed", "stalled", "old"]),
    ],
)
def test_filters_narrow_the_history(auth_client, history, query, expected):
    response = auth_client.get(URL, query)

    assert (response.status_code, ids(response)) == (200, [str(history[name].id) for name in expected])


NOT_A_CURSOR = "Not a cursor of this list: follow the `next` and `previous` links as given."


def forged(text):
    """A cursor made by hand: DRF's encoding of a position (`p=`) or offset (`o=`) it never gave."""
    return base64.b64encode(text).decode()


@pytest.mark.parametrize(
    ("query", "body"),
    [
        ({"page_size": "0"}, {"page_size": ["Give one whole number from 1 to 200 (default 50)."]}),
        ({"page_size": "201"}, {"page_size": ["Give one whole number from 1 to 200 (default 50)."]}),
        ({"page_size": "ten"}, {"page_size": ["Give one whole number from 1 to 200 (default 50)."]}),
        ({"page_size": ["5", "6"]}, {"page_size": ["Give one whole number from 1 to 200 (default 50)."]}),
        *[({"cursor": cursor}, {"cursor": [NOT_A_CURSOR]})
          for cursor in ("not-a-cursor!", "%%%", "", forged(b"p=abc"), forged(b"p=2025-13-45T00:00:00Z"),
                         forged(b"o=-5"), forged(b"p=\x00"), forged(b"p=2025-12-01T10:00:00"),
                         forged(b"p=2025-12-01T10:00:00Z+not-an-id"))],
        ({"finished_after": "2025-12-01T10:00:00"},
         {"finished_after": ["This date-time has no UTC offset: add one, e.g. Z or +01:00."]}),
        ({"finished_after": ""},
         {"finished_after": ["Give an ISO 8601 date-time with its offset, e.g. 2026-12-01T09:30:00Z."]}),
        ({"finished_before": "yesterday"},
         {"finished_before": ["Give an ISO 8601 date-time with its offset, e.g. 2026-12-01T09:30:00Z."]}),
        ({"finished_before": ["2025-12-01T10:00:00Z", "2025-12-02T10:00:00Z"]},
         {"finished_before": ["Give this parameter once."]}),
        ({"q": "x" * 513}, {"q": ["Ensure this value has at most 512 characters (it has 513)."]}),
        ({"q": "  "}, {"q": ["Give a text to look for."]}),
        ({"page_size": "9" * 5000}, {"page_size": ["Give one whole number from 1 to 200 (default 50)."]}),
        ({"page_size": "\u0663"}, {"page_size": ["Give one whole number from 1 to 200 (default 50)."]}),
        ({"status": "running"}, {"status": ["Allowed values: completed, failed (one or more, comma-separated)."]}),
        ({"type": "upload"},
         {"type": ["Allowed values: import, export, validation, processing (one or more, comma-separated)."]}),
    ],
)
def test_a_bad_parameter_is_a_json_400_naming_it(auth_client, history, query, body):
    response = auth_client.get(URL, query)

    assert (response.status_code, response.json()) == (400, body)


def test_the_first_page_answers_304_to_its_etag_and_a_new_one_once_a_job_finishes(
    auth_client, history, make_dataset
):
    first = auth_client.get(URL)
    unchanged = auth_client.get(URL, HTTP_IF_NONE_MATCH=first["ETag"])
    make_dataset(created_by=history["old"].created_by, status="error", updated_at=ago(seconds=5))
    changed = auth_client.get(URL, HTTP_IF_NONE_MATCH=first["ETag"])
    later_page = auth_client.get(auth_client.get(URL, {"page_size": 1}).json()["next"])

    assert (unchanged.status_code, unchanged["ETag"], unchanged.content) == (304, first["ETag"], b"")
    assert (changed.status_code, changed["ETag"] != first["ETag"], len(ids(changed))) == (200, True, 5)
    assert (later_page.status_code, later_page.has_header("ETag")) == (200, False)


def test_the_first_page_indented_on_request_has_its_own_etag(auth_client, history):
    compact = auth_client.get(URL)
    indented = auth_client.get(URL, HTTP_ACCEPT="application/json; indent=2")
    held_compact = auth_client.get(URL, HTTP_ACCEPT="application/json; indent=2", HTTP_IF_NONE_MATCH=compact["ETag"])

    assert (indented.json(), indented["ETag"] != compact["ETag"]) == (compact.json(), True)
    assert (held_compact.status_code, held_compact.content) == (200, indented.content)


def test_the_history_needs_a_valid_token(api_client, history):
    response = api_client.get(URL, HTTP_AUTHORIZATION="Bearer not-a-token")

    assert (response.status_code, response["WWW-Authenticate"], response.json()["code"]) == (
        401, 'Bearer realm="api"', "token_not_valid"
    )


def test_a_page_is_one_query_whatever_the_history_holds(external_issuer, make_dataset, now):
    external_issuer()
    for days in range(120):
        make_dataset(created_by=DATABIZ_USER, status="inactive", updated_at=ago(days=days, minutes=1))
    client = APIClient()
    token = jwt.encode({"sub": str(DATABIZ_USER), "exp": NOW + datetime.timedelta(minutes=5)}, SHARED_SECRET)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    with CaptureQueriesContext(connections[router.db_for_read(Dataset)]) as first_page:
        first = client.get(URL, {"page_size": 100})
    with CaptureQueriesContext(connections[router.db_for_read(Dataset)]) as second_page:
        second = client.get(first.json()["next"])

    assert (len(ids(first)), len(ids(second)), second.json()["next"]) == (100, 20, None)
    # No transaction and no SET around it: on PostgreSQL the statement carries its values, planned for them.
    assert [statements(first_page), statements(second_page)] == [["SELECT"], ["SELECT"]]


def test_a_local_tokens_user_is_checked_in_the_pages_statement_on_postgresql(auth_client, user, make_dataset):
    make_dataset(created_by=user.pk, status="inactive", updated_at=ago(minutes=1))

    with CaptureQueriesContext(connections[router.db_for_read(Dataset)]) as captured:
        response = auth_client.get(URL)

    # The user's row (is the account still active?) and the page: one statement (run_joined), or two elsewhere.
    expected = ["SELECT"] if connection.vendor == "postgresql" else ["SELECT", "SELECT"]
    assert (len(ids(response)), statements(captured)) == (1, expected)


def statements(captured):
    """The statements a page sent, but the savepoints that the test's transaction wraps its transaction in."""
    return [query["sql"] if not query["sql"].startswith("SELECT") else "SELECT" for query in captured
            if "SAVEPOINT" not in query["sql"]]


def test_a_deactivated_user_with_a_valid_token_is_refused_even_holding_the_pages_etag(auth_client, user, history):
    etag = auth_client.get(URL)["ETag"]
    type(user).objects.filter(pk=user.pk).update(is_active=False)

    refused = [auth_client.get(URL), auth_client.get(URL, HTTP_IF_NONE_MATCH=etag)]

    # Checked in the page's own statement, before an ETag is made: never a 304 for the deactivated.
    assert [(response.status_code, response.json()) for response in refused] == [
        (401, {"detail": "User is inactive"}), (401, {"detail": "User is inactive"})
    ]


def test_a_forged_cursor_is_refused_before_the_database_is_asked(
    auth_client, history, django_assert_num_queries
):
    with django_assert_num_queries(0):  # the token's user is read with the page, which a refused cursor never asks
        refused = auth_client.get(URL, {"cursor": forged(b"p=abc")})

    assert refused.status_code == 400


# Histories of random jobs of two users, changed between page fetches as the imports service changes them.
STATUSES = ["new", "inactive", "error", "archived"]
# Rows updated a few minutes ago, around the stall (an hour) and long ago, many of them at one same moment: a
# cursor's position tells those apart by id (HistoryPosition).
rows_strategy = st.lists(
    st.fixed_dictionaries({"mine": st.booleans(), "status": st.sampled_from(STATUSES),
                           "updated": st.sampled_from([0, 1, 30, 59, 61, 62, 120, 60 * 24 * 30]),
                           "filename": st.sampled_from(["a.csv", None])}),
    max_size=30,
)


def reference_history(rows, owner):
    """The finished jobs of `owner` in the order the history gives them, by its rules written independently of the
    QuerySet: completed and failed ones, and imports with no update for an hour (failed), newest update first."""
    finished = [row for row in rows if row["owner"] == owner and (
        row["status"] in ("inactive", "error") or (row["status"] == "new" and NOW - row["updated_at"] >= HOUR)
    )]
    finished.sort(key=lambda row: (row["updated_at"], row["id"]), reverse=True)
    return [str(row["id"]) for row in finished]


HOUR = datetime.timedelta(hours=1)


def insert(rows, owners):
    made = [{"id": uuid.uuid4(), "owner": owners[row["mine"]], "status": row["status"],
             "updated_at": NOW - datetime.timedelta(minutes=row["updated"]), "filename": row["filename"]}
            for row in rows]
    Dataset._base_manager.using(router.db_for_read(Dataset)).bulk_create([
        Dataset(id=row["id"], name="n", original_filename=row["filename"], status=row["status"],
                created_by=row["owner"], created_at=row["updated_at"], updated_at=row["updated_at"])
        for row in made
    ])
    return made


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=rows_strategy, page_size=st.integers(1, 7), finishing=st.lists(st.booleans(), max_size=6))
def test_walking_every_page_gives_each_finished_job_of_the_caller_once_in_order(auth_client, user, other_user, now,
                                                                                unthrottled, rows, page_size,
                                                                                finishing):
    # Unthrottled: the examples' hundreds of pages all fall in the one minute NOW is frozen at.
    owners = {True: user.pk, False: other_user.pk}
    with transaction.atomic():
        made = insert(rows, owners)
        expected = reference_history(made, user.pk)
        walked, url, params = [], URL, {"page_size": page_size}
        for step, finishes in enumerate([*finishing, *[False] * (len(made) + 1)], start=1):
            response = auth_client.get(url, params)
            assert response.status_code == 200
            walked += ids(response)
            if response.json()["next"] is None:
                break
            url, params = response.json()["next"], None
            if finishes:
                finish_or_upload(made, user.pk, NOW + datetime.timedelta(seconds=step), owners)
        transaction.set_rollback(True)

    assert walked == expected


def finish_or_upload(made, owner, moment, owners):
    """Between two page fetches, as the imports service does: an import of `owner` that runs completes at `moment`
    (or, with none running, a new one completes at once). It joins the top of the history, above the pages walked."""
    running = [row for row in made if row["owner"] == owner and row["status"] == "new"
               and NOW - row["updated_at"] < HOUR]
    if not running:
        insert([{"mine": True, "status": "inactive", "updated": -1, "filename": None}], owners)
        return
    Dataset._base_manager.using(router.db_for_read(Dataset)).filter(pk=running[0]["id"]).update(
        status="inactive", updated_at=moment)
    running[0]["status"] = "inactive"


def test_the_history_of_another_user_is_never_answered(auth_client, user, other_user, make_dataset):
    make_dataset(created_by=other_user.pk, original_filename="theirs.csv", status="inactive", updated_at=ago(hours=2))
    mine = make_dataset(created_by=user.pk, original_filename="theirs.csv", status="inactive",
                        updated_at=ago(hours=3))

    assert [ids(auth_client.get(URL, {"q": "theirs"})), ids(auth_client.get(URL, {"q": "THEIRS", "page_size": 1}))] \
        == [[str(mine.id)], [str(mine.id)]]
