"""Paperboy settings: one module, driven by environment variables.

Every variable has a default that works on a fresh checkout (SQLite, a file-based Celery
broker and the local mail catcher, all under var/). A malformed value stops start-up with an
ImproperlyConfigured that names the variable. See .env.example for the full list.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("PAPERBOY_VAR_DIR", BASE_DIR / "var"))


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_int(name: str, default: int, low: int | None = None, high: int | None = None) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None
    if (low is not None and number < low) or (high is not None and number > high):
        raise ImproperlyConfigured(f"{name} must be between {low} and {high}, not {number}")
    return number


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}") from None


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_url(name: str, default: str, schemes: tuple[str, ...]) -> str:
    value = os.environ.get(name) or default
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.hostname:
        raise ImproperlyConfigured(f"{name} must be a URL starting with {' or '.join(schemes)}://, not {value!r}")
    return value.rstrip("/")


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name) or default
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


# Servers whose processes each serve from a fixed set of long-lived threads: there a kept
# connection is reused. Elsewhere connections close after each request or task: runserver starts
# a thread per request, and each kept connection would stay open until PostgreSQL runs out.
PERSISTENT_CONNECTION_SERVERS = {"gunicorn", "celery"}


def persistent_connections_default(argv: list[str]) -> int:
    """DATABASE_CONN_MAX_AGE's default for the running program: 60 s under gunicorn and Celery
    (`gunicorn ...`, `celery ...`, `python -m celery ...`), 0 under runserver, tests and commands."""
    program = Path(argv[0]) if argv else Path()
    return 60 if {program.name, program.parent.name} & PERSISTENT_CONNECTION_SERVERS else 0


def database_config(name: str, default: str) -> dict:
    value = os.environ.get(name) or default
    conn_max_age = env_int("DATABASE_CONN_MAX_AGE", persistent_connections_default(sys.argv), 0)
    try:
        config = dj_database_url.parse(value, conn_max_age=conn_max_age)
    except ValueError as error:
        raise ImproperlyConfigured(f"{name} is not a database URL we understand: {error}") from None
    if config["ENGINE"] == "django.db.backends.sqlite3":
        Path(config["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        # A file, not memory, so the worker process in the tests sees the test database too.
        config["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
        # Transactions take the write lock when they begin, so two at once (a double-clicked
        # signup) wait for each other instead of failing with "database is locked".
        config["OPTIONS"] = {**config.get("OPTIONS", {}), "transaction_mode": "IMMEDIATE"}
    return config


DEBUG = env_bool("DJANGO_DEBUG", True)
SECRET_KEY = env_str("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is false")
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production-0123456789abcdef"
# Old keys keep signed links (unsubscribe, manage) in already-sent emails working after a rotation.
SECRET_KEY_FALLBACKS = env_list("DJANGO_SECRET_KEY_FALLBACKS", "")

SITE_URL = env_url("SITE_URL", "http://localhost:8000", ("http", "https"))
if not DEBUG and not SITE_URL.startswith("https://"):
    # List-Unsubscribe must be an HTTPS URI (RFC 8058), and plain http would be redirected.
    raise ImproperlyConfigured("SITE_URL must start with https:// when DJANGO_DEBUG is false")
SITE_DOMAIN = urlsplit(SITE_URL).hostname or "localhost"
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", f"{SITE_DOMAIN},localhost,127.0.0.1")
CSRF_TRUSTED_ORIGINS = [SITE_URL] if SITE_URL.startswith("https://") else []

INSTALLED_APPS = [
    "digest.staff.site.PaperboyAdminConfig",  # django.contrib.admin with the staff dashboard (issue 7)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "subscriptions",
    "digest",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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

DATABASES = {"default": database_config("DATABASE_URL", f"sqlite:///{VAR_DIR / 'paperboy.sqlite3'}")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Production hardening: on whenever DEBUG is off (`manage.py check --deploy` is clean then).
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {"flufl.bounce": {"level": "WARNING"}},  # it logs every detector it tries at INFO
    "root": {
        "handlers": ["console"],
        "level": env_choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")),
    },
}

# --- Email -------------------------------------------------------------------------------
# Defaults point at the local catcher that `make run` starts (manage.py mailcatcher).
# Django's SMTP backend, plus a VERP envelope sender when a message names one and DKIM (mailing/).
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "mailing.backend.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = env_int("EMAIL_PORT", 1025, 1, 65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("Set EMAIL_USE_TLS (STARTTLS, port 587) or EMAIL_USE_SSL (port 465), not both")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30, 1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", f"Paperboy <digest@{SITE_DOMAIN}>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Where replies to the digest go (a monitored inbox); without it, replies go to the From address.
PAPERBOY_REPLY_TO = env_str("PAPERBOY_REPLY_TO", "")
if PAPERBOY_REPLY_TO and ("@" not in PAPERBOY_REPLY_TO or any(c.isspace() for c in PAPERBOY_REPLY_TO)):
    raise ImproperlyConfigured(f"PAPERBOY_REPLY_TO must be one email address, got {PAPERBOY_REPLY_TO!r}")
MAILCATCHER_DIR = VAR_DIR / "mail"

# --- What comes back, and signing (issue 16) --------------------------------------------
# Every digest's envelope sender is bounces+<signed delivery token>@PAPERBOY_BOUNCE_DOMAIN (VERP),
# so a bounce or complaint names its delivery whatever its text says; mail to that domain's
# bounces+ addresses must reach the bounce mailbox or `manage.py receive_bounces --smtp`.
PAPERBOY_BOUNCE_DOMAIN = env_str("PAPERBOY_BOUNCE_DOMAIN", "") or DEFAULT_FROM_EMAIL.rpartition("@")[2].strip(" >")
if not re.fullmatch(r"[A-Za-z0-9.-]+", PAPERBOY_BOUNCE_DOMAIN):
    raise ImproperlyConfigured(f"PAPERBOY_BOUNCE_DOMAIN must be a domain name, not {PAPERBOY_BOUNCE_DOMAIN!r}")
# The bounce mailbox, read over IMAP with TLS by a beat task; off while the host is empty. Read
# messages are moved to PROCESSED_FOLDER, or deleted when that is empty.
PAPERBOY_BOUNCE_IMAP_HOST = env_str("PAPERBOY_BOUNCE_IMAP_HOST", "")
PAPERBOY_BOUNCE_IMAP_PORT = env_int("PAPERBOY_BOUNCE_IMAP_PORT", 993, 1, 65535)
PAPERBOY_BOUNCE_IMAP_USER = env_str("PAPERBOY_BOUNCE_IMAP_USER", "")
PAPERBOY_BOUNCE_IMAP_PASSWORD = env_str("PAPERBOY_BOUNCE_IMAP_PASSWORD", "")
PAPERBOY_BOUNCE_IMAP_FOLDER = env_str("PAPERBOY_BOUNCE_IMAP_FOLDER", "INBOX")
PAPERBOY_BOUNCE_IMAP_PROCESSED_FOLDER = env_str("PAPERBOY_BOUNCE_IMAP_PROCESSED_FOLDER", "Processed")
# A private CA for the IMAP server's certificate (the system's CAs otherwise).
PAPERBOY_BOUNCE_IMAP_CA_FILE = env_str("PAPERBOY_BOUNCE_IMAP_CA_FILE", "")
PAPERBOY_BOUNCE_IMAP_TIMEOUT = env_int("PAPERBOY_BOUNCE_IMAP_TIMEOUT", 30, 1)
PAPERBOY_BOUNCE_POLL_MINUTES = env_int("PAPERBOY_BOUNCE_POLL_MINUTES", 5, 1, 60)
# Soft bounces (mailbox full, greylisting past the relay's retries) of this many digests within
# the window disable the address, as one hard bounce (PAPERBOY_BOUNCES_BEFORE_DISABLE) does.
PAPERBOY_SOFT_BOUNCES_BEFORE_DISABLE = env_int("PAPERBOY_SOFT_BOUNCES_BEFORE_DISABLE", 3, 1)
PAPERBOY_SOFT_BOUNCE_WINDOW_DAYS = env_int("PAPERBOY_SOFT_BOUNCE_WINDOW_DAYS", 14, 1)
# DKIM: every outgoing message is signed when the selector, the domain and a key are set.
PAPERBOY_DKIM_SELECTOR = env_str("PAPERBOY_DKIM_SELECTOR", "")
PAPERBOY_DKIM_DOMAIN = env_str("PAPERBOY_DKIM_DOMAIN", "")
PAPERBOY_DKIM_PRIVATE_KEY = env_str("PAPERBOY_DKIM_PRIVATE_KEY", "")  # the PEM itself, or:
PAPERBOY_DKIM_PRIVATE_KEY_FILE = env_str("PAPERBOY_DKIM_PRIVATE_KEY_FILE", "")
if PAPERBOY_DKIM_PRIVATE_KEY_FILE and not PAPERBOY_DKIM_PRIVATE_KEY:
    try:
        PAPERBOY_DKIM_PRIVATE_KEY = Path(PAPERBOY_DKIM_PRIVATE_KEY_FILE).read_text()
    except OSError as error:
        raise ImproperlyConfigured(f"PAPERBOY_DKIM_PRIVATE_KEY_FILE cannot be read: {error}") from None
_dkim_parts = [PAPERBOY_DKIM_SELECTOR, PAPERBOY_DKIM_DOMAIN, PAPERBOY_DKIM_PRIVATE_KEY]
if any(_dkim_parts) and not all(_dkim_parts):
    raise ImproperlyConfigured(
        "DKIM needs PAPERBOY_DKIM_SELECTOR, PAPERBOY_DKIM_DOMAIN and PAPERBOY_DKIM_PRIVATE_KEY(_FILE) together"
    )

# --- Paperboy ----------------------------------------------------------------------------
PAPERBOY_HF_API_URL = env_url("PAPERBOY_HF_API_URL", "https://huggingface.co/api/daily_papers", ("http", "https"))
PAPERBOY_ARXIV_FEED_URL = env_url("PAPERBOY_ARXIV_FEED_URL", "https://rss.arxiv.org/atom", ("http", "https"))
PAPERBOY_ARXIV_CATEGORIES = env_list("PAPERBOY_ARXIV_CATEGORIES", "cs.AI,cs.CL,cs.CV,cs.LG")
PAPERBOY_SOURCE_TIMEOUT = env_float("PAPERBOY_SOURCE_TIMEOUT", 20.0)
# arXiv's terms: at most one request every 3 seconds.
PAPERBOY_ARXIV_PAUSE = env_float("PAPERBOY_ARXIV_PAUSE", 3.0)
PAPERBOY_MATCH_THRESHOLD = env_float("PAPERBOY_MATCH_THRESHOLD", 0.4)
# Deliveries per send task: one SMTP connection each (issue 6: 200 by default).
PAPERBOY_BATCH_SIZE = env_int("PAPERBOY_BATCH_SIZE", 200, 1, 10_000)
# Rows a sending process takes (and records as sent) per statement: also how many messages one
# killed worker process can leave uncertain, to be resent with the same Message-ID (the crash rule).
PAPERBOY_SEND_GROUP = env_int("PAPERBOY_SEND_GROUP", 10, 1, 1000)
# Who plans a day: "central", the plan task alone, fanning out send batches (the faster on one
# machine, and every planned row is in the database for the recovery run); "shard", the workers,
# a chunk of subscribers each (scales out with machines; each worker process holds the edition's
# matchers and the sentence model, about 700 MB; a chunk the broker loses before a worker takes
# it is handed out again by the next plan run, PAPERBOY_PLAN_EVERY_MINUTES later).
PAPERBOY_PLANNING = env_choice("PAPERBOY_PLANNING", "central", ("shard", "central"))
# Sends whose outcome is unknown (each may deliver a copy) or that failed on our side: at most this many.
PAPERBOY_MAX_ATTEMPTS = env_int("PAPERBOY_MAX_ATTEMPTS", 5, 1, 20)
# Refusals for now (4xx) are retried, as mail servers do, for this long after the first one,
# then the delivery fails for good: well before the reader's next daily digest.
PAPERBOY_RETRY_FOR_HOURS = env_float("PAPERBOY_RETRY_FOR_HOURS", 20.0)
if not 0 < PAPERBOY_RETRY_FOR_HOURS <= 24 * 7:
    raise ImproperlyConfigured(f"PAPERBOY_RETRY_FOR_HOURS must be in (0, 168], not {PAPERBOY_RETRY_FOR_HOURS}")
# Late in the UTC day: HF's list for a date fills up (and gathers upvotes) during that day, and
# arXiv's announcement of that date is out since about 00:00 UTC. Readers get it at their next
# send hour, which for most of the world is the next morning.
PAPERBOY_INGEST_HOUR_UTC = env_int("PAPERBOY_INGEST_HOUR_UTC", 21, 0, 23)
PAPERBOY_LIST_ID = env_str("PAPERBOY_LIST_ID", f"Paperboy daily digest <digest.{SITE_DOMAIN}>")
# Matching (issue 4): "auto" uses sentence embeddings when the `semantic` extra is installed;
# "off" ranks lexically only. With nothing above the threshold, optionally send a short
# "here is what is trending" email instead of none.
PAPERBOY_SEMANTIC = env_choice("PAPERBOY_SEMANTIC", "auto", ("auto", "off"))
# Load the sentence model when the process starts (web processes: the first page a reader opens
# must not wait for it); management commands and workers load it when they first rank.
PAPERBOY_WARM_UP = env_bool("PAPERBOY_WARM_UP", False)
PAPERBOY_EMBEDDING_MODEL = env_str("PAPERBOY_EMBEDDING_MODEL", "all-MiniLM-L6-v2")
PAPERBOY_SEND_TRENDING_WHEN_EMPTY = env_bool("PAPERBOY_SEND_TRENDING_WHEN_EMPTY", False)

# --- Staff dashboard and health (issue 7) -------------------------------------------------
PAPERBOY_ADMIN_URL = os.environ.get("PAPERBOY_ADMIN_URL") or "admin/"
if not re.fullmatch(r"((?!\.+/)[A-Za-z0-9._~-]+/)+", PAPERBOY_ADMIN_URL):
    raise ImproperlyConfigured(
        f"PAPERBOY_ADMIN_URL must be a path like staff/ or ops/admin/, not {PAPERBOY_ADMIN_URL!r}"
    )
# /healthz fails the ingest or digest check when the last success is older than this; one
# missed daily run is enough to page someone.
PAPERBOY_HEALTH_INGEST_MAX_AGE_HOURS = env_int("PAPERBOY_HEALTH_INGEST_MAX_AGE_HOURS", 30, 1)
PAPERBOY_HEALTH_DIGEST_MAX_AGE_HOURS = env_int("PAPERBOY_HEALTH_DIGEST_MAX_AGE_HOURS", 30, 1)
PAPERBOY_DASHBOARD_POLL_SECONDS = env_int("PAPERBOY_DASHBOARD_POLL_SECONDS", 15, 1, 3600)

# --- Celery ------------------------------------------------------------------------------
# REDIS_URL (or CELERY_BROKER_URL) in production; without one, kombu's filesystem transport
# under var/ needs no server, so `make run` works on a bare machine.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    env_url("REDIS_URL", REDIS_URL, ("redis", "rediss"))
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or REDIS_URL or "filesystem://"
if os.environ.get("CELERY_BROKER_URL"):
    env_url("CELERY_BROKER_URL", CELERY_BROKER_URL, ("redis", "rediss", "amqp", "amqps", "sqs"))
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "celery-broker"
    _queue_dir.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "control_folder": str(VAR_DIR / "celery-control"),  # kombu's default is ./control
    }
else:
    # Unacknowledged tasks come back after this; longer than the slowest batch.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600, 5)}
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "paperboy")
# Planning and housekeeping have a queue of their own, so a plan run is never stuck behind the
# send batches already queued; every worker consumes both (`-Q paperboy,paperboy-plan`).
CELERY_PLAN_QUEUE = env_str("CELERY_PLAN_QUEUE", f"{CELERY_TASK_DEFAULT_QUEUE}-plan")
CELERY_TASK_ROUTES = {
    task: {"queue": CELERY_PLAN_QUEUE}
    for task in (
        "digest.tasks.ingest_papers",
        "digest.tasks.plan_due_digests",
        "digest.tasks.send_edition_now",
        "digest.tasks.recover_deliveries",
        "digest.tasks.read_bounce_mailbox",
        "digest.tasks.compact_old_plans",
        "subscriptions.tasks.purge_unconfirmed_signups",
    )
}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# A worker killed mid-batch hands its task back instead of losing it (see digest/deliver.py
# for why a redelivered batch never sends a message twice).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- Delivery at scale (issue 6) ---------------------------------------------------------
# Beat plans every few minutes (a divisor of 60, so runs fall on the hour and its quarters).
PAPERBOY_PLAN_EVERY_MINUTES = env_int("PAPERBOY_PLAN_EVERY_MINUTES", 15, 1, 60)
if 60 % PAPERBOY_PLAN_EVERY_MINUTES:
    raise ImproperlyConfigured(f"PAPERBOY_PLAN_EVERY_MINUTES must divide 60, not {PAPERBOY_PLAN_EVERY_MINUTES}")
# Messages per second across all workers (shared through Redis; per process without it). 0: no limit.
PAPERBOY_SEND_RATE = env_int("PAPERBOY_SEND_RATE", 0, 0)
PAPERBOY_RATE_LIMIT_REDIS_URL = REDIS_URL
# Retries of refused (4xx) deliveries and of relay outages: exponential backoff with full jitter.
PAPERBOY_RETRY_BACKOFF_SECONDS = env_int("PAPERBOY_RETRY_BACKOFF_SECONDS", 60, 1)
PAPERBOY_RETRY_BACKOFF_MAX_SECONDS = env_int("PAPERBOY_RETRY_BACKOFF_MAX_SECONDS", 900, 1)
PAPERBOY_RELAY_MAX_RETRIES = env_int("PAPERBOY_RELAY_MAX_RETRIES", 20, 0)
PAPERBOY_BOUNCES_BEFORE_DISABLE = env_int("PAPERBOY_BOUNCES_BEFORE_DISABLE", 1, 1)
# A send task is killed after this; a row still `sending` longer than PAPERBOY_SENDING_STALE_SECONDS
# therefore belongs to a dead worker (see the crash rule in digest/deliver.py).
PAPERBOY_SEND_TIME_LIMIT = env_int("PAPERBOY_SEND_TIME_LIMIT", 900, 5)
PAPERBOY_SENDING_STALE_SECONDS = env_int("PAPERBOY_SENDING_STALE_SECONDS", PAPERBOY_SEND_TIME_LIMIT + 60, 1)
if PAPERBOY_SENDING_STALE_SECONDS <= PAPERBOY_SEND_TIME_LIMIT:
    raise ImproperlyConfigured("PAPERBOY_SENDING_STALE_SECONDS must be longer than PAPERBOY_SEND_TIME_LIMIT")
PAPERBOY_PLAN_TIME_LIMIT = env_int("PAPERBOY_PLAN_TIME_LIMIT", 1800, 10)
# A sending worker whose database connection breaks retries the write of what it has sent on a
# new connection this long (a PostgreSQL restart), then its task retries later.
PAPERBOY_DB_RETRY_SECONDS = env_int("PAPERBOY_DB_RETRY_SECONDS", min(30, PAPERBOY_SEND_TIME_LIMIT // 4), 0)
if PAPERBOY_DB_RETRY_SECONDS * 2 >= PAPERBOY_SEND_TIME_LIMIT:
    raise ImproperlyConfigured("PAPERBOY_DB_RETRY_SECONDS must be under half of PAPERBOY_SEND_TIME_LIMIT")
if not CELERY_BROKER_URL.startswith("filesystem://"):
    _visibility = CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    # Redis hands an unacknowledged task to another worker after the visibility timeout: a send
    # task (or a retry waiting for its countdown) must never live that long.
    if _visibility <= max(PAPERBOY_SEND_TIME_LIMIT, PAPERBOY_RETRY_BACKOFF_MAX_SECONDS):
        raise ImproperlyConfigured(
            "CELERY_VISIBILITY_TIMEOUT must be longer than PAPERBOY_SEND_TIME_LIMIT "
            "and PAPERBOY_RETRY_BACKOFF_MAX_SECONDS"
        )
    # A killed worker's task comes back soon after its timeout, not at the default 100 s sweep.
    CELERY_BROKER_TRANSPORT_OPTIONS["unacked_restore_throttle"] = 1
# Sendable rows whose task is this overdue (not queued, running or waiting to retry: lost with
# the broker's memory) are requeued by the recovery run, every minute. One plan interval: a
# healthy queue is drained by then; if not, a row gets a second task, never a second email.
PAPERBOY_REQUEUE_AFTER_SECONDS = env_int("PAPERBOY_REQUEUE_AFTER_SECONDS", PAPERBOY_PLAN_EVERY_MINUTES * 60, 1)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# What each email carried (its papers, scores, why-lines and the interests that matched) is kept
# on its Delivery row this many days after its edition; then a daily task compacts it to the
# paper ids and scores, which keep the counts of what was sent true (digest/carried.py). 90 days:
# a quarter of "why did I get this?" for staff and readers, then the readers' interests go.
PAPERBOY_KEEP_DELIVERY_DETAIL_DAYS = env_int("PAPERBOY_KEEP_DELIVERY_DETAIL_DAYS", 90, 1)

CELERY_BEAT_SCHEDULE = {
    "ingest-todays-papers": {
        "task": "digest.tasks.ingest_papers",
        "schedule": crontab(minute=0, hour=PAPERBOY_INGEST_HOUR_UTC),
    },
    # Each subscriber chooses a local send hour; planning is idempotent and cheap when nobody is due.
    "plan-due-digests": {
        "task": "digest.tasks.plan_due_digests",
        "schedule": crontab(minute=f"*/{PAPERBOY_PLAN_EVERY_MINUTES}"),
    },
    # The crash rule and lost tasks (digest/deliver.py): two indexed queries, so every minute.
    "recover-deliveries": {"task": "digest.tasks.recover_deliveries", "schedule": crontab()},
    # Once a day, before the evening's ingest: old plans lose their why-lines (a batch at a time).
    "compact-old-plans": {"task": "digest.tasks.compact_old_plans", "schedule": crontab(minute=20, hour=3)},
}

# --- Subscriptions: signup, confirmation, rate limits (issue 3) ---------------------------
# Rate-limit counters live in the cache: Redis when REDIS_URL is set (shared by every web
# process), else this process's memory (enough for `make run`).
# CACHE_KEY_PREFIX keeps apart the keys of deployments (or test runs) that share one Redis.
CACHE_KEY_PREFIX = env_str("CACHE_KEY_PREFIX", "")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": CACHE_KEY_PREFIX,
    }
    if REDIS_URL
    # Without Redis (`make run`), a folder under var/ that the web process and the worker share:
    # the sentence vectors ingest computes are there for the first preview (and rate limits
    # count across processes). Large enough for an edition's sentences.
    else {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(VAR_DIR / "cache"),
        "KEY_PREFIX": CACHE_KEY_PREFIX,
        "OPTIONS": {"MAX_ENTRIES": 200_000},
    }
}
# An unconfirmed signup (and its confirmation link) lasts this long, then the purge removes it.
PAPERBOY_CONFIRM_DAYS = env_int("PAPERBOY_CONFIRM_DAYS", 7, 1, 365)
# Within the window: valid posts that may send mail per client network (an IPv4 address or an
# IPv6 /64; then HTTP 429), and emails sent per mailbox (subscriptions/ratelimit.py).
PAPERBOY_SIGNUP_LIMIT_PER_IP = env_int("PAPERBOY_SIGNUP_LIMIT_PER_IP", 20, 1)
PAPERBOY_SIGNUP_LIMIT_PER_ADDRESS = env_int("PAPERBOY_SIGNUP_LIMIT_PER_ADDRESS", 5, 1)
PAPERBOY_SIGNUP_LIMIT_WINDOW = env_int("PAPERBOY_SIGNUP_LIMIT_WINDOW_SECONDS", 3600, 1)
# At most one signup email (confirmation or "already subscribed") per subscriber in this many
# seconds, so a double-clicked form sends one message.
PAPERBOY_SIGNUP_MAIL_COOLDOWN = env_int("PAPERBOY_SIGNUP_MAIL_COOLDOWN_SECONDS", 60, 0)
# A mailbox past its limit still gets one email this long after the last, so a stranger's posts
# never lock its owner out (by default the window shared out by the limit: 12 minutes).
PAPERBOY_SIGNUP_LIMITED_COOLDOWN = env_int(
    "PAPERBOY_SIGNUP_LIMITED_COOLDOWN_SECONDS",
    max(1, PAPERBOY_SIGNUP_LIMIT_WINDOW // PAPERBOY_SIGNUP_LIMIT_PER_ADDRESS),
    1,
)
# Behind a proxy, REMOTE_ADDR is the proxy's: name the META key holding the client's address
# (e.g. HTTP_X_REAL_IP). Only set it when the proxy overwrites that header.
PAPERBOY_CLIENT_IP_HEADER = env_str("PAPERBOY_CLIENT_IP_HEADER", "REMOTE_ADDR")
# The arXiv categories offered at signup, with names (readers may follow more than ingest reads).
PAPERBOY_CATEGORY_CHOICES = [
    ("cs.AI", "Artificial Intelligence"),
    ("cs.CL", "Computation and Language"),
    ("cs.CV", "Computer Vision"),
    ("cs.LG", "Machine Learning"),
    ("cs.RO", "Robotics"),
    ("cs.IR", "Information Retrieval"),
    ("cs.NE", "Neural and Evolutionary Computing"),
    ("cs.HC", "Human-Computer Interaction"),
    ("cs.SE", "Software Engineering"),
    ("cs.CR", "Cryptography and Security"),
    ("eess.AS", "Audio and Speech Processing"),
    ("eess.IV", "Image and Video Processing"),
    ("stat.ML", "Machine Learning (Statistics)"),
    ("q-bio.QM", "Quantitative Methods (Biology)"),
]
if PAPERBOY_BOUNCE_IMAP_HOST:
    CELERY_BEAT_SCHEDULE["read-bounce-mailbox"] = {
        "task": "digest.tasks.read_bounce_mailbox",
        "schedule": crontab(minute=f"*/{PAPERBOY_BOUNCE_POLL_MINUTES}"),
    }
CELERY_BEAT_SCHEDULE["purge-unconfirmed-signups"] = {
    "task": "subscriptions.tasks.purge_unconfirmed_signups",
    "schedule": crontab(minute=40),
}
