"""The stream: each event is what the list answers, one query per tick for every open stream, limits and faults."""
import asyncio
import datetime
import json
import time

import psycopg
import pytest
import time_machine
from asgiref.sync import async_to_sync, sync_to_async
from django.contrib.auth import get_user_model
from django.core.management import CommandError
from django.db import connection, transaction
from django.http import QueryDict
from django.test import AsyncClient
from django.utils import timezone
from model_bakery import baker
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from jobs import stream
from jobs.checks import check_jobs_settings
from jobs.stream.views import heartbeat_wait

from . import HEARTBEAT, NOW, RETRY, ago, jobs_event, run_command, stream_answers

pytestmark = pytest.mark.django_db

URL = "/api/v2/jobs/stream"
LIST = "/api/v2/jobs/active"


@pytest.fixture(autouse=True)
def hub(monkeypatch, settings):
    """A hub of this test's own, ticking fast, whose database calls run in the test's thread and transaction (the
    streams' own database thread would not see the test's rows)."""
    settings.JOBS_STREAM_TICK = datetime.timedelta(seconds=0.05)
    fresh = stream.StreamHub()
    monkeypatch.setattr(stream.hub, "HUB", fresh)
    monkeypatch.setattr(
        stream.hub, "in_database_thread", lambda function, executor=None: sync_to_async(function, thread_sensitive=True)
    )
    return fresh


def real_ago(**delta):
    """A moment before the real clock: the stream's ticks wait on the event loop's clock, which must run."""
    return timezone.now() - datetime.timedelta(**delta)


def bearer(user):
    return f"Bearer {AccessToken.for_user(user)}"


def polled(user, query=""):
    """What the list answers `user` now: (body, ETag)."""
    response = APIClient().get(f"{LIST}?{query}", HTTP_AUTHORIZATION=bearer(user))
    return response.content, response["ETag"]


@pytest.fixture
def people(db):
    return [baker.make(get_user_model(), username=name) for name in ("ann", "ben", "cem", "dee")]


def test_one_query_answers_every_user_exactly_as_the_list_does(people, make_dataset, settings, now,
                                                               django_assert_num_queries):
    settings.JOBS_MAX_RESULTS = 3
    ann, ben, cem, dee = people
    for minutes in range(5):
        make_dataset(created_by=ann.pk, status="new", created_at=ago(minutes=minutes))
    make_dataset(created_by=ann.pk, status="inactive", updated_at=ago(minutes=2))
    make_dataset(created_by=ben.pk, status="error", error_message="Bad sheet.", updated_at=ago(minutes=3))
    make_dataset(created_by=ben.pk, status="inactive", updated_at=ago(minutes=1))
    make_dataset(created_by=ben.pk, status="archived", updated_at=ago(minutes=1))
    make_dataset(created_by=cem.pk, status="new", updated_at=ago(hours=2))  # stalled
    make_dataset(created_by=cem.pk, status="inactive", updated_at=ago(hours=3))  # aged out

    with django_assert_num_queries(1):
        answers = stream_answers([stream.Listing(person.pk) for person in people])

    assert {person.username: astuple(answers[stream.Listing(person.pk)]) for person in people} == {
        person.username: polled(person) for person in people
    }
    assert [answers[stream.Listing(dee.pk)].body, answers[stream.Listing(ann.pk)].body.count(b'"running"')] == [
        b"[]", 3
    ]


def test_a_read_keeps_the_pages_whose_rows_did_not_change_and_remakes_the_others(people, make_dataset,
                                                                                 change_dataset, now):
    ann, ben, *_ = people
    make_dataset(created_by=ann.pk, status="inactive", updated_at=ago(minutes=2))
    changing = make_dataset(created_by=ben.pk, status="new", updated_at=ago(minutes=1))
    listings = [stream.Listing(ann.pk), stream.Listing(ben.pk)]
    first = stream.tagged_pages(listings)

    change_dataset(changing, status="inactive", updated_at=ago(seconds=30))
    second = stream.tagged_pages(listings, previous=first)

    assert (second[listings[0]] is first[listings[0]], second[listings[1]] is first[listings[1]]) == (True, False)
    assert [second[listing].etag for listing in listings] == [polled(ann)[1], polled(ben)[1]]


