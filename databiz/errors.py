"""Errors as the API answers them: JSON, never a traceback, SQL, setting or token; a database outage is a 503."""
import logging
import sys

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent, TooManyFilesSent
from django.db import DatabaseError, router
from django.http import JsonResponse
from redis.exceptions import RedisError
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler

from jobs.models import Dataset
from jobs.table import datasets_table_problems

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
UNAVAILABLE = "The jobs service cannot reach its database right now. Try again shortly."
CACHE_UNAVAILABLE = "The jobs service cannot reach its shared cache right now. Try again shortly."
TABLE_UNREADABLE = "The jobs service cannot read the datasets table: {problems}"


def database_unavailable_body(exc):
    """Return the JSON body of the 503 for a database error: what is wrong, in words fit for any caller."""
    # The table or a column missing is a deployment problem worth naming; anything else stays in the log.
    try:
        problems = datasets_table_problems(router.db_for_read(Dataset))
    except DatabaseError:
        problems = []
    if problems:
        return {"detail": TABLE_UNREADABLE.format(problems=" ".join(problems)), "code": "datasets_unreadable"}
    return {"detail": UNAVAILABLE, "code": "database_unavailable"}


def unavailable_response(body):
    """Return a 503 JSON answer with `Retry-After`: the caller may well try again shortly."""
    return JsonResponse(body, status=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def database_unavailable_response(exc):
    """Log a database error and return the 503 JSON answer with `Retry-After`."""
    logger.error("Database error while answering: %s", exc.__class__.__name__, exc_info=exc)
    return unavailable_response(database_unavailable_body(exc))


# What a request Django refuses to read is told (the messages of other SuspiciousOperations may name a host or a
# path, so they stay in the security log).
BAD_REQUESTS = {
    TooManyFieldsSent: "Too many query or form parameters.",
    TooManyFilesSent: "Too many files.",
    RequestDataTooBig: "The request body is too large.",
}


def bad_request_body(exc):
    """Return the JSON body of the 400 for a request Django refuses to read."""
    return {"detail": BAD_REQUESTS.get(type(exc), "Bad request."), "code": "bad_request"}


def api_exception_handler(exc, context):
    """DRF's handler, plus a database error answered as a 503 and an unreadable request as a 400; every error in JSON,
    whatever the view renders otherwise (the schema's YAML, the docs' HTML)."""
    response = exception_handler(exc, context)
    if response is None and isinstance(exc, DatabaseError):
        return database_unavailable_response(exc)
    if response is None and isinstance(exc, RedisError):
        logger.error("The shared cache cannot be reached: %s", exc.__class__.__name__, exc_info=exc)
        return unavailable_response({"detail": CACHE_UNAVAILABLE, "code": "cache_unavailable"})
    if response is None and isinstance(exc, SuspiciousOperation):
        logging.getLogger(f"django.security.{exc.__class__.__name__}").error(str(exc))
        response = Response(bad_request_body(exc), status=400)
    request = context.get("request")
    if response is not None and request is not None:
        request.accepted_renderer, request.accepted_media_type = JSONRenderer(), "application/json"
    return response


def bad_request(request, exception):
    """Answer a request Django refuses to read (too many parameters, a body too large) with a JSON 400."""
    return JsonResponse(bad_request_body(exception), status=400)


def not_found(request, exception):
    """Answer an unknown URL with a JSON 404."""
    return JsonResponse({"detail": "Not found."}, status=404)


def server_error(request):
    """Answer an error no view handled: a 503 for a database error, else a plain JSON 500."""
    exc = sys.exc_info()[1]
    if isinstance(exc, DatabaseError):
        return database_unavailable_response(exc)
    return JsonResponse({"detail": "Internal server error."}, status=500)
