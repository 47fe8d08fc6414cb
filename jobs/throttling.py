"""Rate limits of the jobs API."""
from rest_framework.throttling import UserRateThrottle

from . import conf


class PollRateThrottle(UserRateThrottle):
    """Each user's polls, all their tabs together, at JOBS_THROTTLE_RATE (counted in the shared cache)."""

    scope = "jobs"

    def get_rate(self):
        """Return JOBS_THROTTLE_RATE, read at call time."""
        return conf.throttle_rate()
