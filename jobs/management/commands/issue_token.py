"""Print an access token for curl and debugging: this service's own, or one as DataBiz's issuer would mint it."""
import uuid
from datetime import timedelta
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from jwt import PyJWTError
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.tokens import AccessToken

from jobs.authentication import EXTERNAL, auth_mode, issuer_backend, jwt_settings

# A year: longer-lived tokens are no way to try the service.
MAX_MINUTES = 365 * 24 * 60


class Command(BaseCommand):
    help = (
        "Print a fresh access token. AUTH_MODE=local: for an existing, active user of this service, by username. "
        "AUTH_MODE=external: for a DataBiz user UUID, signed as DataBiz's backend would sign it (the shared secret, "
        "or --private-key for RS*/ES*), so the service can be tried with curl before the frontend is switched over."
    )

    def add_arguments(self, parser):
        parser.add_argument("user", help="A username (local mode) or a DataBiz user UUID (external mode).")
        parser.add_argument(
            "--minutes", type=int, help=f"Lifetime of an external token (default 15, at most {MAX_MINUTES})."
        )
        parser.add_argument("--private-key", type=Path, help="External mode, RS*/ES*: the issuer's PEM private key.")

    def handle(self, *args, user, minutes, private_key, **options):
        if auth_mode() == EXTERNAL:
            self.stdout.write(self.issuer_token(user, 15 if minutes is None else minutes, private_key))
            return
        if minutes is not None or private_key is not None:
            raise CommandError(
                "--minutes and --private-key are for AUTH_MODE=external; this service's own tokens live "
                "JWT_ACCESS_TOKEN_LIFETIME and are signed with its own key."
            )
        self.stdout.write(str(AccessToken.for_user(self.local_user(user))))

    def local_user(self, username):
        """Return the active local user named `username`, or stop with why there is none."""
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        if not user.is_active:
            raise CommandError(f"User {username!r} is inactive: tokens would be refused.")
        return user

    def issuer_token(self, user, minutes, private_key):
        """Return a token for the user UUID `user` as the external issuer would mint it."""
        try:
            user_id = uuid.UUID(user)
        except ValueError:
            raise CommandError(f"AUTH_MODE is external: give a DataBiz user UUID, not {user!r}.") from None
        if not 1 <= minutes <= MAX_MINUTES:
            raise CommandError(f"--minutes must be from 1 to {MAX_MINUTES}.")
        verifier = issuer_backend()
        backend = self.signer(verifier, private_key)
        now = timezone.now()
        payload = {jwt_settings().USER_ID_CLAIM: str(user_id), "iat": now, "exp": now + timedelta(minutes=minutes)}
        try:
            return backend.encode(payload)
        except (PyJWTError, ValueError, TypeError, AttributeError):
            raise CommandError(
                f"{private_key} cannot sign {verifier.algorithm} tokens: give the issuer's {verifier.algorithm} "
                "private key (PEM)."
            ) from None

    def signer(self, verifier, private_key):
        """Return the token backend that signs as the issuer: the shared secret's, or one with --private-key."""
        if verifier.algorithm.startswith("HS"):
            if private_key is not None:
                raise CommandError(
                    f"{verifier.algorithm} tokens are signed with the shared secret (JWT_SIGNING_KEY); --private-key "
                    "is for RS*, PS* and ES* issuers."
                )
            return verifier
        if private_key is None:
            raise CommandError(
                f"{verifier.algorithm} tokens are signed with the issuer's private key: pass it with --private-key."
            )
        try:
            key = private_key.read_text()
        except OSError as exc:
            raise CommandError(f"{private_key}: {exc.strerror}.") from None
        return TokenBackend(verifier.algorithm, key, audience=verifier.audience, issuer=verifier.issuer)
