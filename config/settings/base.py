"""ParkShare settings, read from the environment (see README, "Configuration").

With nothing set, ParkShare runs on a SQLite file under var/ with Celery tasks run eagerly,
so a newcomer needs only Python. Production sets DATABASE_URL, CELERY_BROKER_URL, REDIS_URL,
SECRET_KEY and ALLOWED_HOSTS, and leaves DEBUG off.
"""

import ipaddress
from datetime import timedelta
from pathlib import Path
from typing import Any

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-used-with-DEBUG-on"  # noqa: S105

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "import_export",
    "axes",
    "common",
    "access",
    "parks",
    "inventory",
    "marketplace",
    "matching",
    "orders",
    "audit",
    "pools",
    "energy",
    "safety",
    "reports",
    "notifications",
]

MIDDLEWARE = [
    # First: every response, even a 413 or a redirect, carries X-Request-ID.
    "audit.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # A body over DATA_UPLOAD_MAX_MEMORY_SIZE under /api/: a JSON 413 before it is read.
    "common.middleware.BodySizeLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a locked-out login into its lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
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

# --- Database ---------------------------------------------------------------------------
VAR_DIR.mkdir(exist_ok=True)
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'parkshare.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions take the write lock up front, so concurrent writers queue
    # instead of failing with "database is locked" on lock upgrade.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Server-side parameter binding lets psycopg prepare a statement once it has run a few
    # times on a connection, so the planner's work on the joined list queries is not
    # repeated on every request. Turn off behind a transaction-pooling PgBouncer.
    if env.bool("DATABASE_SERVER_SIDE_BINDING", default=True):
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            {"server_side_binding": True, "prepare_threshold": 2}
        )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Auth -------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"
# Password logins (the admin, the browsable API's session) are locked out after
# AXES_FAILURE_LIMIT wrong passwords for one username from one IP, for AXES_COOLOFF_MINUTES.
# API tokens do not pass through authenticate() and are not affected.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The client's IP as the rate limits see it (NUM_PROXIES).
AXES_CLIENT_IP_CALLABLE = "common.throttles.client_ip"

# --- Internationalisation ---------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static files -----------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- REST API ---------------------------------------------------------------------------
# The largest request body, in bytes (Django's default, 2.5 MB): above it, a 413 under /api/
# (common.middleware.BodySizeLimitMiddleware).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "common.auth.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "common.renderers.ORJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["common.parsers.BoundedJSONParser"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "common.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "common.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    # drf-spectacular's AutoSchema, plus the Idempotency-Key header on POST operations, the
    # error responses of each operation and the bounds of ids and pages (common/schema.py).
    "DEFAULT_SCHEMA_CLASS": "common.schema.ParkShareAutoSchema",
    "EXCEPTION_HANDLER": "common.errors.exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    # Rate limits (common/throttles.py): counted on the default cache, shared by every
    # process when REDIS_URL is set. A rate is "<requests>/<s|min|hour|day>".
    "DEFAULT_THROTTLE_CLASSES": [
        "common.throttles.AnonThrottle",
        "common.throttles.UserReadThrottle",
        "common.throttles.UserWriteThrottle",
        "common.throttles.ExpensiveThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_ANON", default="60/min"),
        "user_read": env.str("THROTTLE_USER_READ", default="600/min"),
        "user_write": env.str("THROTTLE_USER_WRITE", default="120/min"),
        "matching_run": env.str("THROTTLE_MATCHING_RUN", default="10/hour"),
        "expensive_list": env.str("THROTTLE_EXPENSIVE_LIST", default="30/min"),
    },
    # How many proxies in front of ParkShare append to X-Forwarded-For: the client's IP
    # (for the anonymous rate) is the address that many from the end. 0: REMOTE_ADDR.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ParkShare API",
    "DESCRIPTION": "Shared inventory for enterprises in chemical industrial parks.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # The webhooks' payloads, one component per event type (docs/notifications.md).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "notifications.schemas.add_event_components",
    ],
    # An order's status appears in two components (the order and its detail with steps).
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "orders.models.OrderStatus",
        "PermitKindEnum": "inventory.controls.PermitKind",
        "PoolRequestKindEnum": "pools.models.RequestKind",
        "RunKindEnum": "matching.models.RunKind",
        "HazardGradeEnum": "safety.models.HazardGrade",
        "IncidentGradeEnum": "safety.models.IncidentGrade",
    },
}
# Idempotency-Key on POSTs (docs/architecture.md, "Idempotency"): how long a key and its
# stored response are kept, and after how long a claim whose request never finished (the
# process was killed) may be taken over. The timeout must exceed the longest request.
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=24)
IDEMPOTENCY_IN_FLIGHT_TIMEOUT_SECONDS = env.int(
    "IDEMPOTENCY_IN_FLIGHT_TIMEOUT_SECONDS", default=300
)
REST_KNOX = {
    "AUTH_HEADER_PREFIX": "Bearer",
    "TOKEN_TTL": timedelta(days=env.int("API_TOKEN_TTL_DAYS", default=365)),
    "AUTO_REFRESH": False,
}

