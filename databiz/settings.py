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

# APPLICATIONS

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "databiz.accounts",
    "jobs",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
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
DATABASE_ROUTERS = ["jobs.routers.DatasetRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

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
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": env_duration("JWT_ACCESS_TOKEN_LIFETIME", timedelta(minutes=15)),
    "REFRESH_TOKEN_LIFETIME": env_duration("JWT_REFRESH_TOKEN_LIFETIME", timedelta(days=1)),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "UPDATE_LAST_LOGIN": False,
}

# JOBS (defaults live in jobs/conf.py; only values given in the environment are set here)

if os.environ.get("JOBS_STATUS_MAP"):
    JOBS_STATUS_MAP = json.loads(os.environ["JOBS_STATUS_MAP"])
if os.environ.get("JOBS_RETENTION"):
    JOBS_RETENTION = env_duration("JOBS_RETENTION", None)
if os.environ.get("JOBS_STALL_AFTER"):
    JOBS_STALL_AFTER = env_duration("JOBS_STALL_AFTER", None)
if os.environ.get("JOBS_MAX_RESULTS"):
    JOBS_MAX_RESULTS = env_int("JOBS_MAX_RESULTS", None)

# JOBS PROGRESS (estimates from file size and the learned import speed; defaults in jobs/conf.py)

if os.environ.get("JOBS_PROGRESS"):
    JOBS_PROGRESS = os.environ["JOBS_PROGRESS"].strip().lower()
    if JOBS_PROGRESS not in {"estimate", "fixed"}:
        raise ImproperlyConfigured(f"JOBS_PROGRESS={JOBS_PROGRESS!r} must be 'estimate' or 'fixed'.")
if os.environ.get("JOBS_PROGRESS_HISTORY"):
    JOBS_PROGRESS_HISTORY = env_duration("JOBS_PROGRESS_HISTORY", None)
if os.environ.get("JOBS_PROGRESS_MIN_SAMPLE"):
    JOBS_PROGRESS_MIN_SAMPLE = env_int("JOBS_PROGRESS_MIN_SAMPLE", None)
if os.environ.get("JOBS_PROGRESS_CACHE"):
    JOBS_PROGRESS_CACHE = env_duration("JOBS_PROGRESS_CACHE", None)

# LOGGING

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
