"""Statements per request (issue 7): no N+1, no OFFSET, no per-row Python over a table.

- ``walk.py``: which routes are lists (read from ``app.url_map``) and what their statement counts must be;
- ``counting.py``: how the statements of one request are counted;
- ``scene.py`` and ``registry.py``: what a grower is and how a domain registers one;
- ``growers_<domain>.py``: one domain's growers (the rows that make its lists long), next to its fixtures; a new
  domain adds one;
- ``test_*.py``: which lists and reads each test module measures (a module is one unit of ``--dist loadfile``).
"""