def test_a_stream_read_at_each_moment_equals_the_list_at_that_moment(people, make_dataset):
    ann, ben, *_ = people
    for size in range(1, 13):  # ben's import history: the speed that progress estimates use
        make_dataset(created_by=ben.pk, status="inactive", file_size=size * 1_048_576,
                     created_at=ago(days=1, seconds=5 + size * 16), updated_at=ago(days=1))
    make_dataset(created_by=ann.pk, status="new", file_size=10 * 1_048_576, created_at=ago(seconds=66),
                 updated_at=ago(seconds=60))
    make_dataset(created_by=ann.pk, status="inactive", updated_at=ago(minutes=50))
    listing, previous, seen = stream.Listing(ann.pk), None, []

    # Progress moves, then the completed import ages out of the retention window, then the running one stalls.
    for later in (0, 30, 60, 900, 3600):
        with time_machine.travel(NOW + datetime.timedelta(seconds=later), tick=False):
            pages = stream.tagged_pages([listing], previous=previous)
            answer, listed = pages[listing].answer, polled(ann)
        assert astuple(answer) == listed
        seen.append([(job["status"], job["progress"]) for job in json.loads(answer.body)])
        previous = pages

    assert seen == [
        [("running", 40), ("completed", 100)],
        [("running", 58), ("completed", 100)],
        [("running", 76), ("completed", 100)],
        [("running", 98)],
        [("failed", 98)],
    ]


def astuple(answer):
    return answer.body, answer.etag


@pytest.mark.parametrize("query", ["status=running", "status=failed,completed", "type=import", "type=export",
                                   "status=completed&type=import"])
def test_filtered_streams_answer_as_the_filtered_list_does_one_query_per_filter_shape(
    people, make_dataset, now, query, django_assert_num_queries
):
    ann, ben, *_ = people
    for person in (ann, ben):
        make_dataset(created_by=person.pk, status="new", updated_at=ago(minutes=1))
        make_dataset(created_by=person.pk, status="inactive", updated_at=ago(minutes=2))
        make_dataset(created_by=person.pk, status="error", updated_at=ago(minutes=3))
    chosen = stream.listing_of(ann.pk, QueryDict(query))
    listings = [chosen, chosen._replace(user_id=ben.pk), stream.Listing(ann.pk)]

    with django_assert_num_queries(2):
        answers = stream_answers(listings)

    assert [astuple(answers[listing]) for listing in listings] == [
        polled(ann, query), polled(ben, query), polled(ann)
    ]


@pytest.mark.parametrize(("query", "body"), [
    ("status=done", {"status": ["Allowed values: running, completed, failed (one or more, comma-separated)."]}),
    ("type=import&type=export",
     {"type": ["Give this parameter once, as one comma-separated list of: import, export, validation, processing."]}),
])
def test_a_stream_with_a_bad_filter_is_a_json_400_as_the_list_is(user, query, body):
    response = async_to_sync(AsyncClient().get)(f"{URL}?{query}", headers={"Authorization": bearer(user)})
    listed = APIClient().get(f"{LIST}?{query}", HTTP_AUTHORIZATION=bearer(user))

    assert (response.status_code, response.json()) == (400, body)
    assert (listed.status_code, listed.json()) == (400, body)


def read(response, count):
    """Read `count` chunks of a streaming answer, then close it."""

    async def chunks():
        got = []
        async for chunk in response.streaming_content:
            got.append(chunk)
            if len(got) == count:
                break
        await response.streaming_content.aclose()
        return got

    return chunks()


def open_stream(user, **headers):
    return AsyncClient().get(URL, headers={"Authorization": bearer(user), **headers})


