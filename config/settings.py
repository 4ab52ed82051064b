"""Settings for Backorder Desk, read from the environment (django-environ).

Every setting has a working default so a newcomer needs nothing installed: SQLite and
django-q2's ORM broker. Production sets DEBUG=False, SECRET_KEY, DATABASE_URL, REDIS_URL,
EMAIL_URL, SITE_URL and ALLOWED_HOSTS.
"""

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp.constants import NONCE, NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)
_DEV_SECRET = "dev-only-secret-key-never-used-in-production-0123456789abcdefghij"
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET if DEBUG else "")
if not SECRET_KEY:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")

# Rotating SECRET_KEY: the previous key stays here until links signed with it (consent
# pages in e-mails already sent) and sessions no longer matter (docs/operations.md).
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "simple_history",
    "rest_framework",
    "rest_framework_api_key",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # core comes before django_q: its `qcluster` command replaces django-q2's (Django takes
    # a command from the first app that has one), refusing to serve one queue of two.
    "core",
    "django_q",
    "import_export",
    # The project's apps, each importing only the ones listed before it (docs/architecture.md;
    # core is above).
    "inventory",
    "orders",
    "promises",
    "workflow",
    "notifications",
    "reports",
    "api",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy on every response (CONTENT_SECURITY_POLICY below).
    "csp.middleware.CSPMiddleware",
    # Cache-Control: no-store on every response that does not say otherwise (pages carry
    # CSRF tokens, API keys shown once, customers' signed links).
    "config.middleware.NoStoreByDefault",
    # Under /api/: the 413 body limit, and Django's own error pages in the API's JSON shape.
    "api.middleware.ApiErrorShapeMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last: turns a login locked out by django-axes into its answer (429).
    "axes.middleware.AxesMiddleware",
]

# Brute-force protection of the admin login (django-axes): after LOGIN_FAILURE_LIMIT wrong
# passwords for one username from one address, that pair is locked out for
# LOGIN_COOLOFF_MINUTES, the right password included; `manage.py axes_reset_username NAME`
# lifts it. Partner API keys are not passwords: the API limits them itself.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True

if not DEBUG:
    # runserver serves static files in development; whitenoise does in production.
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'backorder-desk.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(exist_ok=True)
    # WAL + a busy timeout let the web server and the django-q2 worker share the file.
    # Transactions take the write lock when they begin (BEGIN IMMEDIATE): a transaction that
    # read first and then wrote could not wait for a writer that committed meanwhile, and
    # failed at once with "database is locked" (an order placed while the worker wrote).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
         "transaction_mode": "IMMEDIATE"}
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
    if env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            {"server_side_binding": True, "prepare_threshold": 5})
IS_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"

# Web processes: collect the youngest generation every this many allocations (Python: 700)
# and freeze what the process loaded (core.runtime.web_process_ready); 0 leaves the collector be.
WEB_GC_THRESHOLD = env.int("WEB_GC_THRESHOLD", default=20_000)

