"""manage.py benchmark_matching: see digest/devtools/benchmarks/matching.py."""

from digest.devtools.benchmarks.matching import MatchingBenchmark as Command

__all__ = ["Command"]
