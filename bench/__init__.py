"""Benchmarks whose figures go in docs/performance.md."""
