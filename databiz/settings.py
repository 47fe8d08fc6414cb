"""Settings of the DataBiz jobs service: one module, every value from the environment."""
import json
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.dateparse import parse_duration

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default):
    """Read a yes/no environment variable ("1", "true", "yes", "on" mean yes)."""
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default):
    """Read a comma-separated environment variable."""
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_duration(name, default):
    """Read a duration in seconds ("3600"), "HH:MM:SS" or ISO 8601 ("PT1H")."""
    value = os.environ.get(name)
    if not value:
        return default
    duration = parse_duration(value.strip())
    if duration is None:
        raise ImproperlyConfigured(f"{name}={value!r} is not a duration (try seconds, e.g. 3600).")
    return duration


def env_int(name, default):
    """Read an integer environment variable."""
    value = os.environ.get(name)
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer.") from None


def env_choice(name, choices, default):
    """Read an environment variable that must be one of `choices`."""
    value = (os.environ.get(name) or default).strip().lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={value!r} must be one of: {', '.join(choices)}.")
    return value


def env_text_or_file(name):
    """Read a text from the variable `name`, or from the file that `name`_FILE names (for PEM keys, secrets)."""
    path = os.environ.get(f"{name}_FILE")
    if not path:
        return os.environ.get(name, "")
    try:
        return Path(path).read_text()
    except OSError as exc:
        raise ImproperlyConfigured(f"{name}_FILE={path!r} cannot be read: {exc.strerror}.") from None


# SECURITY

DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")
    SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])

# Production runs behind a TLS-terminating proxy that sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
# Probes and scrapers speak plain HTTP to the pod, not through the proxy.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SESSION_COOKIE_SECURE = env_bool("DJANGO_SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("DJANGO_CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0 if DEBUG else 3600)
# Both bind every subdomain of the domain to HTTPS: a decision for the whole domain, so off by default.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)
# `check --deploy` asks for both; while they are deliberately off, its reminders are silenced (and only then).
SILENCED_SYSTEM_CHECKS = [
    *([] if SECURE_HSTS_INCLUDE_SUBDOMAINS else ["security.W005"]),
    *([] if SECURE_HSTS_PRELOAD else ["security.W021"]),
]

# APPLICATIONS

INSTALLED_APPS = [
    "databiz.dashboard",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "databiz.accounts",
    "jobs",
]

MIDDLEWARE = [
    # Outermost, so they see every answer, redirects and errors included.
    "jobs.middleware.RequestMetricsMiddleware",
    "jobs.middleware.ApiRequestLogMiddleware",
    "jobs.middleware.ProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "databiz.urls"
WSGI_APPLICATION = "databiz.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# DATABASES

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    ),
}


def postgresql_options():
    """Return the connection options of a PostgreSQL database: timeouts, and prepared statements."""
    statement_timeout_ms = int(env_duration("DATABASE_STATEMENT_TIMEOUT", timedelta(seconds=2)).total_seconds() * 1000)
    return {
        # A hung query becomes a 503 instead of a stuck worker; an unreachable server fails fast.
        "options": f"-c statement_timeout={statement_timeout_ms}",
        "connect_timeout": env_int("DATABASE_CONNECT_TIMEOUT", 3),
        # Server-side binding lets PostgreSQL prepare the endpoint's statement once per connection instead of
        # parsing and planning it on every poll (docs/performance.md). Turn both off behind PgBouncer in
        # transaction mode, which cannot keep prepared statements.
        "server_side_binding": env_bool("DATABASE_SERVER_SIDE_BINDING", True),
        "prepare_threshold": env_int("DATABASE_PREPARE_THRESHOLD", 5) or None,
    }


if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["OPTIONS"] = postgresql_options()

