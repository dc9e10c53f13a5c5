"""The fast unit layer: rules checked without a database, Redis or an app server (see conftest.py)."""
