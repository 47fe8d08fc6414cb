"""Settings of the jobs app, each declared once here: its default, the values it accepts, what it means.

A Django setting of the same name overrides the default: databiz/settings.py reads each from its environment
variable with `from_environment` (a value outside the range declared here stops start-up, naming the variable), and
a value set in Python is checked against the same range by the system checks (jobs/checks.py). `jobs_settings`
reads them at each access, as DRF's `api_settings` does, so `override_settings` takes effect at once.
"""
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings

from databiz.env import (
    DAY,
    HOUR,
    MINUTE,
    RATE,
    SECOND,
    YEAR,
    env_choice,
    env_duration,
    env_int,
    env_json_object,
    env_rate,
    env_str,
    range_words,
)

# A tenth of a second: the shortest tick and reconnection delay.
TENTH = timedelta(milliseconds=100)


@dataclass(frozen=True)
class Setting:
    """One JOBS_* setting: its default, the reader of its environment variable, and the values it accepts."""

    default: object
    read: object
    minimum: object = None
    maximum: object = None
    choices: tuple = ()
    # What a text must match in full (a compiled pattern), as its reader checks it.
    pattern: object = None

    def from_environment(self, name):
        """Return the environment variable `name`, read and checked; None when it is unset (the default applies)."""
        if self.choices:
            return self.read(name, self.choices, None)
        if self.minimum is None and self.maximum is None:
            return self.read(name, None)
        return self.read(name, None, minimum=self.minimum, maximum=self.maximum)

    def problem(self, value):
        """Return what is wrong with `value` (set in Python), or None when the setting accepts it."""
        if not isinstance(value, type(self.default)) or isinstance(value, bool) != isinstance(self.default, bool):
            return f"must be of type {type(self.default).__name__}, not {value!r}"
        if isinstance(value, dict) and not all(isinstance(item, str) for pair in value.items() for item in pair):
            return f"must map strings to strings, not {value!r}"
        if self.pattern is not None and not self.pattern.fullmatch(value):
            return f"must match {self.pattern.pattern}, not {value!r}"
        if self.choices and value not in self.choices:
            return f"must be one of {', '.join(self.choices)}, not {value!r}"
        if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
            return f"must be a value{range_words(self.minimum, self.maximum)}, not {value}"
        return None


