"""Settings of the DataBiz jobs service: one module, every value from the environment."""
from datetime import timedelta
from pathlib import Path

from corsheaders.defaults import default_headers
from django.core.exceptions import ImproperlyConfigured

from databiz.env import (
    DAY,
    MINUTE,
    SECOND,
    YEAR,
    env_bool,
    env_choice,
    env_database_url,
    env_duration,
    env_float,
    env_int,
    env_list,
    env_networks,
    env_origins,
    env_rate,
    env_str,
    env_text_or_file,
)
from jobs.conf import from_environment as jobs_from_environment

BASE_DIR = Path(__file__).resolve().parent.parent


# SECURITY

DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env_str("DJANGO_SECRET_KEY")
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
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0 if DEBUG else 3600, minimum=0)
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
    "corsheaders",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "databiz.accounts",
    "jobs",
    # The demo (its datasets table, users, prepare_demo, play_demo): `make run` and `make test` turn it on;
    # production leaves it out, and nothing else imports it.
    *(["databiz.demo"] if env_bool("DATABIZ_DEMO", False) else []),
]

MIDDLEWARE = [
    # Outermost, so they see every answer, redirects and errors included.
    "databiz.middleware.RequestMetricsMiddleware",
    "databiz.middleware.ApiRequestLogMiddleware",
    # Before anything else that can answer: the HTTPS redirect would answer a preflight with a 301, which browsers
    # take as a failed preflight. After the two above, so that preflights are counted and logged too.
    "corsheaders.middleware.CorsMiddleware",
    "databiz.middleware.ProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Django's session, session user and messages, skipped for Bearer API calls (every poll), which use none.
    "databiz.middleware.BrowserSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "databiz.middleware.BrowserAuthenticationMiddleware",
    "databiz.middleware.BrowserMessageMiddleware",
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
    "default": env_database_url(
        "DATABASE_URL",
        f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
        conn_health_checks=True,
    ),
}


def postgresql_options():
    """Return the connection options of a PostgreSQL database: timeouts, and prepared statements."""
    statement_timeout_ms = int(env_duration(
        "DATABASE_STATEMENT_TIMEOUT", timedelta(seconds=2), minimum=timedelta(milliseconds=1), maximum=DAY
    ).total_seconds() * 1000)
    # PostgreSQL's "auto" re-plans a prepared statement on every run while it guesses a custom plan is cheaper: the
    # poll's statement was planned anew on each poll (pg_prepared_statements: custom_plans 1995, generic_plans 0), 60 %
    # of its database time. Its one plan (an index lookup of one user's rows) does not depend on the values.
    plan_cache_mode = env_choice(
        "DATABASE_PLAN_CACHE_MODE", ("auto", "force_generic_plan", "force_custom_plan"), "force_generic_plan"
    )
    return {
        # A hung query becomes a 503 instead of a stuck worker; an unreachable server fails fast.
        "options": f"-c statement_timeout={statement_timeout_ms} -c plan_cache_mode={plan_cache_mode}",
        "connect_timeout": env_int("DATABASE_CONNECT_TIMEOUT", 3, minimum=1),
        # Server-side binding lets PostgreSQL prepare the endpoint's statement once per connection instead of
        # parsing and planning it on every poll (docs/performance.md). Turn both off behind PgBouncer in
        # transaction mode, which cannot keep prepared statements.
        "server_side_binding": env_bool("DATABASE_SERVER_SIDE_BINDING", True),
        "prepare_threshold": env_int("DATABASE_PREPARE_THRESHOLD", 5, minimum=0) or None,
    }


if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["OPTIONS"] = postgresql_options()

# With a read replica, the jobs reads go there; everything else (auth, sessions, admin) stays on the primary.
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = env_database_url(
        "DATABASE_REPLICA_URL",
        None,
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
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
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
DASHBOARD_POLL_INTERVAL = env_float("DASHBOARD_POLL_INTERVAL", 10.0, minimum=1, maximum=3600)

# REST FRAMEWORK

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # First in the list, so its `Bearer` challenge is the WWW-Authenticate header of every 401: the identity mode's
        # own class (AUTH_MODE, read at request time; jobs/authentication.py TOKEN_AUTHENTICATION).
        "jobs.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "databiz.errors.api_exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        # Token requests per client address; the jobs list's own rate is JOBS_THROTTLE_RATE (jobs/conf.py).
        "auth": env_rate("AUTH_THROTTLE_RATE", "20/min"),
    },
}

