"""Settings of the jobs app: defaults here, overrides in Django settings, read at call time."""
from datetime import timedelta

from django.conf import settings

DEFAULTS = {
    # Dataset status -> job status; statuses not listed here are not jobs.
    "JOBS_STATUS_MAP": {"new": "running", "inactive": "completed", "error": "failed"},
    # How long a finished job stays listed.
    "JOBS_RETENTION": timedelta(hours=1),
    # A running import with no update for this long has died: it is reported as failed.
    "JOBS_STALL_AFTER": timedelta(hours=1),
    # The most items one answer holds.
    "JOBS_MAX_RESULTS": 100,
    # The poll interval the list suggests while the caller has running jobs, and while they have none.
    "JOBS_POLL_INTERVAL": timedelta(seconds=10),
    "JOBS_IDLE_POLL_INTERVAL": timedelta(seconds=30),
    # Polls one user may make (all their tabs together); several tabs every 10 s stay far below it.
    "JOBS_THROTTLE_RATE": "120/min",
    # "estimate": progress from file size and the learned import speed; "fixed": 50 running, 100 done, 0 failed.
    "JOBS_PROGRESS": "estimate",
    # Completed imports updated within this window teach the estimator how fast imports run.
    "JOBS_PROGRESS_HISTORY": timedelta(days=7),
    # With fewer completed imports than this in the window, progress stays fixed.
    "JOBS_PROGRESS_MIN_SAMPLE": 10,
    # How long a learned import speed is used before it is learned again (in the background, by each process): a
    # median over days of history moves little in minutes, and each learning scans that history (0.4 s of database
    # CPU on a million rows, which a busy 2-core machine feels as a p99 spike).
    "JOBS_PROGRESS_CACHE": timedelta(minutes=10),
    # The stream (GET /api/v2/jobs/stream): how often each process reads every open stream's answer (one query),
    # the heartbeat comment's interval, the reconnection delay it suggests, the most streams one user and one
    # process may hold open, and the events a stream may fall behind by before it is ended.
    "JOBS_STREAM_TICK": timedelta(seconds=2),
    # Every this often a tick reads every open stream's answer; the ticks between read only what can have changed.
    "JOBS_STREAM_FULL_READ": timedelta(seconds=30),
    "JOBS_STREAM_HEARTBEAT": timedelta(seconds=15),
    "JOBS_STREAM_RETRY": timedelta(seconds=5),
    # A stream of a browser session ends this often (the browser reconnects at once with its cookie): a sign-out or
    # a deactivation reaches open tabs within it. A Bearer token's stream ends when the token expires.
    "JOBS_STREAM_SESSION_RECHECK": timedelta(minutes=5),
    "JOBS_STREAM_MAX_PER_USER": 5,
    "JOBS_STREAM_MAX_PER_PROCESS": 5000,
    "JOBS_STREAM_QUEUE": 8,
    # PostgreSQL channel of the imports team's trigger (manage.py jobs_notify_sql); "" (off): the tick alone.
    "JOBS_STREAM_NOTIFY_CHANNEL": "",
}


def get_setting(name):
    """Return the jobs setting `name` from Django settings, or its default when it is unset or None."""
    value = getattr(settings, name, None)
    return DEFAULTS[name] if value is None else value


def status_map():
    """Return the mapping of dataset statuses to job statuses."""
    return dict(get_setting("JOBS_STATUS_MAP"))


def retention():
    """Return how long a finished job stays listed."""
    return get_setting("JOBS_RETENTION")


def stall_after():
    """Return how long a running import may go without an update before it counts as stalled."""
    return get_setting("JOBS_STALL_AFTER")


def max_results():
    """Return the most items one answer holds."""
    return get_setting("JOBS_MAX_RESULTS")


def rules_key():
    """Return every setting the job rules' SQL depends on, as a hashable key for compiled queries."""
    return (tuple(sorted(status_map().items())), stall_after(), retention(), max_results())


def poll_interval(*, running):
    """Return the poll interval to suggest to a caller with (`running=True`) or without running jobs."""
    return get_setting("JOBS_POLL_INTERVAL" if running else "JOBS_IDLE_POLL_INTERVAL")


def throttle_rate():
    """Return how many polls one user may make, as a DRF rate ("120/min")."""
    return get_setting("JOBS_THROTTLE_RATE")


def estimates_progress():
    """Tell whether progress is estimated from the learned import speed (else it is fixed per status)."""
    return get_setting("JOBS_PROGRESS") != "fixed"


def progress_history():
    """Return the window of completed imports that the import speed is learned from."""
    return get_setting("JOBS_PROGRESS_HISTORY")


def progress_min_sample():
    """Return the fewest completed imports the import speed is learned from."""
    return get_setting("JOBS_PROGRESS_MIN_SAMPLE")


def progress_cache():
    """Return how long the learned import speed is cached."""
    return get_setting("JOBS_PROGRESS_CACHE")


def stream_tick():
    """Return how often each process reads the answers of every open stream."""
    return get_setting("JOBS_STREAM_TICK")


def stream_full_read():
    """Return how often a tick reads every open stream's answer, not only those that can have changed."""
    return get_setting("JOBS_STREAM_FULL_READ")


def stream_heartbeat():
    """Return the interval of the stream's heartbeat comments."""
    return get_setting("JOBS_STREAM_HEARTBEAT")


def stream_retry():
    """Return the reconnection delay the stream suggests to its clients."""
    return get_setting("JOBS_STREAM_RETRY")


def stream_session_recheck():
    """Return how long a stream of a browser session lasts before the browser reconnects with its session."""
    return get_setting("JOBS_STREAM_SESSION_RECHECK")


def stream_max_per_user():
    """Return the most streams one user may hold open in one process."""
    return get_setting("JOBS_STREAM_MAX_PER_USER")


def stream_max_per_process():
    """Return the most streams one process holds open."""
    return get_setting("JOBS_STREAM_MAX_PER_PROCESS")


def stream_queue():
    """Return the events a stream may fall behind by before it is ended."""
    return get_setting("JOBS_STREAM_QUEUE")


def stream_notify_channel():
    """Return the PostgreSQL channel that notifies dataset changes ("" when none is configured)."""
    return get_setting("JOBS_STREAM_NOTIFY_CHANNEL")
