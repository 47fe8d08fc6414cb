import datetime
import uuid
from types import SimpleNamespace

import pytest
from django.db import router
from django.db.models import Count
from django.utils import timezone

from jobs import conf
from jobs.authentication import token_user_check_queryset
from jobs.compiled import NOW as NOW_PARAMETER
from jobs.compiled import CompileError, ParameterUser, compiled, compiled_for_clients, run_joined
from jobs.models import (
    HISTORY_ORDER,
    REVERSED_HISTORY_ORDER,
    Dataset,
    HistoryPosition,
    history_page_queryset,
    jobs_page_queryset,
)

from . import NOW, ago, poll_queries

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(user, other_user, make_dataset):
    for owner in (user, other_user):
        for minutes, status in enumerate(["new", "inactive", "error", "active", "archived", "weird"] * 3):
            make_dataset(created_by=owner.pk, status=status, created_at=ago(minutes=minutes * 9 + 2),
                         updated_at=ago(minutes=minutes * 9))


def as_rows(jobs):
    return [
        (job.pk, job.job_status, job.finished_at, job.error, job.progress, job.remaining_seconds, job.running_total,
         job.listed_total)
        for job in jobs
    ]


@pytest.mark.parametrize(
    ("job_statuses", "job_types"),
    [((), ()), (("running",), ()), (("failed", "completed"), ()), ((), ("import",)), ((), ("export",)),
     (("running", "failed"), ("import", "export"))],
)
@pytest.mark.parametrize("moment", [NOW, NOW + datetime.timedelta(minutes=40), NOW - datetime.timedelta(days=1)])
def test_compiled_page_equals_the_queryset_it_was_compiled_from(user, history, settings, job_statuses, job_types,
                                                                moment):
    settings.JOBS_MAX_RESULTS = 7
    queryset = Dataset.objects.jobs_for(user, now=moment)
    if job_statuses:
        queryset = queryset.with_job_status(*job_statuses)
    if job_types:
        queryset = queryset.with_job_type(*job_types)

    compiled = Dataset.objects.jobs_page_for(user, now=moment)
    if job_statuses:
        compiled = compiled.with_job_status(*job_statuses)
    if job_types:
        compiled = compiled.with_job_type(*job_types)

    assert as_rows(compiled) == as_rows(queryset.with_list_totals().bounded())


def as_history_rows(jobs):
    return [(job.pk, job.job_status, job.finished_at, job.error, job.filename) for job in jobs]


@pytest.mark.parametrize(
    "narrowing",
    [
        [],
        [("with_job_status", "failed")],
        [("with_job_type", "import", "export")],
        [("with_job_type", "export")],
        [("finished_after", ago(minutes=60))],
        [("finished_before", ago(minutes=60))],
        [("filename_contains", "%")],  # a character, not a pattern: one file, not all
        [("filename_contains", "s_2")],  # not a wildcard either: not SALES-2019
        [("filename_contains", "SAL")],
        [("with_job_status", "completed"), ("finished_after", ago(minutes=100)), ("finished_before", ago(minutes=20)),
         ("filename_contains", "a")],
    ],
)
@pytest.mark.parametrize(
    ("ordering", "lookup"),
    # As DRF's cursor asks: the jobs after a position, or before it for a cursor walking back.
    [(HISTORY_ORDER, None), (HISTORY_ORDER, "updated_at__lt"), (REVERSED_HISTORY_ORDER, "updated_at__gt")],
)
@pytest.mark.parametrize("limits", [(0, 4), (2, 7)])
def test_compiled_history_page_equals_the_queryset_it_was_compiled_from(user, history, make_dataset, narrowing,
                                                                        ordering, lookup, limits):
    for minutes, filename in enumerate(["sales_2025%.csv", "SALES-2019.csv", "orders"], start=1):
        make_dataset(created_by=user.pk, status="inactive", original_filename=filename, updated_at=ago(minutes=minutes))
    # Updated at the same moment as SALES-2019.csv: the position's id tells them apart.
    twin = make_dataset(created_by=user.pk, status="error", original_filename="twin.csv", updated_at=ago(minutes=2))
    queryset = Dataset.objects.history_for(user, now=NOW)
    page = Dataset.objects.history_page_for(user, now=NOW)
    for method, *values in narrowing:
        queryset, page = getattr(queryset, method)(*values), getattr(page, method)(*values)
    queryset, page = queryset.order_by(*ordering), page.order_by(*ordering)
    if lookup:
        position = HistoryPosition.of(twin)
        queryset, page = queryset.past(position, back=lookup == "updated_at__gt"), page.filter(**{lookup: position})

    assert as_history_rows(page[slice(*limits)]) == as_history_rows(queryset[slice(*limits)])


def test_a_compiled_history_page_answers_the_finished_jobs_newest_first(user, history):
    # The table above compares two answers; this pins one of them, so both cannot be empty together.
    page = list(Dataset.objects.history_page_for(user, now=NOW)[0:3])

    assert [(job.job_status, job.finished_at) for job in page] == [
        ("completed", ago(minutes=9)), ("failed", ago(minutes=18)), ("completed", ago(minutes=63))
    ]