def test_the_stream_opens_with_the_lists_answer_then_sends_each_change(user, make_dataset, change_dataset):
    dataset = make_dataset(created_by=user.pk, status="new", updated_at=real_ago(minutes=1))
    before = polled(user)

    async def scenario():
        response = await open_stream(user)
        chunks = response.streaming_content
        opening = [await anext(chunks), await anext(chunks)]
        await sync_to_async(change_dataset)(dataset, status="inactive", updated_at=real_ago(seconds=1))
        changed = await anext(chunks)
        await chunks.aclose()
        return response, opening, changed

    response, opening, changed = async_to_sync(scenario)()
    after = polled(user)

    assert (response.status_code, response["Content-Type"], response["Cache-Control"]) == (
        200, "text/event-stream", "no-cache"
    )
    assert opening == [
        RETRY, jobs_event(before[1], before[0])
    ]
    assert changed == jobs_event(after[1], after[0])
    assert before != after


def test_a_client_that_has_the_current_answer_gets_heartbeats_only(user, make_dataset, settings):
    settings.JOBS_STREAM_HEARTBEAT = datetime.timedelta(seconds=0.1)
    make_dataset(created_by=user.pk, status="inactive", updated_at=real_ago(minutes=1))
    current = polled(user)[1]

    async def scenario():
        return await read(await open_stream(user, **{"Last-Event-ID": current}), 3)

    assert async_to_sync(scenario)() == [RETRY, HEARTBEAT, HEARTBEAT]


@pytest.mark.parametrize("now, ends_at, wait", [
    (1000.0, 5000.0, 15.0),  # silent on a mark: one heartbeat period
    (1000.25, 5000.0, 15.75),  # between marks: to the first mark after the period...
    (1000.75, 5000.0, 15.25),  # ...the same mark as every stream silent since the same second
    (1000.25, 1010.0, 9.75),  # the stream's end comes first
    (1000.25, 999.0, 0.0),  # past its end
])
def test_a_heartbeat_falls_due_on_the_first_mark_after_a_heartbeat_period(settings, now, ends_at, wait):
    settings.JOBS_STREAM_HEARTBEAT = datetime.timedelta(seconds=15)

    with time_machine.travel(now, tick=False):
        assert heartbeat_wait(ends_at) == pytest.approx(wait)


def test_the_stream_ends_asking_for_a_new_token_when_the_token_expires(user):
    token = AccessToken.for_user(user)
    # `exp` is in whole seconds: 2 s from now leaves at least 1 s for the first event before the token expires.
    token.set_exp(lifetime=datetime.timedelta(seconds=2))

    async def scenario():
        response = await AsyncClient().get(URL, headers={"Authorization": f"Bearer {token}"})
        return await read(response, 10)

    chunks = async_to_sync(scenario)()

    assert chunks[0] == RETRY
    assert chunks[-1] == b'event: reauthenticate\ndata: {"detail": "The token has expired."}\n\n'
    assert chunks[1:-1] == [jobs_event(polled(user)[1], b"[]")]


def test_a_session_stream_ends_with_a_reconnection_hint_so_that_a_sign_out_reaches_it(user, settings):
    settings.JOBS_STREAM_SESSION_RECHECK = datetime.timedelta(seconds=1)
    client = AsyncClient()

    async def scenario():
        await client.aforce_login(user)
        chunks = await asyncio.wait_for(all_chunks(await client.get(URL)), timeout=5)
        await client.alogout()  # in another tab
        return chunks, await client.get(URL)

    chunks, reconnected = async_to_sync(scenario)()

    assert chunks == [RETRY, jobs_event(polled(user)[1], b"[]"), RETRY]
    assert (reconnected.status_code, reconnected.json()) == (401, {"detail": "Authentication credentials were not "
                                                                             "provided."})