SETTINGS = {
    # Dataset status -> job status (a JSON object); statuses not listed here are not jobs.
    "JOBS_STATUS_MAP": Setting({"new": "running", "inactive": "completed", "error": "failed"}, env_json_object),
    # How long a finished job stays listed.
    "JOBS_RETENTION": Setting(timedelta(hours=1), env_duration, SECOND, YEAR),
    # A running import with no update for this long has died: it is reported as failed.
    "JOBS_STALL_AFTER": Setting(timedelta(hours=1), env_duration, SECOND, YEAR),
    # The most items one answer holds.
    "JOBS_MAX_RESULTS": Setting(100, env_int, 1, 10_000),
    # The poll interval the list suggests while the caller has running jobs, and while they have none.
    "JOBS_POLL_INTERVAL": Setting(timedelta(seconds=10), env_duration, SECOND, DAY),
    "JOBS_IDLE_POLL_INTERVAL": Setting(timedelta(seconds=30), env_duration, SECOND, DAY),
    # Polls one user may make (all their tabs together); several tabs every 10 s stay far below it.
    "JOBS_THROTTLE_RATE": Setting("120/min", env_rate, pattern=RATE),
    # "estimate": progress from file size and the learned import speed; "fixed": 50 running, 100 done, 0 failed.
    "JOBS_PROGRESS": Setting("estimate", env_choice, choices=("estimate", "fixed")),
    # Completed imports updated within this window teach the estimator how fast imports run.
    "JOBS_PROGRESS_HISTORY": Setting(timedelta(days=7), env_duration, MINUTE, YEAR),
    # With fewer completed imports than this in the window, progress stays fixed.
    "JOBS_PROGRESS_MIN_SAMPLE": Setting(10, env_int, 1, 1_000_000),
    # How long a learned import speed is used before it is learned again (in the background, by each process): a
    # median over days of history moves little in minutes, and each learning scans that history (0.4 s of database
    # CPU on a million rows, which a busy 2-core machine feels as a p99 spike).
    "JOBS_PROGRESS_CACHE": Setting(timedelta(minutes=10), env_duration, SECOND, DAY),
    # The stream (GET /api/v2/jobs/stream): how often each process reads the open streams' answers that can have
    # changed (one query), and every how often all of them (the safety net for changes `updated_at` does not show).
    "JOBS_STREAM_TICK": Setting(timedelta(seconds=2), env_duration, TENTH, HOUR),
    # While the trigger's notifications are listened to, they bring every change as it is committed, and the tick
    # only carries what time alone moves (a running import's progress and remaining time, a stall, a job ageing
    # out): this often. Most of an open stream's CPU is that refresh of running imports (docs/performance.md).
    "JOBS_STREAM_NOTIFIED_TICK": Setting(timedelta(seconds=5), env_duration, TENTH, HOUR),
    "JOBS_STREAM_FULL_READ": Setting(timedelta(seconds=30), env_duration, TENTH, DAY),
    # The heartbeat comment's interval, and the reconnection delay the stream suggests.
    "JOBS_STREAM_HEARTBEAT": Setting(timedelta(seconds=15), env_duration, SECOND, HOUR),
    "JOBS_STREAM_RETRY": Setting(timedelta(seconds=5), env_duration, TENTH, HOUR),
    # A stream of a browser session ends this often (the browser reconnects at once with its cookie): a sign-out or
    # a deactivation reaches open tabs within it. A Bearer token's stream ends when the token expires.
    "JOBS_STREAM_SESSION_RECHECK": Setting(timedelta(minutes=5), env_duration, SECOND, DAY),
    # The most streams one user and one process may hold open.
    "JOBS_STREAM_MAX_PER_USER": Setting(5, env_int, 1),
    "JOBS_STREAM_MAX_PER_PROCESS": Setting(5000, env_int, 1),
    # PostgreSQL channel of the imports team's trigger (manage.py jobs_notify_sql); "" (off): the tick alone.
    "JOBS_STREAM_NOTIFY_CHANNEL": Setting("", env_str),
}


def from_environment(name):
    """Return the jobs setting `name` from its environment variable, checked against its range (None: unset)."""
    return SETTINGS[name].from_environment(name)


class JobsSettings:
    """The jobs settings by name (`jobs_settings.JOBS_RETENTION`): Django's value when it is set and not None, else
    the default; read at each access."""

    def __getattr__(self, name):
        try:
            declared = SETTINGS[name]
        except KeyError:
            raise AttributeError(f"{name!r} is not a jobs setting (jobs/conf.py declares them).") from None
        value = getattr(settings, name, None)
        return declared.default if value is None else value


jobs_settings = JobsSettings()


def status_map():
    """Return the mapping of dataset statuses to job statuses (a copy, which callers may change)."""
    return dict(jobs_settings.JOBS_STATUS_MAP)


def rules_key():
    """Return every setting the job rules' SQL depends on, as a hashable key for compiled queries."""
    return (tuple(sorted(status_map().items())), jobs_settings.JOBS_STALL_AFTER, jobs_settings.JOBS_RETENTION,
            jobs_settings.JOBS_MAX_RESULTS)


def poll_interval(*, running):
    """Return the poll interval to suggest to a caller with (`running=True`) or without running jobs."""
    return jobs_settings.JOBS_POLL_INTERVAL if running else jobs_settings.JOBS_IDLE_POLL_INTERVAL


def estimates_progress():
    """Tell whether progress is estimated from the learned import speed (else it is fixed per status)."""
    return jobs_settings.JOBS_PROGRESS != "fixed"
