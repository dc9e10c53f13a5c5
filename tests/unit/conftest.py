"""tests/unit/: the rules that need no database, no Redis and no app server, in a few seconds.

Run alone (``pytest tests/unit``), the session starts no server: tests/conftest.py skips them when every path
asked for lies here. The ``app`` fixture is replaced by one that fails, so no test here quietly reaches a
database (``client``, ``world`` and ``live_server`` all need ``app``); such a test belongs in tests/.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask, g

from grc import tenancy


@pytest.fixture
def app() -> Flask:
    pytest.fail("tests/unit needs no app and no database: a test that does belongs in tests/, not tests/unit/")


@pytest.fixture
def acting() -> Iterator[object]:
    """``acting(principal)``: make ``principal`` the caller, in an application context of a bare Flask app (no
    database, no extensions: ``tenancy.current()`` reads the caller from ``flask.g``)."""
    with Flask("unit").app_context():

        def act(principal: tenancy.Principal) -> None:
            g.principal = principal

        yield act
