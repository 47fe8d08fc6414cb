"""Prometheus metrics at /metrics: request counts and latency, declared once, plus the jobs gauge; access control."""
import hmac
import ipaddress

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from databiz.env import env_str
from jobs.metrics import JobsActiveCollector

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
STREAMS_OPEN = Gauge(
    "jobs_streams_open",
    "Open streams of GET /api/v2/jobs/stream.",
    multiprocess_mode="livesum",
    registry=REGISTRY,
)
STREAM_EVENTS = Counter(
    "jobs_stream_events",
    "Jobs events sent on streams.",
    registry=REGISTRY,
)
STREAM_TICK_SECONDS = Histogram(
    "jobs_stream_tick_seconds",
    "Time of one stream tick: the query of every open stream's answer, and handing out the changes, in seconds.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
    registry=REGISTRY,
)
for _status in ("200", "400", "401", "403", "404", "500", "503"):
    HTTP_REQUESTS.labels(_status)


def multiprocess_dir():
    """Return the prometheus-client multiprocess directory, or None in single-process mode."""
    # prometheus-client's own variable (read by it too), in either spelling it accepts.
    return env_str("PROMETHEUS_MULTIPROC_DIR", None) or env_str("prometheus_multiproc_dir", None)


def scrape_registry():
    """Return the registry one scrape reads: the jobs gauge plus this process's (or every worker's) metrics."""
    registry = CollectorRegistry()
    registry.register(JobsActiveCollector())
    if multiprocess_dir():
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(REGISTRY)
    return registry


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