@pytest.mark.parametrize(
    ("authorization", "body"),
    [(None, {"detail": "Authentication credentials were not provided."}),
     ("Bearer not-a-jwt", {"detail": "Given token not valid for any token type", "code": "token_not_valid",
                           "messages": [{"token_class": "AccessToken", "token_type": "access",
                                         "message": "Token is invalid"}]})],
    ids=["missing", "garbage"],
)
def test_an_unauthenticated_stream_is_a_json_401(authorization, body):
    headers = {"Authorization": authorization} if authorization else {}

    response = async_to_sync(AsyncClient().get)(URL, headers=headers)

    assert (response.status_code, response["WWW-Authenticate"], response.json()) == (401, 'Bearer realm="api"', body)


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_other_methods_on_the_stream_are_a_json_405(user, method):
    client = AsyncClient(enforce_csrf_checks=True)

    response = async_to_sync(getattr(client, method))(URL, headers={"Authorization": bearer(user)})

    assert (response.status_code, response["Allow"], response.json()) == (
        405, "GET, HEAD, OPTIONS", {"detail": f'Method "{method.upper()}" not allowed.'}
    )


@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])
def test_a_stream_with_too_many_query_parameters_is_a_json_400(user, settings, debug):
    settings.DEBUG = debug
    query = "&".join(f"p{i}=1" for i in range(1001))

    response = async_to_sync(AsyncClient().get)(f"{URL}?{query}", headers={"Authorization": bearer(user)})

    assert (response.status_code, response.json()) == (
        400, {"detail": "Too many query or form parameters.", "code": "bad_request"}
    )


def test_a_token_expiring_past_the_year_9999_is_a_json_401_on_the_stream(user):
    token = AccessToken.for_user(user)
    token.payload["exp"] = 253402300800

    response = async_to_sync(AsyncClient().get)(URL, headers={"Authorization": f"Bearer {token}"})

    assert (response.status_code, response.json()) == (
        401, {"detail": "Token has an invalid time claim", "code": "token_not_valid"}
    )


def test_streams_beyond_the_limits_are_refused_with_retry_after(user, other_user, settings, hub):
    settings.JOBS_STREAM_MAX_PER_USER = 1
    settings.JOBS_STREAM_MAX_PER_PROCESS = 1

    async def scenario():
        held = await open_stream(user)
        await anext(held.streaming_content)  # the stream is open once its first chunk is read
        answers = [await open_stream(user), await open_stream(other_user)]
        await held.streaming_content.aclose()
        return answers

    same_user, other = async_to_sync(scenario)()

    assert [(r.status_code, r["Retry-After"], r.json()) for r in (same_user, other)] == [
        (429, "5", {"detail": "Too many open streams for this user: close one, or poll."}),
        (503, "5", {"detail": "This server holds as many streams as it can: poll, or try again shortly."}),
    ]
    assert hub.open_count() == 0


def test_a_stream_holds_only_its_latest_unsent_answer_and_its_end_replaces_any():
    answers = [stream.Answer(b"[]", f'"{n}"') for n in range(3)]

    async def scenario():
        mailbox = stream.Mailbox()
        waiting = asyncio.ensure_future(mailbox.get())
        await asyncio.sleep(0)
        mailbox.put(answers[0])
        woken = await waiting
        for answer in answers:  # a stream that sends slowly: three answers arrive before it takes one
            mailbox.put(answer)
        latest = await mailbox.get()
        mailbox.put(answers[0])
        mailbox.put(stream.COME_BACK_LATER)
        mailbox.put(answers[1])  # the end stays the end
        return woken, latest, await mailbox.get(), mailbox.take()

    assert async_to_sync(scenario)() == (answers[0], answers[2], stream.COME_BACK_LATER, None)


