"""Bearer-token authentication for the API: this service's own tokens, or those of DataBiz's external issuer.

`AUTH_MODE=local` (the default): simplejwt's access tokens, minted here for users of this service's user table.
`AUTH_MODE=external`: the tokens DataBiz's backend or its OpenID Connect provider already issues, verified by
simplejwt's token backend with the issuer's key (shared secret, PEM public key or JWKS URL); the token's user-id
claim is the `created_by` of the caller's datasets, with no user row and no user query.
"""
import functools
import threading
import time
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import router
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt import settings as simplejwt
from rest_framework_simplejwt.authentication import AUTH_HEADER_TYPE_BYTES, JWTAuthentication
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.models import TokenUser
from rest_framework_simplejwt.tokens import UntypedToken

from .compiled import ParameterUser, compiled
from .jwks import IssuerKeys

LOCAL, EXTERNAL = "local", "external"
# Far above any real access token, far below what would cost a signature check anything: a cheap refusal.
MAX_TOKEN_LENGTH = 8192
# What simplejwt's expiry check raises for a signed token whose `exp` is no usable time (after the year 9999, or a
# string): such a token is refused like any other invalid one, not answered with a 500.
INVALID_TIME_CLAIM = (OverflowError, ValueError, OSError, TypeError)
# Each open tab polls with the same token every 10 s: its signature is checked once a minute, its expiry each time.
VERIFIED_TOKEN_REUSE = 60
VERIFIED_TOKENS_KEPT = 20_000
_verified_tokens = {}
_verified_tokens_lock = threading.Lock()


def forget_verified_tokens():
    """Forget every token verification (tests start from none)."""
    with _verified_tokens_lock:
        _verified_tokens.clear()


def auth_mode():
    """Return who issues the API's tokens: `local` (this service) or `external` (DataBiz's issuer)."""
    return getattr(settings, "AUTH_MODE", LOCAL)


def jwt_settings():
    """Return simplejwt's settings as they are now (simplejwt rebinds the object when SIMPLE_JWT changes)."""
    return simplejwt.api_settings


@dataclass(frozen=True)
class IssuerConfig:
    """Everything the verification of a token depends on, as one value (the issuer is this service itself in local
    mode): the key of the external issuer's backend (one per configuration and process, with its JWKS cache) and of
    the verifications reused."""

    algorithm: str
    signing_key: str
    verifying_key: str
    audience: object
    issuer: object
    jwk_url: object
    leeway: object
    user_id_claim: str
    jwks_timeout: float
    jwks_min_refresh: float
    jwks_max_age: float

    @classmethod
    def from_settings(cls):
        """Return the configuration in force now (SIMPLE_JWT and JWKS_*, read at call time)."""
        jwt = jwt_settings()
        return cls(
            algorithm=jwt.ALGORITHM,
            signing_key=jwt.SIGNING_KEY,
            verifying_key=jwt.VERIFYING_KEY,
            audience=tuple(jwt.AUDIENCE) if isinstance(jwt.AUDIENCE, (list, tuple)) else jwt.AUDIENCE,
            issuer=jwt.ISSUER,
            jwk_url=jwt.JWK_URL,
            leeway=jwt.LEEWAY,
            user_id_claim=jwt.USER_ID_CLAIM,
            jwks_timeout=settings.JWKS_TIMEOUT.total_seconds(),
            jwks_min_refresh=settings.JWKS_MIN_REFRESH.total_seconds(),
            jwks_max_age=settings.JWKS_MAX_AGE.total_seconds(),
        )


def issuer_backend():
    """Return simplejwt's token backend for the external issuer's configuration, one per process and key."""
    return issuer_backend_for(IssuerConfig.from_settings())


