"""Benchmarks of kafka-access: `python -m bench.run` (see docs/benchmarks.md)."""