# With a read replica, the jobs reads go there; everything else (auth, sessions, admin) stays on the primary.
if os.environ.get("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = dj_database_url.parse(
        os.environ["DATABASE_REPLICA_URL"],
        conn_max_age=DATABASES["default"]["CONN_MAX_AGE"],
        conn_health_checks=True,
    )
    if DATABASES["replica"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["replica"]["OPTIONS"] = postgresql_options()
DATABASE_ROUTERS = ["jobs.routers.DatasetRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# CACHES

# Throttling counters (and anything else cached) must be shared by every process and machine: Redis in
# production (REDIS_URL, e.g. redis://127.0.0.1:6379/0). Without it each process counts on its own.
if os.environ.get("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            "KEY_PREFIX": "databiz",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# AUTHENTICATION

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# INTERNATIONALISATION

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# STATIC FILES

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# WhiteNoise serves the collected files in production (`make serve` runs collectstatic), compressed.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# DASHBOARD

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"
# Seconds between polls until the server's X-Poll-Interval says otherwise.
DASHBOARD_POLL_INTERVAL = float(os.environ.get("DASHBOARD_POLL_INTERVAL", 10))

# REST FRAMEWORK

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # First in the list, so its `Bearer` challenge is the WWW-Authenticate header of every 401.
        "jobs.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "jobs.exceptions.api_exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        # Several tabs polling every 10 s stay far below it; a runaway client does not.
        "jobs": os.environ.get("JOBS_THROTTLE_RATE", "120/min"),
        "auth": os.environ.get("AUTH_THROTTLE_RATE", "20/min"),
    },
}

# Who issues the API's Bearer tokens (README, "Plugging into DataBiz's login"): "local", this service, for users
# of its own table (make run, the demo); "external", DataBiz's backend or its OpenID Connect provider, whose
# tokens are verified here and whose user-id claim is the caller, with no user row.
AUTH_MODE = env_choice("AUTH_MODE", ("local", "external"), "local")

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": env_duration("JWT_ACCESS_TOKEN_LIFETIME", timedelta(minutes=15)),
    "REFRESH_TOKEN_LIFETIME": env_duration("JWT_REFRESH_TOKEN_LIFETIME", timedelta(days=1)),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "UPDATE_LAST_LOGIN": False,
}
if AUTH_MODE == "external":
    SIMPLE_JWT.update({
        # HS256/384/512 with JWT_SIGNING_KEY, the shared secret (never SECRET_KEY); RS*/ES*/PS* with
        # JWT_VERIFYING_KEY (a PEM public key, or JWT_VERIFYING_KEY_FILE) or JWT_JWK_URL (an OIDC provider's JWKS).
        "ALGORITHM": os.environ.get("JWT_ALGORITHM", "HS256").strip(),
        "SIGNING_KEY": os.environ.get("JWT_SIGNING_KEY", ""),
        "VERIFYING_KEY": env_text_or_file("JWT_VERIFYING_KEY"),
        "JWK_URL": os.environ.get("JWT_JWK_URL", "").strip() or None,
        "ISSUER": os.environ.get("JWT_ISSUER", "").strip() or None,
        "AUDIENCE": os.environ.get("JWT_AUDIENCE", "").strip() or None,
        # Tolerated clock skew between the issuer and this service, for exp, nbf and iat.
        "LEEWAY": env_duration("JWT_LEEWAY", timedelta(seconds=30)),
        "USER_ID_CLAIM": os.environ.get("JWT_USER_ID_CLAIM", "sub").strip(),
        # Other issuers put neither simplejwt's token type nor a token id in their tokens.
        "TOKEN_TYPE_CLAIM": None,
        "JTI_CLAIM": None,
        "AUTH_TOKEN_CLASSES": ("jobs.authentication.IssuerToken",),
        "TOKEN_USER_CLASS": "jobs.authentication.IssuerUser",
    })
# The issuer's JWKS: how long a fetch may take, how often an unknown `kid` may trigger one, how long keys are kept.
JWKS_TIMEOUT = env_duration("JWKS_TIMEOUT", timedelta(seconds=3))
JWKS_MIN_REFRESH = env_duration("JWKS_MIN_REFRESH", timedelta(minutes=1))
JWKS_MAX_AGE = env_duration("JWKS_MAX_AGE", timedelta(minutes=5))

# OPENAPI (schema at /api/v2/schema, Swagger UI at /api/v2/docs, assets served from this service)

OPENAPI_STAFF_ONLY = env_bool("OPENAPI_STAFF_ONLY", False)
SPECTACULAR_SETTINGS = {
    "TITLE": "DataBiz jobs API",
    "DESCRIPTION": "Background jobs derived from the imports service's datasets, for the frontend's polling hook.",
    "VERSION": "2",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["jobs.schema.OpenApiAccess"],
    "PREPROCESSING_HOOKS": ["jobs.schema.without_trailing_slash_aliases"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"JobStatusEnum": "jobs.models.JobStatus", "JobTypeEnum": "jobs.models.JobType"},
}

# METRICS (/metrics: Prometheus; set PROMETHEUS_MULTIPROC_DIR for a multi-process server, see README)

# Direct peers (addresses or networks) that may read /metrics without a token.
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS", ["127.0.0.1", "::1"])
# A scraper holding this token (`Authorization: Bearer <token>`) may read /metrics from anywhere; empty: none.
METRICS_BEARER_TOKEN = os.environ.get("METRICS_BEARER_TOKEN", "")

# JOBS (defaults live in jobs/conf.py; only values given in the environment are set here)

if os.environ.get("JOBS_STATUS_MAP"):
    JOBS_STATUS_MAP = json.loads(os.environ["JOBS_STATUS_MAP"])
_DURATIONS = ("JOBS_RETENTION", "JOBS_STALL_AFTER", "JOBS_POLL_INTERVAL", "JOBS_IDLE_POLL_INTERVAL",
              "JOBS_PROGRESS_HISTORY", "JOBS_PROGRESS_CACHE")
for _name in _DURATIONS:
    if os.environ.get(_name):
        globals()[_name] = env_duration(_name, None)
for _name in ("JOBS_MAX_RESULTS", "JOBS_PROGRESS_MIN_SAMPLE"):
    if os.environ.get(_name):
        globals()[_name] = env_int(_name, None)
# "estimate": progress from file size and the learned import speed; "fixed": 50 running, 100 done, 0 failed.
if os.environ.get("JOBS_PROGRESS"):
    JOBS_PROGRESS = os.environ["JOBS_PROGRESS"].strip().lower()
    if JOBS_PROGRESS not in {"estimate", "fixed"}:
        raise ImproperlyConfigured(f"JOBS_PROGRESS={JOBS_PROGRESS!r} must be 'estimate' or 'fixed'.")

# LOGGING

LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "jobs.logs.JsonFormatter"},
    },
    # Stdout, one line per record (JSON lines with LOG_FORMAT=json): what container log collectors read.
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "json" if LOG_FORMAT == "json" else "text",
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
