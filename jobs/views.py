"""The API of the jobs service, and its health and metrics endpoints."""
import hmac
import ipaddress
import logging

from django.conf import settings
from django.db import DatabaseError, router
from django.http import HttpResponse, JsonResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from jwt import PyJWKClientError
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from rest_framework.exceptions import NotFound
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from .authentication import EXTERNAL, auth_mode, issuer_backend
from .filters import JobFilter
from .jwks import IssuerUnavailable
from .metrics import scrape_registry
from .models import Dataset, JobStatus, JobType
from .polling import conditional_response, poll_hints
from .reference_schema import REFERENCE_COLUMNS, datasets_table_problems
from .schema import FIELD_ERRORS, THROTTLED, UNAUTHORIZED, UNAVAILABLE
from .serializers import JobSerializer

logger = logging.getLogger(__name__)


def csv_parameter(name, values, description):
    """Describe a query parameter holding one comma-separated list of allowed values."""
    return OpenApiParameter(
        name,
        {"type": "array", "items": {"type": "string", "enum": list(values)}, "minItems": 1},
        OpenApiParameter.QUERY,
        description=description,
        style="form",
        explode=False,
    )


@extend_schema_view(get=extend_schema(
    operation_id="jobs_active_list",
    summary="The signed-in user's active jobs",
    description=(
        "Running jobs first (newest first), then jobs finished within the retention window, most recently finished "
        "first; at most JOBS_MAX_RESULTS items. A bare JSON array, empty when there is nothing."
    ),
    parameters=[
        csv_parameter("status", JobStatus.values, "Only jobs with one of these statuses (comma-separated)."),
        csv_parameter("type", JobType.values, "Only jobs of one of these types (comma-separated)."),
        OpenApiParameter("If-None-Match", str, OpenApiParameter.HEADER, description="The ETag of the answer held."),
        *[
            OpenApiParameter(name, kind, OpenApiParameter.HEADER, description=description, response=[200, 304])
            for name, kind, description in (
                ("ETag", str, "Tag of this answer, for If-None-Match."),
                ("X-Jobs-Running", int, "The caller's running jobs, also those the bound cut off."),
                ("X-Jobs-Truncated", str, "`true` when the bound cut the list."),
                ("X-Poll-Interval", int, "Suggested seconds until the next poll."),
            )
        ],
    ],
    responses={
        200: JobSerializer(many=True),
        304: OpenApiResponse(description="Not modified: the If-None-Match tag is the current answer's."),
        400: OpenApiResponse(
            FIELD_ERRORS,
            description="A filter parameter is empty, repeated or holds an unknown value; the body names it and "
            "the allowed values.",
        ),
        401: UNAUTHORIZED,
        429: THROTTLED,
        503: UNAVAILABLE,
    },
))
class ActiveJobListView(ListAPIView):
    """The signed-in user's jobs: running ones first, then those finished within the retention window."""

    serializer_class = JobSerializer
    filterset_class = JobFilter
    pagination_class = None
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "jobs"

    def get_queryset(self):
        """Return the signed-in user's jobs in job order (what the list holds before filters and bound)."""
        return Dataset.objects.jobs_for(self.request.user)

    def list(self, request, *args, **kwargs):
        """Answer the jobs as a bare array, with the poller's hint headers."""
        # The filter set validates the parameters; the compiled page applies them (see jobs/compiled.py).
        params = self.filterset_class.cleaned_params(request.query_params)
        jobs = Dataset.objects.jobs_page_for(request.user, job_statuses=params["status"], job_types=params["type"])
        return Response(self.get_serializer(jobs, many=True).data, headers=poll_hints(jobs))

    def finalize_response(self, request, response, *args, **kwargs):
        """Tag the answer with an ETag and answer 304 to a caller that already has it."""
        response = super().finalize_response(request, response, *args, **kwargs)
        return conditional_response(request, response)


class LocalTokensOnly:
    """Answer 404 when tokens come from DataBiz's external issuer: this service then mints none."""

    def initial(self, request, *args, **kwargs):
        """Refuse before anything else runs when AUTH_MODE is external."""
        if auth_mode() == EXTERNAL:
            raise NotFound("This service issues no tokens: AUTH_MODE is external, sign in through DataBiz.")
        super().initial(request, *args, **kwargs)


class TokenObtainView(LocalTokensOnly, TokenObtainPairView):
    """simplejwt's token pair view, throttled per client address so password guessing stays slow."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"


class TokenRefreshThrottledView(LocalTokensOnly, TokenRefreshView):
    """simplejwt's refresh view, throttled per client address."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"


def healthz(request):
    """Answer that the process is alive; touches nothing else."""
    return JsonResponse({"status": "ok"})


def readyz(request):
    """Answer 200 when the database answers and `datasets` is readable with the expected columns, else 503."""
    using = router.db_for_read(Dataset)
    try:
        problems = datasets_table_problems(using)
        if not problems:
            # Proves the SELECT privilege on the columns the service reads, not only that the table exists.
            list(Dataset._base_manager.using(using).values_list(*REFERENCE_COLUMNS)[:1])
    except DatabaseError:
        # The details stay in the log: the probe's answer is public.
        logger.warning("Readiness check failed: the datasets table cannot be read.", exc_info=True)
        problems = ["The database or the datasets table cannot be read."]
    issuer, issuer_problems = issuer_readiness()
    problems += issuer_problems
    body = {"issuer": issuer} if issuer else {}
    if problems:
        return JsonResponse({"status": "unavailable", "problems": problems, **body}, status=503)
    return JsonResponse({"status": "ok", **body})


def issuer_readiness():
    """Return what the readiness probe says of the external issuer's keys, and its problems (none in local mode)."""
    if auth_mode() != EXTERNAL:
        return None, []
    backend = issuer_backend()
    if backend.jwks_client is None:
        return {"algorithm": backend.algorithm, "keys": "configured"}, []
    try:
        return {"algorithm": backend.algorithm, "keys": backend.jwks_client.key_ids()}, []
    except (IssuerUnavailable, PyJWKClientError):
        return {"algorithm": backend.algorithm, "keys": []}, ["The token issuer's signing keys cannot be fetched."]


def metrics(request):
    """Serve the Prometheus metrics to allowed addresses or holders of the metrics token."""
    refusal = metrics_access_refusal(request)
    if refusal is not None:
        return refusal
    return HttpResponse(generate_latest(scrape_registry()), content_type=CONTENT_TYPE_LATEST)


def metrics_access_refusal(request):
    """Return the 401/403 answer for a caller who may not read the metrics, or None for one who may."""
    token = getattr(settings, "METRICS_BEARER_TOKEN", "")
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, given = header.partition(" ")
        if token and scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token):
            return None
        return JsonResponse({"detail": "Invalid metrics token."}, status=401, headers={"WWW-Authenticate": "Bearer"})
    if client_address_allowed(request):
        return None
    return JsonResponse({"detail": "Metrics are not served to this address."}, status=403)


def client_address_allowed(request):
    """Tell whether the direct peer is in METRICS_ALLOWED_IPS; a proxied request never is."""
    # Behind a proxy on the same host every request would come from loopback: a forwarded one is not a direct peer.
    if "X-Forwarded-For" in request.headers or "Forwarded" in request.headers:
        return False
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    networks = getattr(settings, "METRICS_ALLOWED_IPS", ["127.0.0.1", "::1"])
    return any(address in ipaddress.ip_network(network, strict=False) for network in networks)