# --- Celery -----------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://"
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
# At least once: a task is acknowledged after it ran, and given back to the queue if its
# worker dies under it; a worker reserves one task at a time, so a slow task does not hold
# others hostage in its prefetch. Every task must therefore be idempotent.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# An unreachable broker never hangs a web request: the after-commit sends give up within
# about two seconds and log it (the outbox rows are saved; the sweep sends them later).
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=1.0)
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {
    "socket_connect_timeout": CELERY_BROKER_CONNECTION_TIMEOUT,
    "socket_timeout": env.float("CELERY_BROKER_SOCKET_TIMEOUT", default=5.0),
    "max_retries": 1,
}
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Queues (docs/architecture.md, "Events and tasks"): the engine's long runs on their own
# queue, so that they never delay the outbox's deliveries or notifications.
CELERY_TASK_DEFAULT_QUEUE = "default"
# Each queue bound by its own name (a Queue without a routing key would take Celery's default
# key, and every task would land in every queue).
CELERY_TASK_QUEUES = tuple(
    Queue(name, routing_key=name) for name in ("default", "matching", "outbox", "notifications")
)
CELERY_TASK_DEFAULT_ROUTING_KEY = "default"
CELERY_TASK_ROUTES = {
    "common.tasks.outbox_fanout": {"queue": "outbox"},
    # outbox_run and outbox_run_many go to each subscriber's own queue
    "common.tasks.outbox_sweep": {"queue": "outbox"},
    # outbox_run goes to each subscriber's own queue (common.events.subscriber)
    "matching.tasks.*": {"queue": "matching"},
    "notifications.tasks.*": {"queue": "notifications"},
}
CELERY_TIMEZONE = TIME_ZONE
# A worker keeps its database connection from task to task, as a web process does from
# request to request: Celery's Django fixup would close it around every task (a new
# PostgreSQL connection per task, the most of a small task's time, and the outbox runs two
# per event); common.apps closes it when unusable or older than CONN_MAX_AGE instead.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
# Beat's record of the last runs, under var/ (not in the directory it was started from).
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "outbox-sweep": {
        "task": "common.tasks.outbox_sweep",
        "schedule": env.float("OUTBOX_SWEEP_EVERY_SECONDS", default=15.0),
    },
    "idempotency-purge": {"task": "common.tasks.idempotency_purge", "schedule": 3600.0},
    "matching-sweep": {"task": "matching.tasks.matching_sweep", "schedule": 60.0},
    "reservations-expire": {"task": "inventory.tasks.reservations_expire", "schedule": 60.0},
    "reservations-warn-expiring": {
        "task": "inventory.tasks.reservations_warn_expiring",
        "schedule": 60.0,
    },
    "needs-expire": {"task": "marketplace.tasks.needs_expire", "schedule": 3600.0},
    "matching-full": {
        "task": "matching.tasks.matching_full",
        "schedule": env.float("MATCHING_FULL_EVERY_SECONDS", default=3600.0),
    },
    "webhooks-sweep": {
        "task": "notifications.tasks.webhooks_sweep",
        "schedule": env.float("WEBHOOK_SWEEP_EVERY_SECONDS", default=5.0),
    },
    "mails-sweep": {"task": "notifications.tasks.mails_sweep", "schedule": 60.0},
    # Once a day at POOLS_SWEEP_HOUR (CELERY_TIMEZONE): a crontab, so that a restarted beat
    # does not run it again the same day (its overdue reminders are one per run).
    "pools-sweep": {
        "task": "pools.tasks.pools_sweep",
        "schedule": crontab(minute=0, hour=env.int("POOLS_SWEEP_HOUR", default=7)),
    },
    # Meters that have sent nothing for ENERGY_SILENT_HOURS flagged (energy.anomalies).
    "energy-silent-sweep": {
        "task": "energy.tasks.energy_silent_sweep",
        "schedule": env.float("ENERGY_SILENT_SWEEP_EVERY_SECONDS", default=900.0),
    },
}

