"""Per-request wiring: Prometheus counts and latency, one log line per API request, probes, and browser-only state."""
import logging
import time

from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.utils.functional import SimpleLazyObject, empty

from jobs.views import ActiveJobListView

from .metrics import HTTP_REQUESTS, JOBS_ACTIVE_LATENCY, metrics
from .probes import healthz, readyz

logger = logging.getLogger("jobs.requests")

API_PREFIX = "/api/"


class RequestMetricsMiddleware:
    """Count every answer by status code; time the jobs endpoint. Cheap: every browser tab polls it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        start = time.perf_counter()
        response = self.get_response(request)
        HTTP_REQUESTS.labels(str(response.status_code)).inc()
        match = request.resolver_match
        if match is not None and getattr(match.func, "view_class", None) is ActiveJobListView:
            JOBS_ACTIVE_LATENCY.observe(time.perf_counter() - start)
        return response


class ProbeMiddleware:
    """Answer /healthz, /readyz and /metrics before host validation, sessions and redirects."""

    # Kubelets and Prometheus reach a pod by its IP, a Host that ALLOWED_HOSTS rightly refuses elsewhere.
    views = {"/healthz": healthz, "/readyz": readyz, "/metrics": metrics}

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        view = self.views.get(request.path_info)
        return view(request) if view is not None else self.get_response(request)


class ApiRequestLogMiddleware:
    """Log one line per API request: method, path, status, duration and user id; never a header or the token."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        start = time.perf_counter()
        response = self.get_response(request)
        duration_ms = round((time.perf_counter() - start) * 1000, 1)
        fields = {
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": duration_ms,
            "user_id": request_user_id(request),
        }
        line = "%(method)s %(path)s %(status)s %(duration_ms)sms user=%(user_id)s"
        logger.info(line, fields, extra={"request_fields": fields})
        return response


def request_user_id(request):
    """Return the id of the user the request authenticated as, or None; never loads a session just to log."""
    user = getattr(request, "user", None)
    if isinstance(user, SimpleLazyObject) and user._wrapped is empty:
        return None
    user_id = getattr(user, "pk", None)
    return str(user_id) if user_id is not None else None


def is_bearer_api_call(request):
    """Tell whether the request is an API call carrying a Bearer token: it needs no session, cookie user or messages."""
    authorization = request.META.get("HTTP_AUTHORIZATION", "")
    return request.path_info.startswith(API_PREFIX) and authorization[:7].lower() == "bearer "


class BrowserSessionMiddleware(SessionMiddleware):
    """Django's sessions, for browsers: a Bearer API call (every poll) neither loads nor saves one."""

    def process_request(self, request):
        if not is_bearer_api_call(request):
            super().process_request(request)

    def process_response(self, request, response):
        if not hasattr(request, "session"):
            return response
        return super().process_response(request, response)


class BrowserAuthenticationMiddleware(AuthenticationMiddleware):
    """Django's session user, for browsers; a Bearer API call is authenticated by DRF from its token."""

    def process_request(self, request):
        if hasattr(request, "session"):
            super().process_request(request)


class BrowserMessageMiddleware(MessageMiddleware):
    """Django's messages, for browsers (they live in the session)."""

    def process_request(self, request):
        if hasattr(request, "session"):
            super().process_request(request)
