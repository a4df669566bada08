"""Loupe's settings, read from the environment through loupe.env (documented defaults
suit a local checkout running `make services`)."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

# DRF's and the OpenAPI document's settings, read by Django from here.
from loupe.api_config import REST_FRAMEWORK, SPECTACULAR_SETTINGS  # noqa: F401
from loupe.database_config import DATABASES, DB_POOLING, DB_SESSION_ADDRESS  # noqa: F401
from loupe.env import env_bool, env_float, env_int, env_list, env_str
from loupe.mail_config import mail_settings
from loupe.storage.config import S3Connection, import_prefixes, storages_setting

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
    "apps.predictions",
    "apps.webhooks",
    "search",
    "tenants.audit",
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

# The primary and the replica, and how connections reach them: loupe/database_config.py.
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
        "OPTIONS": {"pool_class": "loupe.redis_client.SharedConnectionPool"},
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
        "CONFIG": {
            "hosts": [
                {
                    "address": REDIS_URL,
                    # A socket waits on Redis in blocking pops of 5 s; redis-py's default read
                    # timeout (5 s since redis 8) would end an idle socket's wait before Redis
                    # answers it.
                    "socket_timeout": 15,
                    # A pooled connection Redis dropped (a restart) fails its next command:
                    # tried again on a new connection rather than failing the socket.
                    "retry": Retry(ExponentialBackoff(cap=1, base=0.05), 3),
                    "retry_on_error": [RedisConnectionError],
                }
            ],
            "prefix": f"{REDIS_KEY_PREFIX}:channels",
        },
    }
}
ASGI_APPLICATION = "loupe.asgi.application"
WSGI_APPLICATION = "loupe.wsgi.application"

# Empty means no Elasticsearch: search is answered by Postgres and /readyz skips it.
ELASTICSEARCH_URL = env_str("ELASTICSEARCH_URL", "http://127.0.0.1:59200")
ELASTICSEARCH_INDEX_PREFIX = env_str("ELASTICSEARCH_INDEX_PREFIX", REDIS_KEY_PREFIX)
# Outbox entries drained per transaction and bulk request.
SEARCH_DRAIN_BATCH_SIZE = env_int("SEARCH_DRAIN_BATCH_SIZE", 2000)
# Beat sends the outbox sweep this often: it drains a tenant whose outbox holds entries no
# drain was sent for (lost with a worker, or written by plain SQL).
SEARCH_SWEEP_SECONDS = env_float("SEARCH_SWEEP_SECONDS", 30.0)

# --- Identity ------------------------------------------------------------------------------

# The OpenID Connect issuer whose tokens the API accepts. Empty, and with the development
# issuer off, every token is refused (503, issuer_not_configured).
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
# An unknown key id, or a JWKS past its maximum age, refetches it at most this often.
OIDC_JWKS_MIN_REFRESH_SECONDS = env_float("OIDC_JWKS_MIN_REFRESH_SECONDS", 10.0)
# How long a fetched JWKS is trusted: a key the issuer withdraws is refused once this has
# passed (while the issuer cannot be reached, the cached keys keep serving past it).
OIDC_JWKS_MAX_AGE_SECONDS = env_float("OIDC_JWKS_MAX_AGE_SECONDS", 3600.0)
# The longest a request waits for the issuer's discovery document and JWKS together.
OIDC_FETCH_TIMEOUT_SECONDS = env_float("OIDC_FETCH_TIMEOUT_SECONDS", 3.0)
# The development issuer: with no OIDC_ISSUER, Loupe signs its own tokens (`manage.py
# issue_token`), for local use only; `make run` and the tests turn it on. Whoever can read its
# key mints any role in any tenant, so with DEBUG off Loupe refuses to start with it unless
# DEV_ISSUER_ALLOW_WITHOUT_DEBUG forces it (`make run` does, for local use).
DEV_ISSUER_ENABLED = env_bool("DEV_ISSUER_ENABLED", False)
DEV_ISSUER_ALLOW_WITHOUT_DEBUG = env_bool("DEV_ISSUER_ALLOW_WITHOUT_DEBUG", False)
# The development issuer's identifier and key directory.
PUBLIC_URL = env_str("PUBLIC_URL", "http://localhost:8000")
DEV_ISSUER_KEY_DIR = Path(env_str("DEV_ISSUER_KEY_DIR", str(LOCAL_DIR / "oidc")))
if DEV_ISSUER_ENABLED and not OIDC_ISSUER and not (DEBUG or DEV_ISSUER_ALLOW_WITHOUT_DEBUG):
    raise ImproperlyConfigured(
        "DEV_ISSUER_ENABLED is on with DEBUG off: the development issuer lets whoever can read "
        "its key (DEV_ISSUER_KEY_DIR) sign in as anyone, with any role in any tenant, and no "
        "deployment may run it. Set OIDC_ISSUER to your OpenID Connect provider and turn "
        "DEV_ISSUER_ENABLED off; for local use set DEBUG=true, or "
        "DEV_ISSUER_ALLOW_WITHOUT_DEBUG=true to run it without DEBUG all the same."
    )

# Signing in to both admins through the issuer: the authorization code flow with PKCE
# (mozilla-django-oidc, tenants/identity/admin_sign_in.py). The development issuer serves its
# own endpoints (a page to pick a member, no password); an external issuer names its
# authorization and token endpoints, and registers `<host>/oidc/callback/` of every host.
_DEV_ISSUER_ON = DEV_ISSUER_ENABLED and not OIDC_ISSUER
OIDC_RP_CLIENT_ID = env_str("OIDC_ADMIN_CLIENT_ID", "loupe-admin")
OIDC_RP_CLIENT_SECRET = env_str("OIDC_ADMIN_CLIENT_SECRET", "")
OIDC_OP_AUTHORIZATION_ENDPOINT = env_str(
    "OIDC_AUTHORIZATION_ENDPOINT",
    f"{PUBLIC_URL.rstrip('/')}/dev-issuer/authorize/" if _DEV_ISSUER_ON else "",
)
OIDC_OP_TOKEN_ENDPOINT = env_str(
    "OIDC_TOKEN_ENDPOINT", f"{PUBLIC_URL.rstrip('/')}/dev-issuer/token/" if _DEV_ISSUER_ON else ""
)
# Whether the admins' login pages offer it.
ADMIN_SIGN_IN_ENABLED = bool(OIDC_OP_AUTHORIZATION_ENDPOINT and OIDC_OP_TOKEN_ENDPOINT)
# The ID token's claims are the user's: no userinfo call, and its keys are the API's own
# (tokens.py), so these two are never read.
OIDC_OP_USER_ENDPOINT = ""
OIDC_OP_JWKS_ENDPOINT = OIDC_JWKS_URL or "unused"
OIDC_RP_SIGN_ALGO = "RS256"
OIDC_USE_PKCE = True
OIDC_TIMEOUT = OIDC_FETCH_TIMEOUT_SECONDS
LOGIN_REDIRECT_URL = "/admin/"
LOGIN_REDIRECT_URL_FAILURE = "/admin/login/?sign_in=failed"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",  # operators who set a password
    "tenants.identity.admin_sign_in.AdminSignInBackend",
]
# How long a code the development issuer hands out may wait for its exchange.
DEV_ISSUER_CODE_SECONDS = 60

API_SESSION_TTL_SECONDS = env_int("API_SESSION_TTL_SECONDS", 3600)
# Failed authentications allowed per client address in a minute; past it, a credential that
# fails is answered 429 instead of 401 (a valid one is always served).
AUTH_FAILURES_PER_MINUTE = env_int("AUTH_FAILURES_PER_MINUTE", 30)


def _networks(name: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    values = env_list(name, [])
    try:
        return [ipaddress.ip_network(value, strict=False) for value in values]
    except ValueError as exc:
        raise ValueError(f"{name} must list IP addresses or networks: {exc}") from exc


# The load balancers and reverse proxies in front of Loupe (IP addresses or networks,
# comma-separated). Only from these peers does X-Forwarded-For name the client, read from the
# right past each trusted hop (tenants/identity/client_address.py); empty, it is ignored.
TRUSTED_PROXIES = _networks("TRUSTED_PROXIES")

# --- HTTP ----------------------------------------------------------------------------------

MIDDLEWARE = [
    "loupe.middleware.request_context.RequestContextMiddleware",
    # Counts every request, and answers /metrics on any host, before tenant resolution.
    "loupe.metrics.middleware.MetricsMiddleware",
    "tenants.middleware.TenantMiddleware",
    "loupe.middleware.replica_failover.ReplicaFailoverMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Who acts, and from where, for the audit log: after authentication (admin sessions).
    "tenants.audit.middleware.AuditActorMiddleware",
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

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = LOCAL_DIR / "static"
# The ASGI server serves /static/ itself (admin, API docs) unless a CDN or proxy does.
SERVE_STATIC = env_bool("SERVE_STATIC", True)

# --- Object storage ------------------------------------------------------------------------

# Media, uploaded import files, checkpoints and models; every name starts with the tenant's
# schema (docs/storage.md). Empty STORAGE_URL: files under MEDIA_ROOT. `s3://bucket` or
# `s3://bucket/prefix`: objects in that bucket (under the prefix) of the S3-compatible store
# at S3_ENDPOINT_URL (empty: AWS), signed with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY
# (empty: boto3's own chain, such as ~/.aws or an instance role).
STORAGE_URL = env_str("STORAGE_URL", "")
S3_ENDPOINT_URL = env_str("S3_ENDPOINT_URL", "")
S3_REGION = env_str("S3_REGION", "us-east-1")
# "path" (the bucket in the URL's path) suits every server; AWS also takes "virtual".
S3_ADDRESSING_STYLE = env_str("S3_ADDRESSING_STYLE", "path")
AWS_ACCESS_KEY_ID = env_str("AWS_ACCESS_KEY_ID", "")
AWS_SECRET_ACCESS_KEY = env_str("AWS_SECRET_ACCESS_KEY", "")
STORAGES = storages_setting(
    storage_url=STORAGE_URL,
    connection=S3Connection(
        endpoint_url=S3_ENDPOINT_URL,
        region=S3_REGION,
        addressing_style=S3_ADDRESSING_STYLE,
        access_key=AWS_ACCESS_KEY_ID,
        secret_key=AWS_SECRET_ACCESS_KEY,
    ),
)
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(LOCAL_DIR / "media")))
MEDIA_URL = "media/"
# The s3:// import sources a tenant may name besides its own prefix of STORAGE_URL's bucket:
# prefixes holding {schema} as a segment (s3://lake/loupe/{schema}/), read with the same keys.
IMPORT_S3_PREFIXES = import_prefixes(env_list("IMPORT_S3_PREFIXES", []), storage_url=STORAGE_URL)

# --- Data --------------------------------------------------------------------------------

# Imports may name a `source_uri` under this directory (a path relative to the tenant's
# folder in it), or an s3:// object under the tenant's prefixes (docs/storage.md).
IMPORT_ROOT = Path(env_str("IMPORT_ROOT", str(LOCAL_DIR / "imports")))
IMPORT_BATCH_SIZE = env_int("IMPORT_BATCH_SIZE", 5000, minimum=1)
# Batches parsed and staged ahead while the database writes the current one: in
# IMPORT_PROCESSES processes of their own (a JSONL's; one for other formats), or on a thread
# of the worker with 0 (a ZIP's always is): apps/datasets/import_staging.py.
IMPORT_READ_AHEAD_BATCHES = env_int("IMPORT_READ_AHEAD_BATCHES", 2, minimum=1)
IMPORT_PROCESSES = env_int("IMPORT_PROCESSES", len(os.sched_getaffinity(0)), minimum=0)
IMPORT_ZIP_MAX_BYTES = env_int("IMPORT_ZIP_MAX_BYTES", 4 * 1024**3)
IMPORT_ZIP_MAX_RATIO = env_int("IMPORT_ZIP_MAX_RATIO", 100)
IMPORT_ZIP_MAX_ENTRIES = env_int("IMPORT_ZIP_MAX_ENTRIES", 200_000)
# An import whose database connection is lost is retried this many times, 2, 4, 8, ...
# seconds apart, at most IMPORT_DB_RETRY_MAX_SECONDS apart (8 and 120: about six minutes in
# all, long enough for a primary to restart or fail over), then fails saying how far it got.
IMPORT_DB_RETRIES = env_int("IMPORT_DB_RETRIES", 8, minimum=0)
IMPORT_DB_RETRY_MAX_SECONDS = env_int("IMPORT_DB_RETRY_MAX_SECONDS", 120, minimum=1)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024**2

# --- Jobs and training -------------------------------------------------------------------

# Each tenant's limits, unless an operator overrides them (the tenant's quota in the admin):
# bytes and rows stored, jobs of each kind running at once (one past it waits `queued`,
# saying why), and training runs queued or running at once (one more is refused, 429).
QUOTA_STORAGE_BYTES = env_int("QUOTA_STORAGE_BYTES", 1024**4, minimum=0)
QUOTA_ROWS = env_int("QUOTA_ROWS", 100_000_000, minimum=0)
QUOTA_CONCURRENT_JOBS = {
    "import": env_int("QUOTA_CONCURRENT_IMPORTS", 4, minimum=1),
    "training_run": env_int("QUOTA_CONCURRENT_TRAINING_RUNS", 2, minimum=1),
    "inference_run": env_int("QUOTA_CONCURRENT_INFERENCE_RUNS", 2, minimum=1),
    "evaluation": env_int("QUOTA_CONCURRENT_EVALUATIONS", 4, minimum=1),
    "prediction_import": env_int("QUOTA_CONCURRENT_PREDICTION_IMPORTS", 4, minimum=1),
}
QUOTA_TRAINING_RUNS = env_int("QUOTA_TRAINING_RUNS", 50, minimum=1)

# A worker holding a job writes its heartbeat this often; the sweep (every
# JOB_SWEEP_SECONDS) takes a job whose heartbeat is older than the timeout for lost.
JOB_HEARTBEAT_SECONDS = env_float("JOB_HEARTBEAT_SECONDS", 10.0)
JOB_HEARTBEAT_TIMEOUT_SECONDS = env_float("JOB_HEARTBEAT_TIMEOUT_SECONDS", 60.0)
JOB_SWEEP_SECONDS = env_float("JOB_SWEEP_SECONDS", 30.0)
# The sweep sends a queued job whose task the broker never took (it was down, or the sender
# ended before sending) once it is this old, and sends again a job still queued this long
# after its send (a broker that lost its queue); a second copy finds the job taken.
JOB_UNSENT_GRACE_SECONDS = env_float("JOB_UNSENT_GRACE_SECONDS", 10.0)
JOB_QUEUED_RESEND_SECONDS = env_float("JOB_QUEUED_RESEND_SECONDS", 3600.0)
# Inside a long epoch, a checkpoint at least this often (and at every epoch's end).
TRAINING_CHECKPOINT_SECONDS = env_float("TRAINING_CHECKPOINT_SECONDS", 300.0)
# DataLoader processes decoding images for each training run. The default leaves two cores
# to the training process itself: none on a 2-core machine, where decoding in the training
# process is faster than competing with it (bench/training.py), up to 4.
TRAINING_LOADER_WORKERS = env_int(
    "TRAINING_LOADER_WORKERS", min(4, max(0, (os.cpu_count() or 1) - 2)), minimum=0
)
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024**2

# --- Predictions ---------------------------------------------------------------------------

# An inference run reads, predicts and commits this many rows at a time (its resume point),
# through the model in batches of INFERENCE_BATCH_SIZE images (halved on out of memory).
INFERENCE_CHUNK_ROWS = env_int("INFERENCE_CHUNK_ROWS", 2048, minimum=1)
INFERENCE_BATCH_SIZE = env_int("INFERENCE_BATCH_SIZE", 64, minimum=1)
# The top classes stored for each row of a classification.
INFERENCE_TOP_CLASSES = env_int("INFERENCE_TOP_CLASSES", 3, minimum=1)
# An evaluation of at most this many rows answers at once; a larger one is a job.
EVALUATION_INLINE_ROWS = env_int("EVALUATION_INLINE_ROWS", 10_000, minimum=0)
# Online predict: the model versions kept loaded in each serving process, and the largest
# image it takes.
PREDICT_CACHE_VERSIONS = env_int("PREDICT_CACHE_VERSIONS", 8, minimum=1)
PREDICT_MAX_IMAGE_BYTES = env_int("PREDICT_MAX_IMAGE_BYTES", 10 * 1024**2, minimum=1)
# The predict server's port (loupe.serving_asgi, started beside the API by `make run`): the
# API's port, which does not serve online predict, names it to a client that calls there.
SERVING_PORT = env_int("SERVING_PORT", 8001, minimum=1)
# Tests: the predict server says how many database queries each call made
# (an X-Database-Queries header).
PREDICT_REPORT_QUERIES = env_bool("PREDICT_REPORT_QUERIES", False)

# --- E-mail --------------------------------------------------------------------------------

# Where the platform's mail goes (a job's result, to whoever submitted it with `notify`):
# smtp://[user:password@]host[:port], smtp+starttls://..., smtps://..., or console:// to
# print each message to the worker's output (the default).
EMAIL_URL = env_str("EMAIL_URL", "console://")
_mail = mail_settings(EMAIL_URL)
EMAIL_BACKEND = _mail.backend
EMAIL_HOST, EMAIL_PORT = _mail.host, _mail.port
EMAIL_HOST_USER, EMAIL_HOST_PASSWORD = _mail.user, _mail.password
EMAIL_USE_TLS, EMAIL_USE_SSL = _mail.use_tls, _mail.use_ssl
EMAIL_TIMEOUT = env_float("EMAIL_TIMEOUT_SECONDS", 10.0)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Loupe <loupe@localhost>")

# --- Webhooks ------------------------------------------------------------------------------

# Networks a webhook may send to although they are not public (IP addresses or networks,
# comma-separated; empty: public addresses alone). Loopback, private and link-local addresses
# are refused otherwise, when the webhook is saved and at every attempt (apps/webhooks).
WEBHOOK_ALLOWED_NETWORKS = _networks("WEBHOOK_ALLOWED_NETWORKS")
WEBHOOK_TIMEOUT_SECONDS = env_float("WEBHOOK_TIMEOUT_SECONDS", 10.0)
# A delivery is attempted this many times, WEBHOOK_RETRY_SECONDS after the first failure and
# twice as long after each next, at most WEBHOOK_RETRY_MAX_SECONDS apart.
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 8, minimum=1)
WEBHOOK_RETRY_SECONDS = env_float("WEBHOOK_RETRY_SECONDS", 10.0)
WEBHOOK_RETRY_MAX_SECONDS = env_float("WEBHOOK_RETRY_MAX_SECONDS", 3600.0)
# A webhook whose deliveries fail every attempt this many times in a row is disabled.
WEBHOOK_DISABLE_AFTER_FAILURES = env_int("WEBHOOK_DISABLE_AFTER_FAILURES", 5, minimum=1)
# How often the sweep sends again the deliveries whose task was lost (with a worker).
WEBHOOK_SWEEP_SECONDS = env_float("WEBHOOK_SWEEP_SECONDS", 60.0)

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

# --- Metrics -------------------------------------------------------------------------------

# Who may read /metrics (docs/metrics.md): clients in these networks (IP addresses or
# networks, comma-separated; the client as TRUSTED_PROXIES settles it; empty: none), and any
# client presenting METRICS_TOKEN as its bearer token (empty: no token admits). Others: 403.
METRICS_ALLOWED_NETWORKS = [
    ipaddress.ip_network(network, strict=False)
    for network in env_list("METRICS_ALLOWED_NETWORKS", ["127.0.0.0/8", "::1/128"])
]
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
# Multiprocess mode, for a server of several processes (uvicorn --workers, WEB_CONCURRENCY):
# an empty directory, emptied at every start and the same for all of that server's processes,
# where each keeps its request metrics for a scrape to merge. prometheus-client reads this
# variable itself when it starts; empty, each process reports its own requests.
PROMETHEUS_MULTIPROC_DIR = env_str("PROMETHEUS_MULTIPROC_DIR", "")
