"""The OpenAPI description: who may read it, the Bearer scheme, and the documented token responses."""
from django.conf import settings
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.extensions import OpenApiViewExtension
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import BasePermission

ErrorSerializer = inline_serializer(
    "Error",
    fields={"detail": serializers.CharField(), "code": serializers.CharField(required=False)},
)

# DRF's validation errors: each offending field (or parameter) with its messages.
FIELD_ERRORS = {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}}

UNAUTHORIZED = OpenApiResponse(
    ErrorSerializer,
    description="No valid Bearer access token (missing, malformed, expired, foreign, or an inactive user).",
)


class OpenApiAccess(BasePermission):
    """Open to everyone, or only to staff when `OPENAPI_STAFF_ONLY` is on (read at request time)."""

    def has_permission(self, request, view):
        """Tell whether the caller may read the schema and its docs."""
        return not getattr(settings, "OPENAPI_STAFF_ONLY", False) or bool(request.user and request.user.is_staff)


class BearerTokenScheme(SimpleJWTScheme):
    """The Bearer JWT scheme for the project's case-insensitive subclass of simplejwt's authentication."""

    target_class = "jobs.authentication.BearerTokenAuthentication"
    name = "bearerAuth"


class TokenObtainPairViewSchema(OpenApiViewExtension):
    """Document the 401 of bad credentials and the 400 of a missing field at /api/v2/auth/token."""

    target_class = "rest_framework_simplejwt.views.TokenObtainPairView"

    def view_replacement(self):
        """Return the view with its responses described."""
        return token_view_with_errors(self.target_class, "Bad credentials, or an inactive user.")


class TokenRefreshViewSchema(OpenApiViewExtension):
    """Document the 401 of an invalid refresh token at /api/v2/auth/token/refresh."""

    target_class = "rest_framework_simplejwt.views.TokenRefreshView"

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
                400: OpenApiResponse(FIELD_ERRORS, description="A required field is missing or empty."),
                401: OpenApiResponse(ErrorSerializer, description=unauthorized),
            },
        )
        def post(self, request, *args, **kwargs):
            return super().post(request, *args, **kwargs)

    return Documented


def without_trailing_slash_aliases(endpoints):
    """Drop `path/` from the schema when `path` answers too, so each operation is described once."""
    paths = {path for path, *_ in endpoints}
    return [endpoint for endpoint in endpoints if not (endpoint[0].endswith("/") and endpoint[0][:-1] in paths)]
