"""The learned import speed that progress estimates use: learned in the background, never on a poll's path.

Learning is one aggregate query over the import history of every user (`Dataset.objects.import_speed()`): a scan
that takes long on a large table. So a poll only ever reads the last speed this process learned (None before the
first, which means fixed progress) and, when that is older than JOBS_PROGRESS_CACHE, starts one refresh in a thread
of its own. A refresh that fails or times out keeps the last speed: a poll is never slowed or failed by it.
"""
import functools
import logging
import threading
import time
from dataclasses import dataclass, field

from django.apps import apps
from django.db import DatabaseError, connections
from django.db.models.query import ModelIterable

from . import conf
from .conf import jobs_settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Learned:
    """An import speed (None: too little history, or never learned), when this process learned it, and how many
    learnings in a row failed since (the speed is then the last one learned). Equal when their speeds are: what a
    page is made of (jobs/stream/pages.py) does not change with a failed or repeated learning."""

    speed: object
    at: float = field(compare=False)
    failures: int = field(default=0, compare=False)


# A learning that failed (most often a statement timeout while a busy server starts) is tried again this soon, then
# twice as late after each failure in a row, up to JOBS_PROGRESS_CACHE: progress is fixed until one succeeds, and a
# learning that cannot succeed costs the database one timeout per process every JOBS_PROGRESS_CACHE at most.
RETRY_AFTER_FAILURE = 30.0


_learned = {}
_refreshing = set()
_lock = threading.Lock()


def _key(using):
    """Return the key of a speed: the database and every setting the learning query reads."""
    return (using, jobs_settings.JOBS_PROGRESS_HISTORY, jobs_settings.JOBS_PROGRESS_MIN_SAMPLE,
            tuple(sorted(conf.status_map().items())))


def learned_import_speed(using="default"):
    """Return the last import speed learned from `using` (None before the first), refreshing it when it is due."""
    key = _key(using)
    learned = _learned.get(key)
    if _due(learned):
        _start_refresh(key, using)
        learned = _learned.get(key)
    return None if learned is None else learned.speed


def _due(learned):
    """Tell whether a speed (a Learned, or None) is to be learned again."""
    if learned is None:
        return True
    lasts = jobs_settings.JOBS_PROGRESS_CACHE.total_seconds()
    if learned.failures:
        lasts = min(lasts, RETRY_AFTER_FAILURE * 2 ** (learned.failures - 1))
    return time.monotonic() - learned.at >= lasts


def learned_so_far(using="default"):
    """Return what this process last learned of the import speed from `using` (a Learned, or None), as it is: no
    refresh is started."""
    return _learned.get(_key(using))


def refresh_import_speed(using="default"):
    """Learn the import speed from `using` now and keep it; if that fails, keep the last one. Return it."""
    key = _key(using)
    failures = 0
    try:
        speed = apps.get_model("jobs", "Dataset").objects.using(using).import_speed()
    except Exception as exc:
        # A database error (a timeout) or any other: progress stays as it was, and a refresh tries again soon.
        log = logger.warning if isinstance(exc, DatabaseError) else logger.exception
        log("Learning the import speed failed; progress stays as it was.", exc_info=True)
        previous = _learned.get(key)
        speed, failures = (None, 1) if previous is None else (previous.speed, previous.failures + 1)
    _learned[key] = Learned(speed, time.monotonic(), failures)
    with _lock:
        _refreshing.discard(key)
    return speed


def _start_refresh(key, using):
    """Start one refresh of `key`, unless one is under way."""
    with _lock:
        # Another poll's refresh may have ended since this one found the speed due.
        if key in _refreshing or not _due(_learned.get(key)):
            return
        _refreshing.add(key)
    run_in_background(refresh_import_speed, using)


def run_in_background(learn, using):
    """Run `learn(using)` in a daemon thread, on database connections of its own that it closes; return the thread."""

    def target():
        try:
            learn(using)
        finally:
            connections.close_all()

    thread = threading.Thread(target=target, name="jobs-import-speed", daemon=True)
    thread.start()
    return thread


def forget_import_speeds():
    """Forget every learned speed (tests start from none)."""
    _learned.clear()
    with _lock:
        _refreshing.clear()


def share_import_speed(datasets, using):
    """Give the datasets of one list one lazily read import speed, so the list reads it at most once."""
    speed = functools.cache(functools.partial(learned_import_speed, using))
    for dataset in datasets:
        dataset._import_speed = speed
        yield dataset


class JobIterable(ModelIterable):
    """Datasets that share one lazily read import speed."""

    def __iter__(self):
        return share_import_speed(super().__iter__(), self.queryset.db)
