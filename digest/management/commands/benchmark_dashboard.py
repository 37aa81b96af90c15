"""manage.py benchmark_dashboard: see digest/devtools/benchmarks/dashboard.py."""

from digest.devtools.benchmarks.dashboard import DashboardBenchmark as Command

__all__ = ["Command"]
