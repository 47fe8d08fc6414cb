import os
import subprocess
import sys

import pytest
from prometheus_client.parser import text_string_to_metric_families

from jobs.tests import ago

pytestmark = pytest.mark.django_db

URL = "/metrics"


def samples(response):
    """Return {(name, labels as a tuple): value} of a Prometheus text answer."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def test_jobs_active_count_counts_listed_jobs_of_all_users_by_status(client, user, other_user, make_dataset, now):
    for owner in (user, other_user):
        make_dataset(created_by=owner.pk, status="new", updated_at=ago(minutes=1))
    make_dataset(created_by=user.pk, status="new", updated_at=ago(hours=1, minutes=30))  # stalled: failed
    make_dataset(created_by=user.pk, status="inactive", updated_at=ago(hours=3))  # finished long ago: not listed
    make_dataset(created_by=user.pk, status="active")  # not a job

    response = client.get(URL)

    counts = {labels: value for (name, labels), value in samples(response).items() if name == "jobs_active_count"}
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert counts == {(("status", "running"),): 2, (("status", "completed"),): 0, (("status", "failed"),): 1}


def test_active_jobs_requests_are_timed_and_counted_by_status(client, auth_client):
    before = samples(client.get(URL))

    auth_client.get("/api/v2/jobs/active")
    auth_client.get("/api/v2/jobs/active/?status=nope")
    client.get("/api/v2/jobs/active")
    after = samples(client.get(URL))

    def delta(name, **labels):
        key = (name, tuple(sorted(labels.items())))
        return after[key] - before.get(key, 0)

    assert delta("jobs_active_endpoint_latency_seconds_count") == 3
    assert delta("jobs_active_endpoint_latency_seconds_bucket", le="+Inf") == 3
    # The first scrape is counted too.
    assert (delta("http_requests_total", status="200"), delta("http_requests_total", status="400")) == (2, 1)
    assert delta("http_requests_total", status="401") == 1


@pytest.mark.parametrize(
    ("remote", "headers", "token", "allowed", "expected"),
    [
        ("127.0.0.1", {}, "", None, 200),
        ("::1", {}, "", None, 200),
        ("10.1.2.3", {}, "", None, 403),
        ("10.1.2.3", {}, "", ["10.0.0.0/8"], 200),
        ("127.0.0.1", {"HTTP_X_FORWARDED_FOR": "203.0.113.9"}, "", None, 403),
        ("10.1.2.3", {"HTTP_AUTHORIZATION": "Bearer s3cret-scrape-token"}, "s3cret-scrape-token", None, 200),
        ("10.1.2.3", {"HTTP_AUTHORIZATION": "bearer s3cret-scrape-token"}, "s3cret-scrape-token", None, 200),
        ("10.1.2.3", {"HTTP_AUTHORIZATION": "Bearer wrong"}, "s3cret-scrape-token", None, 401),
        ("127.0.0.1", {"HTTP_AUTHORIZATION": "Bearer anything"}, "", None, 401),
    ],
)
def test_metrics_are_served_only_to_allowed_addresses_or_the_token(
    client, settings, remote, headers, token, allowed, expected
):
    settings.METRICS_BEARER_TOKEN = token
    if allowed is not None:
        settings.METRICS_ALLOWED_IPS = allowed

    response = client.get(URL, REMOTE_ADDR=remote, **headers)

    assert response.status_code == expected
    if expected != 200:
        assert set(response.json()) == {"detail"}


WORKER = """
import django
django.setup()
from django.test import Client
for _ in range({n}):
    Client().get("/healthz")
"""


def test_multiprocess_mode_sums_the_counts_of_every_worker(client, tmp_path, monkeypatch):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "databiz.settings"}
    for n in (2, 3):
        subprocess.run([sys.executable, "-c", WORKER.format(n=n)], env=env, check=True, timeout=60)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))

    scraped = samples(client.get(URL))

    assert scraped[("http_requests_total", (("status", "200"),))] == 5
    assert scraped[("jobs_active_count", (("status", "running"),))] == 0
