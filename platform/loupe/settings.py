"""Loupe's settings, read from the environment through loupe.env (documented defaults
suit a local checkout running `make services`)."""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

from loupe.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parents[2]
LOCAL_DIR = BASE_DIR / ".local"

DEBUG = env_bool("DEBUG", False)
# The default only suits local use; deployments set SECRET_KEY.
SECRET_KEY = env_str("SECRET_KEY", "loupe-local-development-key-not-for-production")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [".localhost", "localhost", "127.0.0.1", "testserver"])

# --- Tenancy -------------------------------------------------------------------------------

SHARED_APPS = [
    # tenants first: its migrate_schemas (which keeps the template current) overrides
    # django_tenants' own.
    "tenants",
    "django_tenants",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.admin",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django.contrib.postgres",
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    # The admin log lives beside each tenant's data, so its content types match.
    "django.contrib.admin",
    "apps.projects",
    "apps.datasets",
    "apps.slices",
    "apps.jobs",
    "apps.training",
    "search",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Tenant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_NAME = "public"
# New tenants are cloned from this schema, which every migrate keeps current.
TENANT_BASE_SCHEMA = "tenant_template"
TENANT_CREATION_FAKES_MIGRATIONS = True
TENANT_LIMIT_SET_CALLS = True
EXTRA_SET_TENANT_METHOD_PATH = "tenants.activation.follow_on_replica"
PUBLIC_SCHEMA_URLCONF = "loupe.urls_public"
ROOT_URLCONF = "loupe.urls_tenant"
AUTH_USER_MODEL = "tenants.User"

# --- Databases -----------------------------------------------------------------------------


def _database(url: str) -> dict:
    config = dj_database_url.parse(
        url,
        conn_max_age=env_int("DB_CONN_MAX_AGE", 0),
        conn_health_checks=True,
    )
    config["ENGINE"] = "django_tenants.postgresql_backend"
    config["OPTIONS"] = {"connect_timeout": env_int("DB_CONNECT_TIMEOUT", 2)}
    return config


DATABASES = {
    "default": _database(env_str("DATABASE_URL", "postgres://loupe@127.0.0.1:55432/loupe")),
    "replica": _database(env_str("DATABASE_REPLICA_URL", "postgres://loupe@127.0.0.1:55433/loupe")),
}
DATABASE_ROUTERS = [
    "loupe.db.router.PrimaryReplicaRouter",
    "django_tenants.routers.TenantSyncRouter",
]
# A replica further behind than this is skipped and reads go to the primary.
REPLICA_MAX_LAG_SECONDS = env_float("REPLICA_MAX_LAG_SECONDS", 5.0)
# How long one verdict on the replica's health is trusted before it is checked again.
REPLICA_CHECK_INTERVAL_SECONDS = env_float("REPLICA_CHECK_INTERVAL_SECONDS", 1.0)
# How long a replica found down (or too far behind) is skipped before it is checked again.
REPLICA_RETRY_SECONDS = env_float("REPLICA_RETRY_SECONDS", 5.0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, Celery, Channels, Elasticsearch ------------------------------------------------

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:56379/0")
# Prefix for every Redis key and channel the platform writes; tenant keys add the schema.
REDIS_KEY_PREFIX = env_str("REDIS_KEY_PREFIX", "loupe")

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": f"{REDIS_KEY_PREFIX}:cache",
    }
}
# Sessions are read from Redis first: a session written a moment ago is found at once,
# whatever the replica's lag.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", REDIS_URL)

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "prefix": f"{REDIS_KEY_PREFIX}:channels"},
    }
}
ASGI_APPLICATION = "loupe.asgi.application"
WSGI_APPLICATION = "loupe.wsgi.application"

# Empty means no Elasticsearch: search is answered by Postgres and /readyz skips it.
ELASTICSEARCH_URL = env_str("ELASTICSEARCH_URL", "http://127.0.0.1:59200")
ELASTICSEARCH_INDEX_PREFIX = env_str("ELASTICSEARCH_INDEX_PREFIX", REDIS_KEY_PREFIX)
# Outbox entries drained per transaction and bulk request.
SEARCH_DRAIN_BATCH_SIZE = env_int("SEARCH_DRAIN_BATCH_SIZE", 2000)

# --- Identity ------------------------------------------------------------------------------

