"""Settings come from the environment; bad values stop start-up with a clear message."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).parent.parent
PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "x7#k2!pq9w-production-like-secret-key-with-enough-length-and-variety-42",
    "SITE_URL": "https://paperboy.example.org",
    "DATABASE_URL": "postgres://paperboy@127.0.0.1:5432/paperboy",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    # DJANGO_ALLOW_ASYNC_UNSAFE: set by the browser fixture for this process only.
    unset = {"DATABASE_URL", "REDIS_URL", "DJANGO_DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    clean = {k: v for k, v in os.environ.items() if k not in unset}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=PROJECT, env={**clean, **env}, capture_output=True, text=True
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DJANGO_DEBUG", "maybe"),
        ("EMAIL_PORT", "twenty-five"),
        ("DATABASE_URL", "notadatabase://x"),
        ("SITE_URL", "paperboy.example.org"),
        ("REDIS_URL", "http://127.0.0.1:6379"),
        ("PAPERBOY_MATCH_THRESHOLD", "high"),
        ("PAPERBOY_INGEST_HOUR_UTC", "25"),
        ("PAPERBOY_BATCH_SIZE", "0"),
        ("SITE_URL", "https:paperboy"),
        ("LOG_LEVEL", "LOUD"),
        ("EMAIL_USE_SSL", "true"),  # with EMAIL_USE_TLS below
        ("CELERY_BROKER_URL", "paperboy"),
        ("PAPERBOY_PLAN_EVERY_MINUTES", "7"),
        ("PAPERBOY_SEND_RATE", "-1"),
        ("PAPERBOY_SENDING_STALE_SECONDS", "10"),  # not longer than the send time limit
    ],
)
def test_a_malformed_variable_is_named_in_a_clear_error(name, value):
    result = manage("check", **{name: value, "EMAIL_USE_TLS": "true" if name == "EMAIL_USE_SSL" else "false"})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and name in result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    result = manage("check", **{**PRODUCTION, "DJANGO_SECRET_KEY": ""})
    assert result.returncode != 0 and "DJANGO_SECRET_KEY must be set" in result.stderr


def test_production_requires_an_https_site_url_for_unsubscribe_links():
    result = manage("check", **{**PRODUCTION, "SITE_URL": "http://paperboy.example.org"})
    assert result.returncode != 0 and "SITE_URL must start with https://" in result.stderr


def test_check_deploy_is_clean_with_production_values():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_defaults_work_on_a_fresh_checkout():
    result = manage("check")
    assert result.returncode == 0, result.stderr


def test_a_visibility_timeout_shorter_than_a_send_task_is_refused():
    # Redis would hand a still-running send task to a second worker.
    result = manage("check", REDIS_URL="redis://127.0.0.1:6379/0", CELERY_VISIBILITY_TIMEOUT="600")
    assert result.returncode != 0
    assert "CELERY_VISIBILITY_TIMEOUT must be longer than PAPERBOY_SEND_TIME_LIMIT" in result.stderr