def test_running_compiled_sql_without_one_of_its_values_fails_loudly(user):
    query = compiled_for_clients(history_page_queryset, router.db_for_read(Dataset), (), (), ("finished_after",),
                                 HISTORY_ORDER, None, (0, 5), conf.rules_key())

    with pytest.raises(CompileError) as error:
        query.run(user.pk, NOW)

    assert str(error.value) == "The compiled SQL's 'finished_after' parameter was given no value."


def test_compiled_page_follows_settings_changes(user, history, settings):
    before = list(Dataset.objects.jobs_page_for(user, now=NOW))
    settings.JOBS_STALL_AFTER = datetime.timedelta(minutes=1)

    after = Dataset.objects.jobs_page_for(user, now=NOW)

    assert [job.job_status for job in before].count("running") == 2
    assert [job.job_status for job in after].count("running") == 1


def unbound_jobs(using):
    return Dataset._base_manager.using(using).filter(status="new")


def jobs_at_the_real_clock(using):
    return Dataset.objects.using(using).jobs_for(ParameterUser, now=timezone.now())


def jobs_of_one_real_user(using):
    return Dataset.objects.using(using).jobs_for(ParameterUser, now=NOW_PARAMETER).filter(created_by=uuid.UUID(int=7))


def test_compiling_a_queryset_without_the_user_parameter_fails_loudly():
    with pytest.raises(CompileError) as error:
        compiled(unbound_jobs, "default")

    assert str(error.value) == (
        "Cannot compile the Dataset QuerySet: it has no 'user' parameter, so every user would get the same rows."
    )


def test_compiling_a_moment_read_from_the_clock_fails_loudly():
    with pytest.raises(CompileError) as error:
        compiled(jobs_at_the_real_clock, "default")

    assert str(error.value).startswith(
        "Cannot compile the Dataset QuerySet: these values change from one build to the next and would be frozen at "
        "compile time: ["
    )
    assert str(error.value).endswith("] (derive moments from NOW).")


@pytest.mark.postgresql
def test_compiling_a_user_id_written_in_fails_loudly_where_types_survive():
    with pytest.raises(CompileError) as error:
        compiled(jobs_of_one_real_user, "default")

    assert str(error.value) == (
        "Cannot compile the Dataset QuerySet: these moments or ids are constants and would be frozen at compile time: "
        "[UUID('00000000-0000-0000-0000-000000000007')] (derive moments from NOW, take the user from USER)."
    )


@pytest.mark.parametrize(
    ("make_page", "attempts", "message"),
    [
        (
            Dataset.objects.jobs_page_for,
            (lambda page: page.filter(status="new"), lambda page: page.order_by("pk"),
             lambda page: page.aggregate(n=Count("pk")), lambda page: list(page.iterator()),
             lambda page: page.values("pk"), lambda page: page[0]),
            "A page of jobs runs compiled SQL: narrow it with with_job_status() or with_job_type(), or use "
            "Dataset.objects.jobs_for() for a QuerySet of your own.",
        ),
        (
            Dataset.objects.history_page_for,
            (lambda page: page.filter(status="new"), lambda page: page.filter(updated_at__lte=NOW),
             lambda page: page.order_by("pk"), lambda page: page.aggregate(n=Count("pk")),
             lambda page: page.values("pk"), lambda page: page[0], lambda page: page[2:7][0:2],
             lambda page: page[0:5].filter(updated_at__lt=NOW),
             lambda page: page.filter(updated_at__lt=NOW).filter(updated_at__lt=NOW)),
            "A page of the job history runs compiled SQL: narrow it with the history's filters (with_job_status(), "
            "finished_after(), ...), or use Dataset.objects.history_for() for a QuerySet of your own.",
        ),
    ],
    ids=["jobs", "history"],
)
def test_a_page_refuses_what_would_run_other_sql(user, history, make_page, attempts, message):
    page = make_page(user, now=NOW)
    refusals = []
    for attempt in attempts:
        with pytest.raises(TypeError) as error:
            attempt(page)
        refusals.append(str(error.value))

    assert refusals == [message] * len(attempts)


def test_a_pages_count_is_the_pages_not_the_tables(user, history, settings):
    settings.JOBS_MAX_RESULTS = 4
    page = Dataset.objects.jobs_page_for(user, now=NOW)

    assert (page.count(), [job.pk for job in page]) == (
        4, [job.pk for job in Dataset.objects.jobs_for(user, now=NOW).bounded()]
    )


@pytest.mark.parametrize("who", ["user with jobs", "user without jobs", "no such user"])
def test_the_users_row_and_the_page_are_read_together(user, other_user, make_dataset, who,
                                                      django_assert_num_queries):
    for minutes, status in enumerate(["new", "inactive", "error", "new"]):
        make_dataset(created_by=user.pk, status=status, updated_at=ago(minutes=minutes))
    user_id = {"user with jobs": user.pk, "user without jobs": other_user.pk, "no such user": uuid.uuid4()}[who]
    user_query = compiled(token_user_check_queryset, "default")
    page_query = compiled(jobs_page_queryset, Dataset.objects.db, (), (), conf.rules_key())

    with django_assert_num_queries(poll_queries()):
        users, jobs = run_joined(user_query, page_query, user_id, NOW)

    page = Dataset.objects.jobs_for(SimpleNamespace(pk=user_id), now=NOW).with_list_totals().bounded()
    assert ([u.pk for u in users], as_rows(jobs)) == ([] if who == "no such user" else [user_id], as_rows(page))
    assert len(jobs) == (4 if who == "user with jobs" else 0)