# Who issues the API's Bearer tokens (README, "Plugging into DataBiz's login"): "local", this service, for users
# of its own table (make run, the demo); "external", DataBiz's backend or its OpenID Connect provider, whose
# tokens are verified here and whose user-id claim is the caller, with no user row.
AUTH_MODE = env_choice("AUTH_MODE", ("local", "external"), "local")

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": env_duration(
        "JWT_ACCESS_TOKEN_LIFETIME", timedelta(minutes=15), minimum=SECOND, maximum=7 * DAY
    ),
    "REFRESH_TOKEN_LIFETIME": env_duration(
        "JWT_REFRESH_TOKEN_LIFETIME", timedelta(days=1), minimum=SECOND, maximum=YEAR
    ),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "UPDATE_LAST_LOGIN": False,
}
if AUTH_MODE == "external":
    SIMPLE_JWT.update({
        # HS256/384/512 with JWT_SIGNING_KEY, the shared secret (never SECRET_KEY); RS*/ES*/PS* with
        # JWT_VERIFYING_KEY (a PEM public key, or JWT_VERIFYING_KEY_FILE) or JWT_JWK_URL (an OIDC provider's JWKS).
        "ALGORITHM": env_str("JWT_ALGORITHM", "HS256"),
        "SIGNING_KEY": env_text_or_file("JWT_SIGNING_KEY"),
        "VERIFYING_KEY": env_text_or_file("JWT_VERIFYING_KEY"),
        "JWK_URL": env_str("JWT_JWK_URL", None),
        "ISSUER": env_str("JWT_ISSUER", None),
        "AUDIENCE": env_str("JWT_AUDIENCE", None),
        # Tolerated clock skew between the issuer and this service, for exp, nbf and iat.
        "LEEWAY": env_duration("JWT_LEEWAY", timedelta(seconds=30), minimum=timedelta(0), maximum=timedelta(minutes=5)),
        "USER_ID_CLAIM": env_str("JWT_USER_ID_CLAIM", "sub"),
        # Other issuers put neither simplejwt's token type nor a token id in their tokens.
        "TOKEN_TYPE_CLAIM": None,
        "JTI_CLAIM": None,
        "AUTH_TOKEN_CLASSES": ("jobs.authentication.IssuerToken",),
        "TOKEN_USER_CLASS": "jobs.authentication.IssuerUser",
    })
# The issuer's JWKS: how long a fetch may take, how often an unknown `kid` may trigger one, how long keys are kept.
JWKS_TIMEOUT = env_duration("JWKS_TIMEOUT", timedelta(seconds=3), minimum=timedelta(milliseconds=100), maximum=MINUTE)
JWKS_MIN_REFRESH = env_duration("JWKS_MIN_REFRESH", timedelta(minutes=1), minimum=timedelta(0), maximum=DAY)
JWKS_MAX_AGE = env_duration("JWKS_MAX_AGE", timedelta(minutes=5), minimum=SECOND, maximum=DAY)

# CROSS-ORIGIN REQUESTS (README, "Cross-origin use (CORS)"; django-cors-headers reads these at request time)

# The frontends served from another origin ("https://app.databiz.example", a dev server "http://localhost:5173");
# empty: same origin only, and no CORS header at all.
CORS_ALLOWED_ORIGINS = env_origins("CORS_ALLOWED_ORIGINS", [])
# The API only; the admin, the dashboard and the probes are never read cross-origin.
CORS_URLS_REGEX = r"^/api/"
# GET for the list and the stream, POST for the token endpoints: the API has no other method.
CORS_ALLOW_METHODS = ("GET", "OPTIONS", "POST")
# Conditional polls (If-None-Match) and a fetch-based stream's reconnection (Last-Event-ID) send headers that are not
# CORS-safelisted; `authorization` is among corsheaders' defaults.
CORS_ALLOW_HEADERS = (*default_headers, "if-none-match", "last-event-id")
# What the frontend reads beyond the safelisted headers: the poll hints, the ETag it sends back, a 429's or 503's wait.
CORS_EXPOSE_HEADERS = ("ETag", "X-Poll-Interval", "X-Jobs-Running", "X-Jobs-Truncated", "Retry-After")
# Bearer tokens need no cookie; only a cross-origin native EventSource (which cannot send Authorization) needs the
# session cookie, and so credentials.
CORS_ALLOW_CREDENTIALS = env_bool("CORS_ALLOW_CREDENTIALS", False)
# Seconds a browser keeps a preflight: one per URL every 10 minutes, not one before each 10-second poll (Chromium
# caps it at 2 hours anyway).
CORS_PREFLIGHT_MAX_AGE = 600