@functools.lru_cache(maxsize=8)
def issuer_backend_for(config):
    """Return a token backend for one issuer configuration; its JWKS client, if any, keeps the keys it fetched."""
    backend = TokenBackend(
        config.algorithm, config.signing_key, config.verifying_key, config.audience, config.issuer, None, config.leeway
    )
    if config.jwk_url:
        backend.jwks_client = IssuerKeys(
            config.jwk_url, algorithm=config.algorithm, timeout=config.jwks_timeout,
            min_refresh=config.jwks_min_refresh, max_age=config.jwks_max_age,
        )
    return backend


class IssuerToken(UntypedToken):
    """A token of DataBiz's external issuer, checked by simplejwt with the issuer's key, `iss`, `aud` and `exp`."""

    token_type = "external"

    def get_token_backend(self):
        """Return the external issuer's backend, not the one simplejwt built for this service's own tokens."""
        return issuer_backend()


class IssuerUser(TokenUser):
    """The caller an external issuer's token names: no row in this service's user table, never staff."""

    is_staff = False
    is_superuser = False

    @cached_property
    def id(self):
        """The user-id claim as a UUID: the `created_by` of the caller's datasets."""
        return token_user_id(self.token)

    @cached_property
    def username(self):
        return str(self.id)

    def __getattr__(self, name):
        # simplejwt's TokenUser answers any unknown attribute from the token's claims; nothing here should.
        raise AttributeError(name)


class PendingUser(TokenUser):
    """A local user named by a valid token, whose row the jobs page checks in its own round trip."""

    @cached_property
    def id(self):
        """The user-id claim as a UUID."""
        return token_user_id(self.token)

    def check_query(self):
        """Return the compiled query of this user's row, to run with the page."""
        return compiled(token_user_check_queryset, router.db_for_read(get_user_model()))

    def confirm(self, users):
        """Refuse the request unless the checked rows hold this user, active: what a deactivation takes effect by."""
        active_user(users)


def active_user(users):
    """Return the one user of `users`, or refuse the request when there is none or it is inactive."""
    if not users:
        raise AuthenticationFailed(_("User not found"), code="user_not_found")
    if not users[0].is_active:
        raise AuthenticationFailed(_("User is inactive"), code="user_inactive")
    return users[0]


def invalid_time_claim():
    """Return the refusal of a signed token whose time claim is no usable time."""
    return InvalidToken(_("Token has an invalid time claim"))


def token_user_id(validated_token):
    """Return the token's user-id claim as a UUID, or refuse the token when it is missing or not a UUID."""
    try:
        return uuid.UUID(str(validated_token[jwt_settings().USER_ID_CLAIM]))
    except (KeyError, ValueError):
        raise InvalidToken(_("Token contained no recognizable user identification")) from None


def token_user_queryset(using):
    """Return the QuerySet of the user a token names, with the USER parameter, to be compiled once."""
    return get_user_model().objects.using(using).filter(pk=ParameterUser.pk)


def token_user_check_queryset(using):
    """Return the QuerySet of what the page checks of the user a token names: that the row exists, and is active."""
    return token_user_queryset(using).only("is_active")


class BearerTokenAuthentication(JWTAuthentication):
    """simplejwt's Bearer authentication with what both identity modes share: the scheme name matched in any case
    (RFC 9110), a length limit, and a verification reused for a minute. Each mode is a subclass of its own
    (`TOKEN_AUTHENTICATION`), as simplejwt ships one class per shape (JWTAuthentication and
    JWTStatelessUserAuthentication).
    """

    def get_raw_token(self, header):
        """Return the token of an `Authorization: <scheme> <token>` header whose scheme is Bearer in any case."""
        parts = header.split()
        for header_type in AUTH_HEADER_TYPE_BYTES:
            if parts and parts[0].lower() == header_type.lower():
                parts[0] = header_type
        raw_token = super().get_raw_token(b" ".join(parts))
        if raw_token is not None and len(raw_token) > MAX_TOKEN_LENGTH:
            raise InvalidToken(_("Token is too long"))
        return raw_token

    def verification_key(self):
        """Return what a verification of a token depends on besides the token: a reused one must match it."""
        return (self.mode, IssuerConfig.from_settings())

    def get_validated_token(self, raw_token):
        """Return the verified token, verifying a token seen in the last minute only for its expiry."""
        key = (raw_token, self.verification_key())
        now = time.time()
        verified = _verified_tokens.get(key)
        if verified is not None and now < verified[1]:
            return verified[0]
        try:
            token = super().get_validated_token(raw_token)
        except INVALID_TIME_CLAIM:
            raise invalid_time_claim() from None
        # Valid until its `exp` (with the leeway simplejwt allows), for a minute at most, and only while the issuer's
        # key set is the one it was verified with.
        leeway = token.get_token_backend().get_leeway().total_seconds()
        with _verified_tokens_lock:
            _verified_tokens[key] = (token, min(float(token["exp"]) + leeway, now + VERIFIED_TOKEN_REUSE))
            if len(_verified_tokens) > VERIFIED_TOKENS_KEPT:
                del _verified_tokens[next(iter(_verified_tokens))]
        return token


