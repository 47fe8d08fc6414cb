"""The learned import speed that progress estimates use: cached, and fetched at most once for a list of jobs.

The learning itself is a query of the import history, `Dataset.objects.import_speed()` (jobs/models.py).
"""
import functools

from django.apps import apps
from django.core.cache import cache
from django.db.models.query import ModelIterable

from . import conf

_MISSING = object()


def learned_import_speed(using="default"):
    """Return the import speed of `Dataset.objects.import_speed()`, cached for `JOBS_PROGRESS_CACHE`."""
    # Every setting the learning query reads is in the key: a changed setting is never answered from the cache.
    key = ":".join([
        "jobs.import_speed", using, str(conf.progress_history().total_seconds()), str(conf.progress_min_sample()),
        ",".join(f"{status}>{job_status}" for status, job_status in sorted(conf.status_map().items())),
    ])
    speed = cache.get(key, default=_MISSING)
    if speed is _MISSING:
        speed = apps.get_model("jobs", "Dataset").objects.using(using).import_speed()
        cache.set(key, speed, timeout=conf.progress_cache().total_seconds())
    return speed


def share_import_speed(datasets, using):
    """Give the datasets of one list one lazily fetched import speed, so the list costs at most one query for it."""
    speed = functools.cache(functools.partial(learned_import_speed, using))
    for dataset in datasets:
        dataset._import_speed = speed
        yield dataset


class JobIterable(ModelIterable):
    """Datasets that share one lazily fetched import speed."""

    def __iter__(self):
        return share_import_speed(super().__iter__(), self.queryset.db)
