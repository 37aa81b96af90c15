"""manage.py benchmark_render: the figures it prints, and premailer calls that do not grow with subscribers."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from digest.models import Edition, Paper

pytestmark = pytest.mark.django_db


def benchmark(*args: str) -> str:
    out = io.StringIO()
    call_command("benchmark_render", *args, stdout=out)
    return out.getvalue()


def test_premailer_calls_stay_the_same_for_ten_times_the_subscribers():
    small = benchmark("--subscribers", "30")
    large = benchmark("--subscribers", "300")

    calls = [int(re.search(r"premailer calls: (\d+) in all", out).group(1)) for out in (small, large)]
    assert calls[0] == calls[1] > 0
    assert calls[1] < 30  # a batch per email that brings new papers, not one per email
    assert re.search(r"render time per email: \d+\.\d{3} ms over all 300 \(inlining included\), \d+\.\d{3} ms", large)
    assert re.search(r"average HTML size: \d+\.\d KB", large)
    assert "using the bundled sample day (2026-05-13)" in large
    assert not Edition.objects.exists() and not Paper.objects.exists()  # nothing is kept


def test_benchmark_refuses_nonsense_sizes():
    with pytest.raises(CommandError, match="at least 1"):
        benchmark("--subscribers", "0")
