"""Bearer-token authentication for the API."""
from rest_framework_simplejwt.authentication import AUTH_HEADER_TYPE_BYTES, JWTAuthentication


class BearerTokenAuthentication(JWTAuthentication):
    """simplejwt's access-token authentication, with the scheme name matched case-insensitively (RFC 9110)."""

    def get_raw_token(self, header):
        """Return the token of an `Authorization: <scheme> <token>` header whose scheme is Bearer in any case."""
        parts = header.split()
        for header_type in AUTH_HEADER_TYPE_BYTES:
            if parts and parts[0].lower() == header_type.lower():
                parts[0] = header_type
        return super().get_raw_token(b" ".join(parts))