def test_a_stopping_server_ends_each_stream_with_a_retry_hint_and_refuses_new_ones(user, make_dataset, hub):
    make_dataset(created_by=user.pk, status="new", updated_at=real_ago(minutes=1))

    async def scenario():
        held = await open_stream(user)
        chunks = held.streaming_content
        opening = [await anext(chunks), await anext(chunks)]
        hub.stop()
        rest = [chunk async for chunk in chunks]
        return opening, rest, await open_stream(user)

    opening, rest, refused = async_to_sync(scenario)()

    assert (opening[0], opening[1].startswith(b"event: jobs\n")) == (RETRY, True)
    assert rest == [RETRY]
    assert (refused.status_code, refused["Retry-After"], refused.json()) == (
        503, "5", {"detail": "This server is stopping: poll, or try again shortly."}
    )
    assert hub.open_count() == 0


def test_a_database_outage_keeps_the_streams_and_they_catch_up_when_it_is_back(user, make_dataset, hub):
    make_dataset(created_by=user.pk, status="inactive", updated_at=real_ago(minutes=1))

    async def scenario():
        mailbox = hub.subscribe(stream.Listing(user.pk))
        hub.task.cancel()  # tick by hand
        await sync_to_async(rename, thread_sensitive=True)("datasets", "datasets_away")
        await hub.tick()
        during = (mailbox.take(), hub.open_count(user.pk))
        await sync_to_async(rename, thread_sensitive=True)("datasets_away", "datasets")
        await hub.tick()
        return during, mailbox.take()

    during, answer = async_to_sync(scenario)()

    assert (during, answer.etag) == ((None, 1), polled(user)[1])


def test_an_answer_read_before_the_one_already_sent_is_not_sent(user, make_dataset, hub):
    make_dataset(created_by=user.pk, status="new", updated_at=real_ago(minutes=1))

    async def scenario():
        mailbox = hub.subscribe(stream.Listing(user.pk))
        hub.task.cancel()  # tick by hand
        hub.fresh.clear()
        # A notification's read started after this tick's and already handed out its (newer) answer.
        hub.sent[stream.Listing(user.pk)] = ('"newer"', float("inf"))
        await hub.tick()
        stale = mailbox.take()
        hub.sent[stream.Listing(user.pk)] = ('"older"', 0.0)
        await hub.tick()
        return stale, mailbox.take()

    stale, answer = async_to_sync(scenario)()

    assert (stale, answer.etag) == (None, polled(user)[1])


def test_an_older_read_finishing_after_a_newer_one_that_found_no_change_is_not_sent(user, make_dataset, hub):
    make_dataset(created_by=user.pk, status="new", updated_at=real_ago(minutes=1))
    listing = stream.Listing(user.pk)

    async def scenario():
        mailbox = hub.subscribe(listing)
        hub.task.cancel()  # tick by hand
        await hub.tick()
        first = mailbox.take()
        older_read_started = time.perf_counter()
        await hub.tick()  # a newer read: the same answer, nothing to send
        # The older read ends last, with the answer of before a change that the newer read no longer saw.
        hub.hand_out({listing: stream.TaggedPage(stream.Answer(b"[]", '"before"'))}, older_read_started)
        return first, mailbox.take()

    first, queued = async_to_sync(scenario)()

    assert (first.etag, queued) == (polled(user)[1], None)


def test_a_new_stream_waits_for_a_read_that_started_after_it_opened(user, make_dataset, hub):
    make_dataset(created_by=user.pk, status="new", updated_at=real_ago(minutes=1))
    listing = stream.Listing(user.pk)

    async def scenario():
        read_started = time.perf_counter()
        mailbox = hub.subscribe(listing)
        hub.task.cancel()  # tick by hand
        hub.hand_out({listing: stream.TaggedPage(stream.Answer(b"[]", '"before"'))}, read_started)
        early = mailbox.take()
        await hub.tick()
        return early, mailbox.take()

    early, answer = async_to_sync(scenario)()

    assert (early, answer.etag) == (None, polled(user)[1])


async def all_chunks(response):
    return [chunk async for chunk in response.streaming_content]


