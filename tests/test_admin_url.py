"""The admin (and its dashboard) live under PAPERBOY_ADMIN_URL, so a deployment can move them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).parent.parent
WHERE = "from django.urls import reverse; print(reverse('admin:index'), reverse('admin:dashboard'))"


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )


def test_the_admin_and_its_dashboard_default_to_admin():
    result = manage("shell", "--no-imports", "-c", WHERE, PAPERBOY_ADMIN_URL="")
    assert result.stdout.split() == ["/admin/", "/admin/dashboard/"], result.stderr


def test_the_admin_url_can_be_moved():
    result = manage("shell", "--no-imports", "-c", WHERE, PAPERBOY_ADMIN_URL="ops-7f3a/staff/")
    assert result.stdout.split() == ["/ops-7f3a/staff/", "/ops-7f3a/staff/dashboard/"], result.stderr


@pytest.mark.parametrize("value", ["/admin/", "admin", "ad min/", "../x/"])
def test_a_malformed_admin_url_stops_start_up(value):
    result = manage("check", PAPERBOY_ADMIN_URL=value)
    assert result.returncode != 0
    assert "ImproperlyConfigured: PAPERBOY_ADMIN_URL must be a path like staff/ or ops/admin/" in result.stderr