# GET /api/v1/availability/: the same question asked again within this many seconds in one
# process gets the same answer (promises.intake.availability_answer); 0 computes every answer.
AVAILABILITY_CACHE_SECONDS = env.float("AVAILABILITY_CACHE_SECONDS", default=1.0)

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
# Customer-facing text comes from the catalogs in locale/ (en-us is the source language).
# A market is added with its catalog (and a line here, for pages that follow the browser);
# customers of any other language read English.
LANGUAGES = [("en-us", "English (US)"), ("en-gb", "English (UK)"), ("de", "Deutsch"),
             ("fr", "Français"), ("it", "Italiano"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]

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

# E-mail: consolemail:// locally, filemail:///path or smtp://user:pass@host:587 in production.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))


def email_file_path(url: str, base: Path) -> Path:
    """Return where filemail:// writes: filemail:///var/mail is the absolute /var/mail;
    filemail://var/mail is var/mail under the project (django-environ drops the leading
    slash of both)."""
    parts = urlsplit(url)
    path = parts.netloc + parts.path
    return Path(path) if not parts.netloc else base / path


if env.str("EMAIL_URL", default="").startswith("filemail://"):
    EMAIL_FILE_PATH = str(email_file_path(env.str("EMAIL_URL"), BASE_DIR))
# Report files made in the background: a folder every web and worker machine shares when
# there are several (default var/reports under the project).
REPORTS_ROOT = env.str("REPORTS_ROOT", default="") or None
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Backorder Desk <orders@example.com>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Background work: django-q2 on Redis when REDIS_URL is set, else on its ORM broker.
# Two clusters share the broker: the main one re-promises and assesses slips, the notices
# one sends customer notices and runs the periodic workflow sweeps, so neither a re-promise
# nor a slip's exceptions wait behind a long notice drain. `manage.py workers` starts both;
# NOTICES_CLUSTER="" puts everything on the main cluster (one `qcluster` is then enough).
REDIS_URL = env.str("REDIS_URL", default="")
Q_NAME = env.str("Q_NAME", default="backorder-desk")
NOTICES_CLUSTER = env.str("NOTICES_CLUSTER", default=f"{Q_NAME}-notices")
Q_CLUSTER = {
    "name": Q_NAME,
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": 600,
    "retry": 720,
    "max_attempts": 1,
    "queue_limit": 50,
    "bulk": 10,
    "catch_up": False,
    "poll": 0.2,
    "label": "Background tasks",
    "save_limit": 1000,
    "ack_failures": True,
}
if NOTICES_CLUSTER:
    # django-q2 applies these to a qcluster started with Q_CLUSTER_NAME=<NOTICES_CLUSTER>.
    Q_CLUSTER["ALT_CLUSTERS"] = {NOTICES_CLUSTER: {"workers": env.int("Q_NOTICES_WORKERS", default=1)}}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
# Tests and one-off commands can run tasks inline.
Q_CLUSTER["sync"] = env.bool("Q_SYNC", default=False)

# Admin list exports (django-import-export): whoever may view a list may export it.
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["api.renderers.PartnerJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.PartnerJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "DATETIME_FORMAT": "iso-8601",
    "DATE_FORMAT": "iso-8601",
    "COERCE_DECIMAL_TO_STRING": True,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Backorder Desk partner API",
    "DESCRIPTION": "Availability, order intake, promises and supply for storefronts, "
    "marketplaces and 3PLs.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from our own static files (drf-spectacular-sidecar): no CDN, CSP 'self'.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Content-Security-Policy (django-csp), in development too so a page that breaks it shows at
# once. Scripts only from our own static files, or inline with the request's nonce
# (`nonce="{{ request.csp_nonce }}"`); styles from our files and inline (the admin's and the
# consent page's templates carry style attributes, which a nonce cannot cover); images also
# as data: URIs (the dashboard's chart, Swagger UI's icons). Swagger UI is served from the
# drf-spectacular-sidecar's static files, not a CDN.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# Production hardening; `manage.py check --deploy` is clean with DEBUG off.
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # Load balancers ask /healthz over plain HTTP on the private network: no redirect.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"

# The merchant customers deal with: the From name of every customer e-mail and its
# signature; replies go to NOTICE_REPLY_TO (the notices ask customers to reply).
MERCHANT_NAME = env.str("MERCHANT_NAME", default=env.str("SHOP_NAME", default="Northwind Outfitters"))
NOTICE_REPLY_TO = env.str("NOTICE_REPLY_TO", default="care@northwind.example")

# Backorder Desk's own settings.
BACKORDER_DESK = {
    # The ports between the apps (docs/architecture.md): the workflow re-promising and
    # intake call, and the outbox the workflow writes customer notices to.
    "WORKFLOW": "workflow.ports.RegionalWorkflow",
    "NOTICE_OUTBOX": "notifications.outbox.Outbox",
    # Regional rule numbers (see workflow/policies); keys of workflow.policies.RegionRules.
    "REGION_RULES": env.json("REGION_RULES", default={}),
    # Hold delay notices for an agent's review in these region codes (default: send at once).
    "HOLD_NOTICES_REGIONS": env.list("HOLD_NOTICES_REGIONS", default=[]),
    "NIGHTLY_REPROMISE_HOUR": env.int("NIGHTLY_REPROMISE_HOUR", default=2),
    # Consent links work until their line ships or closes; a positive number also limits
    # their age in days.
    "LINK_MAX_AGE_DAYS": env.int("LINK_MAX_AGE_DAYS", default=0),
    # The brand's name in notices and on the consent page (MERCHANT_NAME; kept for its readers).
    "SHOP_NAME": MERCHANT_NAME,
    # Notice outbox (docs/notices.md): tries before an agent must retry, how long one drain
    # task may send, when a notice left in `sending` counts as stuck.
    "NOTICE_MAX_ATTEMPTS": env.int("NOTICE_MAX_ATTEMPTS", default=8),
    "NOTICE_DRAIN_SECONDS": env.int("NOTICE_DRAIN_SECONDS", default=240),
    "NOTICE_STUCK_MINUTES": env.int("NOTICE_STUCK_MINUTES", default=15),
    # A delay notice held for review goes out by itself this many days before its legal
    # deadline; its exception is due this many days earlier still (so an agent sees it first).
    "HELD_NOTICE_RELEASE_DAYS": env.int("HELD_NOTICE_RELEASE_DAYS", default=1),
    # A drain waits while a re-promise or a slip's assessment runs, this long at most at a
    # time (core.urgency); 0 never waits.
    "NOTICE_YIELD_MAX_SECONDS": env.float("NOTICE_YIELD_MAX_SECONDS", default=2.0),
    # US 16 CFR 435.2(c)(5): cancel lines past T with no notice sent (False: leave to agents).
    "PAST_DUE_AUTO_CANCEL": env.bool("PAST_DUE_AUTO_CANCEL", default=True),
    # Slips touching more lines than this are assessed in their own task right after the
    # re-promise commits, so a big slip's promises are visible at once; the slip sweep
    # (every 15 min) catches a follow-up task that was lost. Set it very high to keep
    # every assessment inside the re-promise transaction.
    "WORKFLOW_INLINE_MAX_LINES": env.int("WORKFLOW_INLINE_MAX_LINES", default=1000),
    # Such a slip is assessed in this many tasks side by side (whole orders each); 0: one
    # per worker of the main cluster (Q_WORKERS).
    "WORKFLOW_DEFERRED_PARTS": env.int("WORKFLOW_DEFERRED_PARTS", default=0),
    # The health signals the apps above core add to /healthz and the ops dashboard
    # (core/health.py): name -> a function returning {"ok": bool, ...}.
    "HEALTH_CHECKS": {
        "notices": "notifications.health.notices_due_check",
        "api_throttle": "api.throttling.throttle_backend_status",
    },
}

# --- Partner API ---
# Partner REST API (api/, docs/api.md): key auth per view, one error shape, per-key rate.
PARTNER_API = {
    # Requests per API key; DRF's rate syntax ("1200/min", "50/s").
    "THROTTLE_RATE": env.str("API_THROTTLE_RATE", default="1200/min"),
    # Wrong, revoked or expired keys per client address; past it every key from that
    # address is refused (429) until the window ends.
    "FAILED_AUTH_RATE": env.str("API_FAILED_AUTH_RATE", default="60/min"),
    "THROTTLE_CACHE": "partner_api",
}
CACHES = globals().get("CACHES") or {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
}
# Rate counts shared by all workers when Redis is there; per process otherwise (and while
# Redis is away: short timeouts, so an outage slows no request by more than half a second).
CACHES.setdefault("partner_api", {
    "BACKEND": "core.cache.RedisCache", "LOCATION": REDIS_URL,
    "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
} if REDIS_URL else {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "partner-api",
})
if REDIS_URL:
    # Flags every process sees: a drain already waiting in the queue (core.queue).
    CACHES.setdefault("task_flags", {
        "BACKEND": "core.cache.RedisCache", "LOCATION": REDIS_URL,
        "KEY_PREFIX": "task-flags", "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    })
REST_FRAMEWORK.update({
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": None,
    "DEFAULT_THROTTLE_RATES": {"partner": PARTNER_API["THROTTLE_RATE"]},
    "NON_FIELD_ERRORS_KEY": "non_field_errors",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # Proxies in front of the web servers: the client's address (for the failed-key limit)
    # is then taken from X-Forwarded-For; 0 trusts REMOTE_ADDR alone.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
})
SPECTACULAR_SETTINGS.update({
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SERVE_PUBLIC": True,
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SORT_OPERATIONS": False,
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "orders.models.Order.Status",
        "OrderLineStatusEnum": "orders.models.OrderLine.Status",
        "PurchaseOrderStatusEnum": "inventory.models.PurchaseOrder.Status",
        "ExceptionStatusEnum": "promises.models.OrderException.Status",
        "ExceptionKindEnum": "promises.models.OrderException.Kind",
        "PromiseChangeCauseEnum": "promises.models.PromiseChange.Cause",
        "CancellationReasonEnum": "orders.models.Cancellation.Reason",
        "StrategyEnum": "inventory.models.Strategy",
        "CurrencyEnum": "orders.models.Currency",
        "RegionCodeEnum": "inventory.models.Region.Code",
        "SourceKindEnum": "api.serializers.common.SOURCE_KINDS",
        "AvailabilityStatusEnum": "api.serializers.common.AVAILABILITY_STATUSES",
    },
    "TAGS": [
        {"name": "catalog", "description": "SKUs and their backorder policy."},
        {"name": "supply", "description": "Stock counts, purchase orders and receipts."},
        {"name": "availability", "description": "What may be sold now, and when it ships."},
        {"name": "orders", "description": "Order intake, order state, cancellations, shipments."},
        {"name": "promises", "description": "The promise-change feed and the exception queue."},
    ],
})
