import datetime

import pytest

from jobs.models import Dataset

from .conftest import NOW, ago

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

    compiled = Dataset.objects.jobs_page_for(user, job_statuses=job_statuses, job_types=job_types, now=moment)

    assert as_rows(compiled) == as_rows(queryset.with_list_totals().bounded())


def test_compiled_page_follows_settings_changes(user, history, settings):
    before = Dataset.objects.jobs_page_for(user, now=NOW)
    settings.JOBS_STALL_AFTER = datetime.timedelta(minutes=1)

    after = Dataset.objects.jobs_page_for(user, now=NOW)

    assert [job.job_status for job in before].count("running") == 2
    assert [job.job_status for job in after].count("running") == 1