class LocalTokenAuthentication(BearerTokenAuthentication):
    """AUTH_MODE=local: this service's own tokens, for a live, active user of its own table."""

    mode = LOCAL
    mints_tokens = True  # /api/v2/auth/token and .../refresh answer

    def get_user(self, validated_token):
        """Return the token's user, read from the table: a deleted or deactivated user is refused."""
        user_id = token_user_id(validated_token)
        return active_user(compiled(token_user_queryset, router.db_for_read(get_user_model())).run(user_id))


class LocalPageAuthentication(LocalTokenAuthentication):
    """AUTH_MODE=local on the jobs pages (the list's and the history's): the user's row is read by the page's own
    round trip.

    The token is verified here as always; whether its user still exists and is active is checked with the page's
    query, in one round trip to the database (CompiledPageQuerySet), and refused there exactly as here.
    """

    def get_user(self, validated_token):
        """Return a local user whose row the page will check."""
        user = PendingUser(validated_token)
        user.id  # a token without a usable user id is refused here, as the base class refuses it
        return user


class IssuerTokenAuthentication(BearerTokenAuthentication):
    """AUTH_MODE=external: the tokens of DataBiz's issuer, stateless: the user-id claim is the caller, no row read."""

    mode = EXTERNAL
    mints_tokens = False  # the issuer does: this service's token endpoints answer 404

    def verification_key(self):
        """The issuer's configuration, and which key set of its JWKS (if any) is in use: a token verified with an
        earlier key set is verified again."""
        config = IssuerConfig.from_settings()  # read once a poll: the key and the backend both come from it
        keys = issuer_backend_for(config).jwks_client
        return (self.mode, config, 0 if keys is None else keys.generation)

    def get_user(self, validated_token):
        """Return the caller the token names, with no user query."""
        token_user_id(validated_token)  # refused here when missing or not a UUID
        return IssuerUser(validated_token)


# The Bearer authentication of each identity mode, for every endpoint and for the jobs page; AUTH_MODE picks.
TOKEN_AUTHENTICATION = {LOCAL: LocalTokenAuthentication, EXTERNAL: IssuerTokenAuthentication}
PAGE_AUTHENTICATION = {LOCAL: LocalPageAuthentication, EXTERNAL: IssuerTokenAuthentication}


def token_authentication():
    """Return the Bearer authentication of the identity mode in force."""
    return TOKEN_AUTHENTICATION[auth_mode()]()


class TokenAuthentication(BearerTokenAuthentication):
    """DRF's default authentication (DEFAULT_AUTHENTICATION_CLASSES): made, it is the identity mode's own class.

    A class rather than the function above, so that what inspects the setting (drf-spectacular's Swagger view) finds
    a Bearer scheme there.
    """

    def __new__(cls, *args, **kwargs):
        return token_authentication()


def page_authentication():
    """Return the Bearer authentication of the jobs page for the identity mode in force."""
    return PAGE_AUTHENTICATION[auth_mode()]()
