"""Rate limits of the jobs API."""
import logging

from redis.exceptions import RedisError
from rest_framework.throttling import UserRateThrottle

from .conf import jobs_settings

logger = logging.getLogger(__name__)


class PollRateThrottle(UserRateThrottle):
    """Each user's polls, all their tabs together, at JOBS_THROTTLE_RATE (counted in the shared cache)."""

    scope = "jobs"

    def get_rate(self):
        """Return JOBS_THROTTLE_RATE, read at call time."""
        return jobs_settings.JOBS_THROTTLE_RATE

    def allow_request(self, request, view):
        """Count the poll; while the shared cache (Redis) cannot be reached, let polls through uncounted."""
        try:
            return super().allow_request(request, view)
        except RedisError:
            # A rate limit is a protection, not the service: an outage of its counter must not fail every poll.
            logger.warning("Polls are not throttled: the shared cache cannot be reached.", exc_info=True)
            return True