# OPENAPI (schema at /api/v2/schema, Swagger UI at /api/v2/docs, assets served from this service)

OPENAPI_STAFF_ONLY = env_bool("OPENAPI_STAFF_ONLY", False)
SPECTACULAR_SETTINGS = {
    "TITLE": "DataBiz jobs API",
    "DESCRIPTION": "Background jobs derived from the imports service's datasets, for the frontend's polling hook.",
    "VERSION": "2",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["jobs.openapi.OpenApiAccess"],
    "PREPROCESSING_HOOKS": ["jobs.openapi.without_trailing_slash_aliases"],
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "jobs.openapi.with_the_stream"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"JobStatusEnum": "jobs.models.JobStatus", "JobTypeEnum": "jobs.models.JobType"},
}

# METRICS (/metrics: Prometheus; set PROMETHEUS_MULTIPROC_DIR for a multi-process server, see README)

# Direct peers (addresses or networks) that may read /metrics without a token.
METRICS_ALLOWED_IPS = env_networks("METRICS_ALLOWED_IPS", ["127.0.0.1", "::1"])
# A scraper holding this token (`Authorization: Bearer <token>`) may read /metrics from anywhere; empty: none.
METRICS_BEARER_TOKEN = env_str("METRICS_BEARER_TOKEN")

# JOBS (jobs/conf.py declares each: its default, the values it accepts, what it means; None, when unset: the default)

JOBS_STATUS_MAP = jobs_from_environment("JOBS_STATUS_MAP")
JOBS_RETENTION = jobs_from_environment("JOBS_RETENTION")
JOBS_STALL_AFTER = jobs_from_environment("JOBS_STALL_AFTER")
JOBS_MAX_RESULTS = jobs_from_environment("JOBS_MAX_RESULTS")
JOBS_POLL_INTERVAL = jobs_from_environment("JOBS_POLL_INTERVAL")
JOBS_IDLE_POLL_INTERVAL = jobs_from_environment("JOBS_IDLE_POLL_INTERVAL")
JOBS_THROTTLE_RATE = jobs_from_environment("JOBS_THROTTLE_RATE")
JOBS_PROGRESS = jobs_from_environment("JOBS_PROGRESS")
JOBS_PROGRESS_HISTORY = jobs_from_environment("JOBS_PROGRESS_HISTORY")
JOBS_PROGRESS_MIN_SAMPLE = jobs_from_environment("JOBS_PROGRESS_MIN_SAMPLE")
JOBS_PROGRESS_CACHE = jobs_from_environment("JOBS_PROGRESS_CACHE")
JOBS_STREAM_TICK = jobs_from_environment("JOBS_STREAM_TICK")
JOBS_STREAM_NOTIFIED_TICK = jobs_from_environment("JOBS_STREAM_NOTIFIED_TICK")
JOBS_STREAM_FULL_READ = jobs_from_environment("JOBS_STREAM_FULL_READ")
JOBS_STREAM_HEARTBEAT = jobs_from_environment("JOBS_STREAM_HEARTBEAT")
JOBS_STREAM_RETRY = jobs_from_environment("JOBS_STREAM_RETRY")
JOBS_STREAM_SESSION_RECHECK = jobs_from_environment("JOBS_STREAM_SESSION_RECHECK")
JOBS_STREAM_MAX_PER_USER = jobs_from_environment("JOBS_STREAM_MAX_PER_USER")
JOBS_STREAM_MAX_PER_PROCESS = jobs_from_environment("JOBS_STREAM_MAX_PER_PROCESS")
JOBS_STREAM_NOTIFY_CHANNEL = jobs_from_environment("JOBS_STREAM_NOTIFY_CHANNEL")

# LOGGING

LOG_FORMAT = env_choice("LOG_FORMAT", ("text", "json"), "text")
LOG_LEVEL = env_choice("LOG_LEVEL", ("debug", "info", "warning", "error", "critical"), "info").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "databiz.logs.JsonFormatter"},
    },
    # Stdout, one line per record (JSON lines with LOG_FORMAT=json): what container log collectors read.
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "json" if LOG_FORMAT == "json" else "text",
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
}