def test_streams_asked_for_at_once_beyond_the_limit_end_with_a_retry_hint(user, settings, hub):
    settings.JOBS_STREAM_MAX_PER_USER = 1

    async def scenario():
        # Both pass the view's check: neither has started, so neither is open yet.
        first, second = await open_stream(user), await open_stream(user)
        opened = [await anext(second.streaming_content), await anext(second.streaming_content)]
        late = await asyncio.wait_for(all_chunks(first), timeout=5)
        open_then = hub.open_count()
        await second.streaming_content.aclose()
        return (first.status_code, second.status_code), opened, late, open_then

    statuses, opened, late, open_then = async_to_sync(scenario)()

    assert statuses == (200, 200)
    assert opened == [RETRY, jobs_event(polled(user)[1], b"[]")]
    assert (late, open_then, hub.open_count()) == ([RETRY, RETRY], 1, 0)


def test_a_tick_that_fails_unexpectedly_leaves_the_streams_to_the_next_one(user, make_dataset, hub, monkeypatch,
                                                                           caplog):
    make_dataset(created_by=user.pk, status="new", updated_at=real_ago(minutes=1))
    read = stream.refresh
    failures = []

    def fails_twice(listings, previous=None, **reads):
        if len(failures) < 2:  # the first read of the ticker and of the new stream's refresh, in either order
            failures.append(len(listings))
            raise RuntimeError("a bug")
        return read(listings, previous, **reads)

    monkeypatch.setattr(stream.hub, "refresh", fails_twice)

    async def scenario():
        response = await open_stream(user)
        chunks = response.streaming_content
        opening = [await anext(chunks), await asyncio.wait_for(anext(chunks), timeout=5)]
        await chunks.aclose()
        return opening

    opening = async_to_sync(scenario)()
    body, etag = polled(user)

    assert opening == [RETRY, jobs_event(etag, body)]
    assert (failures, caplog.text.count("A stream tick failed; the next one tries again.")) == ([1, 1], 2)


def test_the_hub_serves_streams_on_a_new_event_loop(user, other_user, settings, hub):
    settings.JOBS_STREAM_TICK = datetime.timedelta(seconds=30)  # after their first tick, only new streams' reads

    async def scenario():
        held = await open_stream(user)
        first = [await anext(held.streaming_content), await anext(held.streaming_content)]
        # A new stream is read at once (not at the next tick, 30 s away).
        late = await open_stream(other_user)
        second = [await anext(late.streaming_content),
                  await asyncio.wait_for(anext(late.streaming_content), timeout=5)]
        await held.streaming_content.aclose()
        await late.streaming_content.aclose()
        return first[1], second[1]

    # Each async_to_sync runs its own event loop, as each test (or a restarted server) does.
    loops = [async_to_sync(scenario)(), async_to_sync(scenario)()]

    events = [jobs_event(polled(who)[1], b"[]") for who in (user, other_user)]
    assert loops == [tuple(events), tuple(events)]


def rename(old, new):
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {old} RENAME TO {new}")


def test_a_wsgi_server_refuses_the_stream_so_that_clients_poll(user):
    response = APIClient().get(URL, HTTP_AUTHORIZATION=bearer(user))

    assert (response.status_code, response["Retry-After"], response.json()) == (
        503, "5", {"detail": "This server does not stream (it is not an ASGI server): poll /api/v2/jobs/active."}
    )


@pytest.fixture
def notifying_datasets(transactional_db, settings, user):
    """The imports team's trigger on the test database's `datasets`, and a channel configured; removed after."""
    settings.JOBS_STREAM_NOTIFY_CHANNEL = "databiz_jobs_test"
    with connection.cursor() as cursor:
        cursor.execute(stream.notify_sql("databiz_jobs_test"))
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER IF EXISTS databiz_jobs_notify ON datasets")
        cursor.execute("DROP FUNCTION IF EXISTS databiz_jobs_notify()")
        cursor.execute("DELETE FROM datasets WHERE created_by = %s", [user.pk])