# --- Domain settings --------------------------------------------------------------------
# The outbox (docs/architecture.md, "Events and tasks"): how long after its commit an event
# not fanned out is taken as lost by the sweep, and how long a delivery just sent is left to
# its task before the sweep sends it again (more than a task may run).
OUTBOX_FANOUT_GRACE_SECONDS = env.float("OUTBOX_FANOUT_GRACE_SECONDS", default=30.0)
OUTBOX_LEASE_SECONDS = env.float("OUTBOX_LEASE_SECONDS", default=CELERY_TASK_TIME_LIMIT + 60.0)
# Events fanned out per task when written together (a rematch's proposals), and deliveries
# of one queue run per task: thousands of one-row tasks would cost more than their work.
OUTBOX_FANOUT_BATCH = env.int("OUTBOX_FANOUT_BATCH", default=500)
OUTBOX_RUN_BATCH = env.int("OUTBOX_RUN_BATCH", default=50)
# Minimum distance between two classes whose segregation code is 1 ("away from").
SEGREGATION_AWAY_FROM_M = env.float("SEGREGATION_AWAY_FROM_M", default=3.0)
# Matching engine (docs/matching.md): how long a changed material waits for more changes
# before its rematch, when a lost rematch is rescheduled, how many materials a chunk of a
# full run holds, after how long a running full run is taken as lost, and the time limit of
# each stage of the minimum-order MILP of one component.
MATCHING_DEBOUNCE_SECONDS = env.float("MATCHING_DEBOUNCE_SECONDS", default=2.0)
MATCHING_PENDING_SWEEP_SECONDS = env.float("MATCHING_PENDING_SWEEP_SECONDS", default=60.0)
MATCHING_CHUNK_MATERIALS = env.int("MATCHING_CHUNK_MATERIALS", default=100)
MATCHING_RUN_STALE_SECONDS = env.int("MATCHING_RUN_STALE_SECONDS", default=1800)
MATCHING_MOQ_TIME_LIMIT_SECONDS = env.float("MATCHING_MOQ_TIME_LIMIT_SECONDS", default=2.0)
# How many materials a component may reach by merging those whose needs compete for one
# zone's room or one warehouse (docs/matching.md, "Components"): jointly optimal within
# the limit, solved one after the other beyond it.
MATCHING_MERGE_MAX_MATERIALS = env.int("MATCHING_MERGE_MAX_MATERIALS", default=8)
# Orders (docs/architecture.md, "Orders"): how long a new order's reservation holds the
# seller's stock unless the seller confirms it.
ORDER_HOLD_MINUTES = env.int("ORDER_HOLD_MINUTES", default=120)
# Reservations (docs/architecture.md, "Events and tasks"): how long before a held
# reservation runs out the warning sweep announces it (reservation.expiring).
RESERVATION_EXPIRY_WARNING_MINUTES = env.int("RESERVATION_EXPIRY_WARNING_MINUTES", default=60)
# Joint stockpiles (docs/stockpiling.md): how many days before its date the daily sweep
# announces a replenishment obligation not yet met (pool.obligation_due).
POOL_OBLIGATION_DUE_DAYS = env.int("POOL_OBLIGATION_DUE_DAYS", default=3)

# --- Energy (docs/energy.md) --------------------------------------------------------------
# A reading above this many times its meter's recent median is flagged (a meter may set its
# own factor); the median is of the meter's last ENERGY_MEDIAN_WINDOW readings (a week of
# hours). A meter with no reading for more than ENERGY_SILENT_HOURS is flagged silent.
ENERGY_JUMP_FACTOR = env.float("ENERGY_JUMP_FACTOR", default=5.0)
ENERGY_MEDIAN_WINDOW = env.int("ENERGY_MEDIAN_WINDOW", default=168)
ENERGY_SILENT_HOURS = env.float("ENERGY_SILENT_HOURS", default=6.0)

