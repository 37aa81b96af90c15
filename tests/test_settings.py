"""Settings come from the environment; bad values stop start-up with a clear message."""

from __future__ import annotations

import os
import subprocess
import sys
import time
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


# --- Persistent database connections (issue 15, probe 8) ----------------------------------

CONN_MAX_AGE_OF = (
    "import sys; sys.argv = {argv!r}; import django, os; "
    "os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings'; django.setup(); "
    "from django.conf import settings; print(settings.DATABASES['default']['CONN_MAX_AGE'])"
)


@pytest.mark.parametrize(
    ("argv", "max_age"),
    [
        (["manage.py", "runserver"], "0"),
        (["manage.py", "migrate"], "0"),
        ([str(PROJECT / ".venv/bin/pytest")], "0"),
        ([str(PROJECT / ".venv/bin/gunicorn"), "config.wsgi"], "60"),
        ([str(PROJECT / ".venv/bin/celery"), "-A", "config", "worker"], "60"),
        (["/usr/lib/python3/site-packages/celery/__main__.py", "-A", "config", "worker"], "60"),
    ],
)
def test_connections_persist_only_under_gunicorn_and_celery(argv, max_age):
    unset = {"DATABASE_URL", "DATABASE_CONN_MAX_AGE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in unset}
    result = subprocess.run(
        [sys.executable, "-c", CONN_MAX_AGE_OF.format(argv=argv)], cwd=PROJECT, env=env, capture_output=True, text=True
    )

    assert result.stdout.strip() == max_age, result.stderr
    explicit = subprocess.run(
        [sys.executable, "-c", CONN_MAX_AGE_OF.format(argv=argv)],
        cwd=PROJECT,
        env={**env, "DATABASE_CONN_MAX_AGE": "30"},
        capture_output=True,
        text=True,
    )
    assert explicit.stdout.strip() == "30"  # the variable, when set, always wins


def test_the_tests_themselves_keep_no_connection(settings):
    assert settings.DATABASES["default"]["CONN_MAX_AGE"] == 0


@pytest.mark.django_db(transaction=True)
def test_runserver_keeps_no_idle_postgresql_connections():
    """The probe: requests to a real `runserver` on PostgreSQL leave no connection behind."""
    from django.db import connection

    from tests.conftest import database_url_of_test_db, free_port, wait_until

    if connection.vendor != "postgresql":
        pytest.skip("counts PostgreSQL's connections")
    import urllib.request

    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_CONN_MAX_AGE", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    # Named, so only its own connections are counted, not those other tests may have left.
    env["DATABASE_URL"] = database_url_of_test_db() + "?application_name=paperboy-runserver-probe"
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def others() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'paperboy-runserver-probe'")
            return cursor.fetchone()[0]

    def answers(url: str) -> bool:
        try:
            return urllib.request.urlopen(url, timeout=5).status == 200
        except OSError:
            return False

    try:
        url = f"http://127.0.0.1:{port}/healthz?check=database"
        wait_until(lambda: answers(url), 60, "runserver")
        for _ in range(20):
            urllib.request.urlopen(url, timeout=5).read()
        time.sleep(0.5)
        assert others() == 0
    finally:
        server.terminate()
        server.wait(20)
