"""The ticks between full reads: they read only the listings whose answers can have changed, and leave every open
stream with what a full read, and the list, give at the same moment."""
import asyncio
import datetime
import uuid

import pytest
import time_machine
from asgiref.sync import async_to_sync, sync_to_async
from django.contrib.auth import get_user_model
from django.db import connections, router, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from model_bakery import baker

from jobs import stream
from jobs.models import Dataset
from jobs.stream.hub import LATE_CHANGE

from . import NOW, jobs_event
from .test_stream import hub, open_stream, polled, real_ago  # noqa: F401  (hub: this module's streams too)

pytestmark = pytest.mark.django_db

# The pages' read (`jobs_for_owners`, compiled): the job columns as Django's window filter names them, then the rules.
PAGE_COLUMNS = 'SELECT "col1", "col2", "col3", "col4", "col5", "col6", "col7", "col8", "col9", "job_status", ' \
    '"job_stalled", "job_type", "finished_at", "job_elapsed", "listed_total", "running_total", "owner_rank"'
STATUSES = ["new", "inactive", "error", "archived"]
# Moments in minutes before NOW: running, finished within and beyond JOBS_RETENTION, stalled, about to stall or age.
minutes = st.integers(min_value=0, max_value=150)
rows_strategy = st.lists(
    st.fixed_dictionaries({"owner": st.integers(0, 2), "status": st.sampled_from(STATUSES), "updated": minutes,
                           "age": st.integers(0, 30), "size": st.none() | st.integers(1, 10**9)}),
    max_size=12,
)
# What the imports service does between two ticks, each write setting `updated_at` to its own moment: a row's status
# changes, or a user uploads a file.
changes_strategy = st.lists(
    st.fixed_dictionaries({"row": st.integers(0, 11), "owner": st.integers(0, 2), "status": st.sampled_from(STATUSES),
                           "at": st.integers(0, 7200), "upload": st.booleans()}),
    max_size=4,
)


@pytest.fixture
def three_users(db):
    return [baker.make(get_user_model(), username=f"user{i}") for i in range(3)]


def datasets():
    return Dataset._base_manager.using(router.db_for_read(Dataset))


def insert(rows, users):
    made = [
        Dataset(id=uuid.uuid4(), name=f"file{n}.csv", status=row["status"], created_by=users[row["owner"]].pk,
                file_size=row["size"], created_at=NOW - datetime.timedelta(minutes=row["updated"] + row["age"]),
                updated_at=NOW - datetime.timedelta(minutes=row["updated"]))
        for n, row in enumerate(rows)
    ]
    return datasets().bulk_create(made)


def write(changes, made, users):
    for change in changes:
        moment = NOW + datetime.timedelta(seconds=change["at"])
        if change["upload"] or not made:
            upload = Dataset(id=uuid.uuid4(), name="upload.csv", status="new",
                             created_by=users[change["owner"]].pk, created_at=moment, updated_at=moment)
            datasets().bulk_create([upload])
        else:
            row = made[change["row"] % len(made)]
            datasets().filter(pk=row.pk).update(status=change["status"], updated_at=moment)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=rows_strategy, changes=changes_strategy, later=st.integers(1, 7200))
def test_a_read_between_full_reads_equals_the_full_read_at_the_same_moment(three_users, rows, changes, later):
    listings = [stream.Listing(user.pk) for user in three_users] + [
        stream.Listing(three_users[0].pk, job_statuses=("failed",)),
        stream.Listing(three_users[1].pk, job_types=("import",)),
    ]
    with transaction.atomic():
        made = insert(rows, three_users)
        with time_machine.travel(NOW, tick=False):
            first = stream.refresh(listings)
        write([change for change in changes if change["at"] <= later], made, three_users)
        with time_machine.travel(NOW + datetime.timedelta(seconds=later), tick=False):
            between = stream.refresh(listings, first, full=False, changed_since=NOW - LATE_CHANGE)
            full = stream.refresh(listings)
        transaction.set_rollback(True)

    assert {listing: page.etag for listing, page in {**first, **between}.items()} == {
        listing: page.etag for listing, page in full.items()
    }


def selects(captured):
    """The statements a read sent, but the savepoint that the test's transaction wraps it in."""
    return [query["sql"].split(" FROM ")[0] for query in captured if query["sql"].startswith("SELECT")]


