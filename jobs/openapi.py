"""The OpenAPI description: who may read it, the Bearer scheme, and the documented token responses."""
from django.conf import settings
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.drainage import set_override
from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiViewExtension
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import BasePermission

from .authentication import LocalPageAuthentication

ErrorSerializer = inline_serializer(
    "Error",
    fields={"detail": serializers.CharField(), "code": serializers.CharField(required=False)},
)

# DRF's validation errors: each offending field (or parameter) with its messages.
FIELD_ERRORS = {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}}

# A request body's 400: its field errors, or one message when the body is not JSON at all.
BODY_ERRORS = {
    "anyOf": [
        FIELD_ERRORS,
        {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]},
    ]
}

UNAUTHORIZED = OpenApiResponse(
    ErrorSerializer,
    description="No valid Bearer access token (missing, malformed, expired, foreign, or an inactive user).",
)

THROTTLED = OpenApiResponse(ErrorSerializer, description="Too many requests: wait for `Retry-After` seconds.")
UNAVAILABLE = OpenApiResponse(
    ErrorSerializer, description="The database cannot be reached or read: retry after `Retry-After` seconds."
)


class OpenApiAccess(BasePermission):
    """Open to everyone, or only to staff when `OPENAPI_STAFF_ONLY` is on (read at request time)."""

    def has_permission(self, request, view):
        """Tell whether the caller may read the schema and its docs."""
        return not getattr(settings, "OPENAPI_STAFF_ONLY", False) or bool(request.user and request.user.is_staff)


class BearerTokenScheme(SimpleJWTScheme):
    """The Bearer JWT scheme for the project's case-insensitive subclass of simplejwt's authentication."""

    target_class = "jobs.authentication.BearerTokenAuthentication"
    match_subclasses = True  # each identity mode's class, and the jobs page's
    name = "bearerAuth"


# The list's page authentication and the history's token authentication are one scheme to a client (bearerAuth).
set_override(LocalPageAuthentication, "suppress_collision_warning", True)


# What DRF's CharField accepts: no NUL character, and something left once Python's strip() trimmed the ends (which
# also takes \x1c-\x1f and \x85, whitespace to Python but not to the ECMA `\s` that schema validators use).
NON_BLANK_STRING = {
    "type": "string", "pattern": "^[^\\x00]*[^\\x00\\s\\x1c-\\x1f\\x85][^\\x00]*$", "writeOnly": True,
}
READ_ONLY_STRING = {"type": "string", "readOnly": True}


class TokenObtainPairSerializerSchema(OpenApiSerializerExtension):
    """The token request and answer, with the non-blank credentials the serializer requires."""

    target_class = "rest_framework_simplejwt.serializers.TokenObtainPairSerializer"
    priority = 1  # over drf-spectacular's own, which lets blank strings through

    def get_name(self, auto_schema, direction):
        return "TokenObtainPairRequest" if direction == "request" else "TokenObtainPair"

    def map_serializer(self, auto_schema, direction):
        """Describe username and password (non-blank, written) and the token pair (read)."""
        if direction == "request":
            return token_object(username=NON_BLANK_STRING, password=NON_BLANK_STRING)
        return token_object(access=READ_ONLY_STRING, refresh=READ_ONLY_STRING)


class TokenRefreshSerializerSchema(OpenApiSerializerExtension):
    """The refresh request and answer, with the non-blank refresh token the serializer requires."""

    target_class = "rest_framework_simplejwt.serializers.TokenRefreshSerializer"
    priority = 1

    def get_name(self, auto_schema, direction):
        return "TokenRefreshRequest" if direction == "request" else "TokenRefresh"

    def map_serializer(self, auto_schema, direction):
        """Describe the refresh token (non-blank, written) and the new access token (read)."""
        if direction == "request":
            return token_object(refresh=NON_BLANK_STRING)
        return token_object(access=READ_ONLY_STRING)


def token_object(**properties):
    """Return an object schema whose properties are all required."""
    return {"type": "object", "properties": properties, "required": list(properties)}


class TokenObtainPairViewSchema(OpenApiViewExtension):
    """Document the 401 of bad credentials and the 400 of a missing field at /api/v2/auth/token."""

    target_class = "jobs.views.TokenObtainView"

    def view_replacement(self):
        """Return the view with its responses described."""
        return token_view_with_errors(self.target_class, "Bad credentials, or an inactive user.")


class TokenRefreshViewSchema(OpenApiViewExtension):
    """Document the 401 of an invalid refresh token at /api/v2/auth/token/refresh."""

    target_class = "jobs.views.TokenRefreshThrottledView"

    def view_replacement(self):
        """Return the view with its responses described."""
        return token_view_with_errors(self.target_class, "An invalid or expired refresh token.")


def token_view_with_errors(view_class, unauthorized):
    """Return a subclass of a simplejwt view whose schema lists its 400 and 401 answers."""
    serializer = view_class().get_serializer_class()

    class Documented(view_class):
        @extend_schema(
            responses={
                200: serializer,
                400: OpenApiResponse(BODY_ERRORS, description="A required field is missing or empty, or no JSON body."),
                401: OpenApiResponse(ErrorSerializer, description=unauthorized),
                429: THROTTLED,
                503: UNAVAILABLE,
            },
        )
        def post(self, request, *args, **kwargs):
            return super().post(request, *args, **kwargs)

    return Documented


def without_trailing_slash_aliases(endpoints):
    """Drop `path/` from the schema when `path` answers too, so each operation is described once."""
    paths = {path for path, *_ in endpoints}
    return [endpoint for endpoint in endpoints if not (endpoint[0].endswith("/") and endpoint[0][:-1] in paths)]


def with_the_stream(result, generator, request, public):
    """Describe GET /api/v2/jobs/stream, a plain async Django view that the schema generator does not see."""
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    retry_after = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait (or poll)."}}
    # The list's own filters, as the list describes them: a stream carries what the filtered list answers.
    listed = result["paths"]["/api/v2/jobs/active"]["get"]
    filters = [parameter for parameter in listed["parameters"] if parameter["in"] == "query"]
    result["paths"]["/api/v2/jobs/stream"] = {"get": {
        "operationId": "jobs_stream",
        "summary": "The signed-in user's jobs, pushed as Server-Sent Events",
        "description": (
            "`text/event-stream`. First a `retry:` hint, then `event: jobs` events whose `data` is exactly what "
            "GET /api/v2/jobs/active (with the same filters) answers at that moment and whose `id` is its ETag: the "
            "current answer at once "
            "(unless `Last-Event-ID` is already its tag), then one event each time the answer changes. A `: "
            "heartbeat` comment every JOBS_STREAM_HEARTBEAT; when the token expires, `event: reauthenticate` and "
            "the end. Served by an ASGI server (`make serve INTERFACE=asgi`); a WSGI server answers 503."
        ),
        "tags": ["jobs"],
        "security": [{"bearerAuth": []}, {"cookieAuth": []}],
        "parameters": [*filters, {
            "in": "header", "name": "Last-Event-ID", "schema": {"type": "string"},
            "description": "The id (ETag) of the last event received, when reconnecting.",
        }],
        "responses": {
            "200": {"description": "The stream.", "content": {"text/event-stream": {"schema": {"type": "string"}}}},
            "400": listed["responses"]["400"],
            "401": {"description": "No valid token or session.", "content": error},
            "429": {"description": "Too many open streams of this user.", "content": error, "headers": retry_after},
            "503": {
                "description": "This server holds as many streams as it can, does not stream (WSGI), or cannot "
                "reach its database: poll instead.",
                "content": error, "headers": retry_after,
            },
        },
    }}
    return result
