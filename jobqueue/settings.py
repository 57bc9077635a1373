"""jobqueue settings: everything comes from the environment, with safe development defaults."""
from pathlib import Path

import dj_database_url

from jobqueue.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("JOBQUEUE_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "dev-only-insecure-secret-key-change-me-in-production-0123456789")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
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
    "django_tasks",
    "queue_app",
    "dashboard",
]

MIDDLEWARE = [
    "queue_app.health.HealthMiddleware",
    "queue_app.requestlog.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "queue_app.api.errors.ApiErrorMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "jobqueue.urls"
WSGI_APPLICATION = "jobqueue.wsgi.application"

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

# --- Database -------------------------------------------------------------------------------
SQLITE_DEFAULT = VAR_DIR / "jobqueue.sqlite3"
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{SQLITE_DEFAULT}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60) or 0,
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes share one file: WAL, IMMEDIATE transactions (no deferred upgrade
    # deadlocks), and a generous busy timeout.
    DATABASES["default"]["CONN_MAX_AGE"] = 0 if env_bool("SQLITE_CLOSE_CONNECTIONS", False) else None
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": env_float("SQLITE_BUSY_TIMEOUT_SECONDS", 20.0),
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
    DATABASES["default"]["TEST"] = {
        "NAME": env_str("JOBQUEUE_TEST_SQLITE_PATH", str(VAR_DIR / "test.sqlite3")),
    }
else:
    DATABASES["default"]["TEST"] = {"NAME": env_str("JOBQUEUE_TEST_PG_NAME", "test_jobqueue")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns about a missing root
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("JOBQUEUE_MAX_REQUEST_BYTES", 5 * 1024 * 1024)
# API requests with a longer query string get 414 query_too_long (gunicorn itself caps a request line at 4094).
JOBQUEUE_MAX_QUERY_STRING_BYTES = env_int("JOBQUEUE_MAX_QUERY_STRING_BYTES", 4096)

# --- Security (production turns these on through the environment) ---------------------------
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", False)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0) or 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- REST framework -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "queue_app.auth.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "queue_app.api.errors.exception_handler",
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "jobqueue API",
    "DESCRIPTION": "A durable job queue: submit jobs, follow them, manage quotas.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # The schema and Swagger UI are public (the UI's "Authorize" button takes an API key); the UI's
    # assets come from drf-spectacular-sidecar, served locally, never from a CDN.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True},
    "ENUM_NAME_OVERRIDES": {
        "JobStatusEnum": "queue_app.models.Status",
        "AttemptOutcomeEnum": "queue_app.models.Outcome",
    },
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "queue_app.api.schema.strict_request_bodies"],
}

# --- The queue ------------------------------------------------------------------------------
JOBQUEUE_LEASE_SECONDS = env_float("JOBQUEUE_LEASE_SECONDS", 30.0)
JOBQUEUE_POLL_INTERVAL = env_float("JOBQUEUE_POLL_INTERVAL", 0.5)
JOBQUEUE_BACKOFF_BASE_SECONDS = env_float("JOBQUEUE_BACKOFF_BASE_SECONDS", 1.0)
JOBQUEUE_BACKOFF_MAX_SECONDS = env_float("JOBQUEUE_BACKOFF_MAX_SECONDS", 300.0)
JOBQUEUE_DEFAULT_MAX_RETRIES = env_int("JOBQUEUE_DEFAULT_MAX_RETRIES", 3)
JOBQUEUE_DEFAULT_TIMEOUT_SECONDS = env_int("JOBQUEUE_DEFAULT_TIMEOUT_SECONDS", 300)
JOBQUEUE_SHUTDOWN_GRACE_SECONDS = env_float("JOBQUEUE_SHUTDOWN_GRACE_SECONDS", 10.0)
JOBQUEUE_LOG_FORMAT = env_str("JOBQUEUE_LOG_FORMAT", "text")
JOBQUEUE_LOG_LEVEL = env_str("JOBQUEUE_LOG_LEVEL", "INFO")
JOBQUEUE_IDEMPOTENCY_RETENTION_HOURS = env_int("JOBQUEUE_IDEMPOTENCY_RETENTION_HOURS", 24)
JOBQUEUE_WORKER_STALE_SECONDS = env_float("JOBQUEUE_WORKER_STALE_SECONDS", 60.0)
# Modules imported at startup to register more tasks (comma-separated dotted paths).
JOBQUEUE_EXTRA_TASK_MODULES = env_list("JOBQUEUE_EXTRA_TASK_MODULES", [])
JOBQUEUE_TALLY_RETENTION_DAYS = env_int("JOBQUEUE_TALLY_RETENTION_DAYS", 7)