def test_a_read_of_more_users_than_one_query_holds_is_split_and_padded(monkeypatch, make_dataset):
    monkeypatch.setattr(stream.pages, "USERS_PER_QUERY", 4)
    users = [baker.make(get_user_model(), username=f"user{i}") for i in range(7)]
    for minutes, user in enumerate(users, 1):
        make_dataset(created_by=user.pk, status="new", updated_at=NOW - datetime.timedelta(minutes=minutes))
    listings = [stream.Listing(user.pk) for user in users]

    with time_machine.travel(NOW, tick=False):
        with CaptureQueriesContext(connections[router.db_for_read(Dataset)]) as captured:
            pages = stream.tagged_pages(listings)
        statements = selects(captured)  # before the polls, whose requests reset the connection's log
        listed = {stream.Listing(user.pk): polled(user)[1] for user in users}

    # Four users (USER, owner_1 ... owner_3), then three padded to four: two statements, each page the list's.
    assert (statements, {listing: page.etag for listing, page in pages.items()}) == (
        [PAGE_COLUMNS, PAGE_COLUMNS], listed
    )


def test_a_read_between_full_reads_reads_only_what_can_have_changed(three_users, make_dataset, change_dataset):
    ann, ben, cem = three_users
    make_dataset(created_by=ann.pk, status="new", updated_at=NOW - datetime.timedelta(minutes=1))
    make_dataset(created_by=ben.pk, status="inactive", updated_at=NOW - datetime.timedelta(minutes=1))
    quiet = make_dataset(created_by=cem.pk, status="inactive", updated_at=NOW - datetime.timedelta(minutes=59))
    listings = [stream.Listing(user.pk) for user in three_users]
    with time_machine.travel(NOW, tick=False):
        first = stream.refresh(listings)

    with time_machine.travel(NOW + datetime.timedelta(seconds=30), tick=False):
        with CaptureQueriesContext(connections[router.db_for_read(Dataset)]) as probed:
            between = stream.refresh(listings, first, full=False, changed_since=NOW - LATE_CHANGE)
    with time_machine.travel(NOW + datetime.timedelta(seconds=90), tick=False):
        aged = stream.refresh(listings, first, full=False, changed_since=NOW - LATE_CHANGE)
        change_dataset(quiet, error_message="not shown: no new updated_at")
        with CaptureQueriesContext(connections[router.db_for_read(Dataset)]) as notified:
            # With notifications, the users they name are read as they are named: here only what time moves.
            nothing_moved = stream.refresh(listings, {**first, **aged}, full=False)

    # ann's import runs (its progress moves); cem's job left the retention window; ben's page stays as it was.
    assert (sorted(between), sorted(aged), list(nothing_moved)) == (
        [listings[0]], sorted([listings[0], listings[2]]), [listings[0]]
    )
    # Which users changed, then the pages to read; without the first query when notifications name them.
    assert (selects(probed), selects(notified)) == (
        ['SELECT DISTINCT "datasets"."created_by" AS "created_by"', PAGE_COLUMNS], [PAGE_COLUMNS]
    )


def test_a_new_upload_reaches_an_idle_stream_between_full_reads_without_notifications(
    user, make_dataset, settings
):
    settings.JOBS_STREAM_FULL_READ = datetime.timedelta(hours=1)
    make_dataset(created_by=user.pk, status="inactive", updated_at=real_ago(minutes=5))

    async def scenario():
        response = await open_stream(user)
        chunks = response.streaming_content
        opening = [await anext(chunks), await anext(chunks)]
        await asyncio.sleep(0.3)  # a few ticks between full reads, with nothing to read
        await sync_to_async(make_dataset)(created_by=user.pk, status="new", updated_at=real_ago(seconds=0))
        uploaded = await asyncio.wait_for(anext(chunks), timeout=3)
        await chunks.aclose()
        return opening, uploaded

    opening, uploaded = async_to_sync(scenario)()
    body, etag = polled(user)

    assert uploaded == jobs_event(etag, body)
    assert body.count(b'"running"') == 1


@pytest.mark.parametrize(
    ("status", "then"),
    [("inactive", b"[]"), ("new", b'"status":"failed"')],
    ids=["a finished job ages out", "a running import stalls"],
)
def test_a_change_of_time_alone_reaches_the_stream_within_a_tick_between_full_reads(
    user, make_dataset, settings, status, then
):
    settings.JOBS_STREAM_FULL_READ = datetime.timedelta(hours=1)
    # JOBS_RETENTION and JOBS_STALL_AFTER (an hour each) end a second from now.
    make_dataset(created_by=user.pk, status=status, updated_at=real_ago(minutes=60, seconds=-1))

    async def scenario():
        response = await open_stream(user)
        chunks = response.streaming_content
        await anext(chunks)
        first = await anext(chunks)
        moved = await asyncio.wait_for(anext(chunks), timeout=3)
        await chunks.aclose()
        return first, moved

    first, moved = async_to_sync(scenario)()
    body, etag = polled(user)

    assert then not in first
    assert moved == jobs_event(etag, body)
    assert then in body
