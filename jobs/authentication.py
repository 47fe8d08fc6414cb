"""Bearer-token authentication for the API."""
import uuid

from django.contrib.auth import get_user_model
from django.db import router
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import AUTH_HEADER_TYPE_BYTES, JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.settings import api_settings

from .compiled import PlaceholderUser, compiled


def token_user_queryset(using):
    """Return the QuerySet of the user a token names, for a placeholder id, to be compiled once."""
    return get_user_model().objects.using(using).filter(pk=PlaceholderUser.pk)


class BearerTokenAuthentication(JWTAuthentication):
    """simplejwt's access-token authentication, with the scheme name matched case-insensitively (RFC 9110)."""

    def get_raw_token(self, header):
        """Return the token of an `Authorization: <scheme> <token>` header whose scheme is Bearer in any case."""
        parts = header.split()
        for header_type in AUTH_HEADER_TYPE_BYTES:
            if parts and parts[0].lower() == header_type.lower():
                parts[0] = header_type
        return super().get_raw_token(b" ".join(parts))

    def get_user(self, validated_token):
        """Return the token's user, refusing unknown and inactive ones, with a query compiled once per process."""
        try:
            user_id = uuid.UUID(str(validated_token[api_settings.USER_ID_CLAIM]))
        except (KeyError, ValueError):
            raise InvalidToken(_("Token contained no recognizable user identification")) from None
        users = compiled(token_user_queryset, router.db_for_read(get_user_model())).run(user_id)
        if not users:
            raise AuthenticationFailed(_("User not found"), code="user_not_found")
        if not users[0].is_active:
            raise AuthenticationFailed(_("User is inactive"), code="user_inactive")
        return users[0]
