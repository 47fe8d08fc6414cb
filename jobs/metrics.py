"""Prometheus metrics of the jobs service, declared once; a scrape registry that is right with any number of workers."""
import os

from prometheus_client import CollectorRegistry, Counter, Histogram, multiprocess
from prometheus_client.core import GaugeMetricFamily

from .models import Dataset

# The in-process metrics. With PROMETHEUS_MULTIPROC_DIR set (before start-up), prometheus-client keeps
# their values in files in that directory instead, one per worker process, summed at scrape time.
REGISTRY = CollectorRegistry(auto_describe=True)

JOBS_ACTIVE_LATENCY = Histogram(
    "jobs_active_endpoint_latency_seconds",
    "Time to answer GET /api/v2/jobs/active, in seconds.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
    registry=REGISTRY,
)
HTTP_REQUESTS = Counter(
    "http_requests",
    "HTTP requests answered, by status code.",
    ["status"],
    registry=REGISTRY,
)
for _status in ("200", "400", "401", "403", "404", "500", "503"):
    HTTP_REQUESTS.labels(_status)


class JobsActiveCollector:
    """`jobs_active_count{status}`: the jobs the rules list right now, across all users, read at scrape time."""

    def describe(self):
        """Name the metric without querying the database."""
        return [GaugeMetricFamily("jobs_active_count", "")]

    def collect(self):
        """Count the listed jobs by job status in one query; every status is present, 0 when none."""
        gauge = GaugeMetricFamily(
            "jobs_active_count",
            "Jobs listed right now (running, or finished within the retention window), by job status, all users.",
            labels=["status"],
        )
        for status, count in Dataset.objects.jobs().count_by_job_status().items():
            gauge.add_metric([status], count)
        yield gauge


def multiprocess_dir():
    """Return the prometheus-client multiprocess directory, or None in single-process mode."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir")


def scrape_registry():
    """Return the registry one scrape reads: the jobs gauge plus this process's (or every worker's) metrics."""
    registry = CollectorRegistry()
    registry.register(JobsActiveCollector())
    if multiprocess_dir():
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(REGISTRY)
    return registry
