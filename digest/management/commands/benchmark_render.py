"""manage.py benchmark_render: see digest/devtools/benchmarks/render.py."""

from digest.devtools.benchmarks.render import RenderBenchmark as Command

__all__ = ["Command"]