# --- Webhooks ---------------------------------------------------------------------------
# Partner systems' endpoints (notifications/webhooks/). An endpoint's host is resolved when
# each attempt is sent, and refused if any address is private, loopback, link-local,
# multicast, reserved, unspecified or CGNAT, unless it lies in one of these networks (CIDR;
# none in production). The cloud metadata addresses are refused even there.
WEBHOOK_ALLOWED_NETWORKS = [
    str(ipaddress.ip_network(n, strict=False))
    for n in env.list("WEBHOOK_ALLOWED_NETWORKS", default=[])
]
# Seconds: to connect, between two reads, between two writes, to get a pooled connection.
WEBHOOK_TIMEOUT = {
    "connect": env.float("WEBHOOK_TIMEOUT_CONNECT", default=3.0),
    "read": env.float("WEBHOOK_TIMEOUT_READ", default=5.0),
    "write": env.float("WEBHOOK_TIMEOUT_WRITE", default=5.0),
    "pool": env.float("WEBHOOK_TIMEOUT_POOL", default=1.0),
}
# At most this much of an answer's body is read, and its beginning kept for the log.
WEBHOOK_MAX_RESPONSE_BYTES = env.int("WEBHOOK_MAX_RESPONSE_BYTES", default=4096)
WEBHOOK_RESPONSE_EXCERPT_BYTES = env.int("WEBHOOK_RESPONSE_EXCERPT_BYTES", default=1024)
# The delays after attempt 1, 2, ... of a failing delivery (each +-20 %), as a comma list
# in the environment: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (8 attempts, about 27.6 h).
WEBHOOK_RETRY_SCHEDULE_SECONDS = env.list(
    "WEBHOOK_RETRY_SCHEDULE_SECONDS",
    cast=float,
    default=[5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0],
)

# --- Security (production) --------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 30)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"
SILENCED_SYSTEM_CHECKS = env.list("SILENCED_SYSTEM_CHECKS", default=[])
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The covering indexes' INCLUDE columns are a PostgreSQL feature; SQLite builds the
    # plain index, which is all the embedded default needs.
    SILENCED_SYSTEM_CHECKS.append("models.W040")

# Every line goes through the root's one handler. Django's own default config gives
# "django" a console handler of its own (and "django.server" another) that dictConfig keeps
# unless these loggers are named here: with propagation to the root, each of their lines
# was printed twice. Naming them with no handlers removes Django's.
# The landing page names the demo logins in development; a public demo server sets this
# true, a development server false (unset: follow DEBUG).
SHOW_DEMO_LOGINS = env.bool("SHOW_DEMO_LOGINS", default=None)

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        "django.server": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        # django-axes greets every process with its version; its lockouts are warnings.
        "axes.apps": {"level": "WARNING"},
    },
}

# --- Notifications (docs/notifications.md) ------------------------------------------------
# Where links in e-mails point, and who sends them. EMAIL_URL selects the backend:
# "consolemail://" (the default: mails are printed) or "smtp+tls://user:pw@host:587".
PARKSHARE_BASE_URL = env.str("PARKSHARE_BASE_URL", default="http://127.0.0.1:8000")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="ParkShare <noreply@parkshare.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
_email = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST") or "localhost"
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS"))
EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL"))
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
# A new delivery is due this long after its fan-out: its first send claims it by that due
# time, and the sweep sends it then only if that send was lost.
NOTIFY_SEND_GRACE_SECONDS = env.float("NOTIFY_SEND_GRACE_SECONDS", default=30.0)
# How long a webhook batch being sent is left to its task before the sweep takes it over
# (more than a batch of requests at their timeouts may take).
WEBHOOK_LEASE_SECONDS = env.float("WEBHOOK_LEASE_SECONDS", default=120.0)
# Deliveries per task (a sweep's batch; a send fills its batch with deliveries still waiting
# for their first send), and requests a task makes at once.
WEBHOOK_BATCH = env.int("WEBHOOK_BATCH", default=20)
WEBHOOK_SEND_THREADS = env.int("WEBHOOK_SEND_THREADS", default=8)
# An endpoint that failed every attempt for this long is disabled and its admins told.
WEBHOOK_DISABLE_AFTER_HOURS = env.float("WEBHOOK_DISABLE_AFTER_HOURS", default=72.0)
