"""System checks of the jobs app: the datasets table it reads, its settings, and the token issuer's."""
from urllib.parse import urlsplit

import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.core import checks
from django.db import DatabaseError, router
from rest_framework_simplejwt.backends import ALLOWED_ALGORITHMS

from . import conf
from .authentication import EXTERNAL, auth_mode, jwt_settings
from .conf import SETTINGS, jobs_settings
from .models import Dataset, JobStatus
from .stream import channel_problem
from .table import datasets_table_problems

# RFC 7518 §3.2: an HMAC key at least as long as the hash, 256 bits for HS256.
MIN_SECRET_BYTES = 32


@checks.register()
def check_datasets_table(app_configs=None, **kwargs):
    """Warn, by name, when the datasets table or one of its expected columns is missing or cannot be read."""
    using = router.db_for_read(Dataset)
    try:
        problems = datasets_table_problems(using)
    except DatabaseError as exc:
        problems = [f"The database {using!r} cannot be reached ({exc.__class__.__name__})."]
    # A warning, not an error: `migrate` runs the checks too, before a demo database has its table.
    return [
        checks.Warning(problem, hint="The jobs endpoint answers 503 until this is fixed.", id="jobs.W001")
        for problem in problems
    ]


@checks.register()
def check_jobs_settings(app_configs=None, **kwargs):
    """Report JOBS_* settings the rules cannot work with: a value outside what jobs/conf.py declares the setting
    accepts (set in Python; the environment's are checked as they are read), a status map to unknown job statuses,
    a notification channel outside the trigger's rule."""
    refused = {
        name: problem for name, declared in SETTINGS.items()
        if (problem := declared.problem(getattr(jobs_settings, name))) is not None
    }
    errors = [checks.Error(f"{name} {problem}.", id="jobs.E002") for name, problem in refused.items()]
    # A value refused above is of the wrong kind; the checks below read the values' content.
    unknown = [] if "JOBS_STATUS_MAP" in refused else sorted(set(conf.status_map().values()) - set(JobStatus.values))
    if unknown:
        errors.append(checks.Error(
            f"JOBS_STATUS_MAP maps to unknown job statuses: {', '.join(unknown)}.",
            hint=f"Job statuses are {', '.join(JobStatus.values)}.", id="jobs.E001",
        ))
    channel = jobs_settings.JOBS_STREAM_NOTIFY_CHANNEL
    if channel and "JOBS_STREAM_NOTIFY_CHANNEL" not in refused and (problem := channel_problem(channel)) is not None:
        errors.append(checks.Error(f"JOBS_STREAM_NOTIFY_CHANNEL: {problem}", id="jobs.E004"))
    return errors


@checks.register(checks.Tags.security)
def check_external_issuer(app_configs=None, **kwargs):
    """Report an external-issuer configuration that could not verify a token, or could verify a forged one."""
    if auth_mode() != EXTERNAL:
        return []
    configured = jwt_settings()
    algorithm, secret, public_key = configured.ALGORITHM, configured.SIGNING_KEY, configured.VERIFYING_KEY
    if algorithm not in ALLOWED_ALGORITHMS:
        problem = (f"JWT_ALGORITHM={algorithm!r} is not an algorithm simplejwt knows.", "E010")
    elif algorithm.startswith("HS"):
        problem = shared_secret_problem(algorithm, secret or "", public_key or configured.JWK_URL)
    else:
        problem = public_key_problem(algorithm, secret, public_key, configured.JWK_URL)
    if problem is None:
        return []
    message, code = problem
    return [checks.Error(message, hint="See the README, \"Plugging into DataBiz's login\".", id=f"jobs.{code}")]


def shared_secret_problem(algorithm, secret, public_key):
    """Return (message, code) when an HS* configuration cannot verify tokens safely, else None."""
    if not secret:
        return f"AUTH_MODE=external with {algorithm} needs the shared secret: set JWT_SIGNING_KEY.", "E011"
    if secret == settings.SECRET_KEY:
        return ("JWT_SIGNING_KEY is this service's SECRET_KEY: the issuer would hold the key to its sessions and "
                "signed data. Give the issuer a secret of its own.", "E018")
    if len(secret.encode()) < MIN_SECRET_BYTES:
        return (f"JWT_SIGNING_KEY is {len(secret.encode())} bytes; an {algorithm} secret needs at least "
                f"{MIN_SECRET_BYTES}.", "E012")
    if public_key:
        return (f"{algorithm} is a shared-secret algorithm, so a public key or JWKS URL would not be used: "
                "set JWT_ALGORITHM to the issuer's asymmetric algorithm, or unset them.", "E013")
    return None


def public_key_problem(algorithm, secret, public_key, jwk_url):
    """Return (message, code) when an asymmetric configuration has no usable public key, else None."""
    if public_key and jwk_url:
        return "Set JWT_VERIFYING_KEY or JWT_JWK_URL, not both.", "E014"
    if jwk_url:
        parts = urlsplit(jwk_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return f"JWT_JWK_URL={jwk_url!r} is not an http(s) URL.", "E015"
        return None
    if not public_key:
        what = "a public key, not a shared secret (JWT_SIGNING_KEY)" if secret else "a public key"
        return (f"AUTH_MODE=external with {algorithm} needs {what}: set JWT_VERIFYING_KEY (or "
                "JWT_VERIFYING_KEY_FILE) to its PEM, or JWT_JWK_URL.", "E011")
    try:
        serialization.load_pem_public_key(public_key.encode())
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return (f"JWT_VERIFYING_KEY is not a PEM public key, which {algorithm} needs "
                "(a shared secret goes with HS256).", "E016")
    try:
        jwt.get_algorithm_by_name(algorithm).prepare_key(public_key)
    except jwt.InvalidKeyError:
        return (f"JWT_VERIFYING_KEY is not a key {algorithm} verifies with (RS* and PS*: RSA; ES*: EC; EdDSA: "
                "Ed25519 or Ed448): set JWT_ALGORITHM to the issuer's algorithm.", "E017")
    return None
