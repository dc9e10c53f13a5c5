"""Tenant isolation, walked over the URL map (docs/DESIGN.md sections 2 and 5).

- ``walk.py``: the routes (read from ``app.url_map``), the callers, the calls and what each answer must be;
- ``registry.py``: what a domain registers (victims, markers, valid bodies, reviewed exceptions);
- ``victims_<domain>.py``: one domain's victims, next to the fixtures that build them; a new domain adds one;
- ``test_*.py``: which routes each test module walks (a module is one unit of xdist's ``--dist loadfile``).
"""