def test_the_tick_slows_to_the_notified_tick_while_notifications_are_listened_to(settings, hub):
    settings.JOBS_STREAM_TICK = datetime.timedelta(seconds=2)
    settings.JOBS_STREAM_NOTIFIED_TICK = datetime.timedelta(seconds=5)

    periods = [hub.tick_period()]
    hub.listening.set()
    periods.append(hub.tick_period())
    hub.listening.clear()  # LISTEN lost: the changes are found by the tick again
    periods.append(hub.tick_period())

    assert periods == [2.0, 5.0, 2.0]


@pytest.mark.postgresql
def test_a_notified_change_reaches_the_stream_at_once_without_waiting_for_the_tick(
    notifying_datasets, user, make_dataset, change_dataset, settings, hub
):
    settings.JOBS_STREAM_TICK = settings.JOBS_STREAM_NOTIFIED_TICK = datetime.timedelta(seconds=30)
    dataset = make_dataset(created_by=user.pk, status="new", updated_at=real_ago(minutes=1))

    async def scenario():
        response = await open_stream(user)
        chunks = response.streaming_content
        opening = [await anext(chunks), await anext(chunks)]
        await asyncio.wait_for(hub.listening.wait(), timeout=5)
        changed_at = asyncio.get_running_loop().time()
        await sync_to_async(change_dataset)(dataset, status="inactive", updated_at=real_ago(seconds=1))
        event = await asyncio.wait_for(anext(chunks), timeout=5)
        latency = asyncio.get_running_loop().time() - changed_at
        await chunks.aclose()
        return opening, event, latency

    opening, event, latency = async_to_sync(scenario)()
    body, etag = polled(user)

    assert event == jobs_event(etag, body)
    assert b'"completed"' in body and latency < 1.0
    assert opening[0] == RETRY


def test_the_trigger_sql_names_the_channel_and_is_printed_by_a_command(settings):
    settings.JOBS_STREAM_NOTIFY_CHANNEL = "imports_changed"

    output = run_command("jobs_notify_sql")

    assert output == stream.notify_sql("imports_changed")
    assert output.count("PERFORM pg_notify('imports_changed', ") == 2


@pytest.mark.parametrize("channel", ["x$$; DROP TABLE datasets; $$", "imports changed", "1imports", "c" * 64])
def test_a_channel_that_is_no_plain_identifier_is_refused(channel, settings):
    settings.JOBS_STREAM_NOTIFY_CHANNEL = channel

    with pytest.raises(CommandError) as error:
        run_command("jobs_notify_sql")

    message = (f"The channel {channel!r} is not a plain PostgreSQL identifier (letters, digits and _, not starting "
               "with a digit, at most 63 characters).")
    assert str(error.value) == message
    # This module's fixture ticks faster than JOBS_STREAM_TICK's range allows: that is reported too.
    assert [(e.id, e.msg) for e in check_jobs_settings()] == [
        ("jobs.E002", "JOBS_STREAM_TICK must be a value from 0.1 s to 1 hour, not 0:00:00.050000."),
        ("jobs.E004", f"JOBS_STREAM_NOTIFY_CHANNEL: {message}"),
    ]


@pytest.mark.postgresql
def test_the_trigger_notifies_every_owner_a_change_touches_once_per_transaction(
    notifying_datasets, user, other_user, make_dataset, change_dataset
):
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as listener:
        listener.execute('LISTEN "databiz_jobs_test"')
        dataset = make_dataset(created_by=user.pk, status="processing")
        change_dataset(dataset, status="completed")
        change_dataset(dataset, created_by=other_user.pk)  # given to another user: both lists change
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM datasets WHERE id = %s", [dataset.pk])
        with transaction.atomic():  # twice the same owner in one transaction: one notification
            change_dataset(make_dataset(created_by=user.pk, status="processing"), status="failed")
        payloads = [notification.payload for notification in listener.notifies(timeout=2, stop_after=6)]

    assert payloads == [str(user.pk), str(user.pk), str(user.pk), str(other_user.pk), str(other_user.pk),
                        str(user.pk)]
