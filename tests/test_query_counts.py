"""Moved: the statement counts are the package tests/query_counts/ (walk.py, growers_<domain>.py).

Only ``recorded_statements`` is re-exported here, because tests/test_view_cache.py imports it from this module;
once that import names ``tests.query_counts.counting``, this file can go.
"""
from tests.query_counts.counting import recorded_statements

__all__ = ["recorded_statements"]