# Per-user quota defaults (a user's Quota row overrides each; "none" means unlimited).
JOBQUEUE_RATE_PER_MINUTE = env_int("JOBQUEUE_RATE_PER_MINUTE", 600)
JOBQUEUE_BURST = env_int("JOBQUEUE_BURST", 100)
JOBQUEUE_MAX_ACTIVE = env_int("JOBQUEUE_MAX_ACTIVE", 10000)
JOBQUEUE_MAX_RUNNING = env_int("JOBQUEUE_MAX_RUNNING", None)
JOBQUEUE_MAX_PAYLOAD_BYTES = env_int("JOBQUEUE_MAX_PAYLOAD_BYTES", 64 * 1024)
JOBQUEUE_MAX_RETRIES_CAP = env_int("JOBQUEUE_MAX_RETRIES_CAP", 20)
JOBQUEUE_MAX_TIMEOUT_SECONDS = env_int("JOBQUEUE_MAX_TIMEOUT_SECONDS", 3600)
JOBQUEUE_BATCH_MAX = env_int("JOBQUEUE_BATCH_MAX", 500)
# Failed API key checks allowed per client IP per minute before 429 (queue_app/auth_throttle.py); none = off.
JOBQUEUE_AUTH_FAILURES_PER_MINUTE = env_int("JOBQUEUE_AUTH_FAILURES_PER_MINUTE", 20)

# --- Operations (docs/operations.md) ---------------------------------------------------------
JOBQUEUE_METRICS_AUTH = env_str("JOBQUEUE_METRICS_AUTH", "staff")  # open | token | staff
JOBQUEUE_METRICS_TOKEN = env_str("JOBQUEUE_METRICS_TOKEN", "")
JOBQUEUE_AUTOSCALE_WINDOW_SECONDS = env_float("JOBQUEUE_AUTOSCALE_WINDOW_SECONDS", 30.0)
JOBQUEUE_AUTOSCALE_CHECK_SECONDS = env_float("JOBQUEUE_AUTOSCALE_CHECK_SECONDS", 1.0)

# --- Logging --------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"()": "queue_app.logs.TextFormatter"},
        "json": {"()": "queue_app.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": JOBQUEUE_LOG_FORMAT},
    },
    "loggers": {
        "jobqueue": {"handlers": ["console"], "level": JOBQUEUE_LOG_LEVEL, "propagate": False},
        "django": {"handlers": ["console"], "level": "WARNING"},
    },
}

# --- Django's tasks framework: @task functions run on jobqueue (docs/django-tasks.md) ---------
TASKS = {
    "default": {
        "BACKEND": "queue_app.backends.JobQueueBackend",
        "QUEUES": env_list("JOBQUEUE_TASKS_QUEUES", []),  # empty: any valid jobqueue queue name
        "OPTIONS": {
            "OWNER": env_str("JOBQUEUE_TASKS_OWNER", "tasks"),  # owns tasks enqueued outside a request
            "CREATE_OWNER": env_bool("JOBQUEUE_TASKS_CREATE_OWNER", True),
            "MAX_RETRIES": env_int("JOBQUEUE_TASKS_MAX_RETRIES", None),  # None: JOBQUEUE_DEFAULT_MAX_RETRIES
            "TIMEOUT_SECONDS": env_int("JOBQUEUE_TASKS_TIMEOUT_SECONDS", None),
            "MODULES": env_list("JOBQUEUE_TASKS_MODULES", []),  # extra importable module prefixes
        },
    },
}
