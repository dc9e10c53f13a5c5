"""Benchmarks: measured claims about the code's cost (see docs/BENCHMARKS.md), runnable with ``python -m``."""
