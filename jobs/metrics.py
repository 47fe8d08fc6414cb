"""Metrics of the jobs domain, read at scrape time (the /metrics endpoint is databiz/metrics.py)."""
from prometheus_client.core import GaugeMetricFamily

from .models import Dataset


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