# Empty: Loupe is its own development issuer (keys under .local/oidc, `manage.py issue_token`).
OIDC_ISSUER = env_str("OIDC_ISSUER", "")
OIDC_AUDIENCE = env_str("OIDC_AUDIENCE", "loupe")
# Found through the issuer's /.well-known/openid-configuration when empty.
OIDC_JWKS_URL = env_str("OIDC_JWKS_URL", "")
OIDC_ALGORITHMS = env_list("OIDC_ALGORITHMS", ["RS256", "ES256"])
OIDC_TENANT_CLAIM = env_str("OIDC_TENANT_CLAIM", "tenant")
OIDC_ROLE_CLAIM = env_str("OIDC_ROLE_CLAIM", "role")
OIDC_LEEWAY_SECONDS = env_int("OIDC_LEEWAY_SECONDS", 30)
# Whether a token's tenant and role claims create a missing membership (the development
# issuer's tokens always may: only an operator with a shell can mint them).
OIDC_GRANT_MEMBERSHIP_FROM_CLAIMS = env_bool("OIDC_GRANT_MEMBERSHIP_FROM_CLAIMS", False)
# An unknown key id refetches the JWKS at most this often.
OIDC_JWKS_MIN_REFRESH_SECONDS = env_float("OIDC_JWKS_MIN_REFRESH_SECONDS", 10.0)
OIDC_JWKS_MAX_AGE_SECONDS = env_float("OIDC_JWKS_MAX_AGE_SECONDS", 3600.0)
# The development issuer's identifier and key directory.
PUBLIC_URL = env_str("PUBLIC_URL", "http://localhost:8000")
DEV_ISSUER_KEY_DIR = Path(env_str("DEV_ISSUER_KEY_DIR", str(LOCAL_DIR / "oidc")))

API_SESSION_TTL_SECONDS = env_int("API_SESSION_TTL_SECONDS", 3600)
# Failed authentications allowed per client address per minute before 429.
AUTH_FAILURES_PER_MINUTE = env_int("AUTH_FAILURES_PER_MINUTE", 30)

# --- HTTP ----------------------------------------------------------------------------------

MIDDLEWARE = [
    "loupe.middleware.request_context.RequestContextMiddleware",
    "tenants.middleware.TenantMiddleware",
    "loupe.middleware.replica_failover.ReplicaFailoverMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

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
            ]
        },
    }
]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["tenants.identity.drf.IdentityAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["tenants.permissions.TenantRolePermission"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "loupe.api.errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.CursorPagination",
    "PAGE_SIZE": 100,
    # `?format=` names export and import formats here, not DRF renderers.
    "URL_FORMAT_OVERRIDE": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Loupe API",
    "DESCRIPTION": "Multi-tenant MLOps for computer-vision data teams.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = LOCAL_DIR / "static"
# The ASGI server serves /static/ itself (admin, API docs) unless a CDN or proxy does.
SERVE_STATIC = env_bool("SERVE_STATIC", True)

# --- Data --------------------------------------------------------------------------------

# Media and uploaded import files; every name starts with the tenant's schema.
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(LOCAL_DIR / "media")))
MEDIA_URL = "media/"
# Imports may name a `source_uri` only under this directory (a path relative to it).
IMPORT_ROOT = Path(env_str("IMPORT_ROOT", str(LOCAL_DIR / "imports")))
IMPORT_BATCH_SIZE = env_int("IMPORT_BATCH_SIZE", 5000, minimum=1)
# Batches parsed and staged ahead, on a thread, while the database writes the current one.
IMPORT_READ_AHEAD_BATCHES = env_int("IMPORT_READ_AHEAD_BATCHES", 2, minimum=1)
IMPORT_ZIP_MAX_BYTES = env_int("IMPORT_ZIP_MAX_BYTES", 4 * 1024**3)
IMPORT_ZIP_MAX_RATIO = env_int("IMPORT_ZIP_MAX_RATIO", 100)
IMPORT_ZIP_MAX_ENTRIES = env_int("IMPORT_ZIP_MAX_ENTRIES", 200_000)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024**2

# --- Jobs and training -------------------------------------------------------------------

# A worker holding a job writes its heartbeat this often; the sweep (every
# JOB_SWEEP_SECONDS) takes a job whose heartbeat is older than the timeout for lost.
JOB_HEARTBEAT_SECONDS = env_float("JOB_HEARTBEAT_SECONDS", 10.0)
JOB_HEARTBEAT_TIMEOUT_SECONDS = env_float("JOB_HEARTBEAT_TIMEOUT_SECONDS", 60.0)
JOB_SWEEP_SECONDS = env_float("JOB_SWEEP_SECONDS", 30.0)
# Inside a long epoch, a checkpoint at least this often (and at every epoch's end).
TRAINING_CHECKPOINT_SECONDS = env_float("TRAINING_CHECKPOINT_SECONDS", 300.0)
# DataLoader processes decoding images for each training run. The default leaves two cores
# to the training process itself: none on a 2-core machine, where decoding in the training
# process is faster than competing with it (bench/training.py), up to 4.
TRAINING_LOADER_WORKERS = env_int(
    "TRAINING_LOADER_WORKERS", min(4, max(0, (os.cpu_count() or 1) - 2)), minimum=0
)
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024**2

# --- Operations ----------------------------------------------------------------------------

LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "loupe.log_context.ContextFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["context"]}
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django's own per-request line duplicates ours; ours carries the tenant and user.
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "ERROR"},
        "uvicorn.access": {"level": "WARNING"},
    },
}

SENTRY_DSN = env_str("SENTRY_DSN", "")
SENTRY_ENVIRONMENT = env_str("SENTRY_ENVIRONMENT", "development")
SENTRY_TRACES_SAMPLE_RATE = env_float("SENTRY_TRACES_SAMPLE_RATE", 0.0)

from loupe.sentry import init_sentry  # noqa: E402  (needs the values above)

init_sentry(
    dsn=SENTRY_DSN, environment=SENTRY_ENVIRONMENT, traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE
)
