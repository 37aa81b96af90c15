"""manage.py benchmark_first_load: see digest/devtools/benchmarks/first_load.py."""

from digest.devtools.benchmarks.first_load import FirstLoadBenchmark as Command

__all__ = ["Command"]
