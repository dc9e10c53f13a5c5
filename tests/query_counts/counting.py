"""Counting the SQL statements of one request.

Statements are counted with SQLAlchemy's ``before_cursor_execute`` on the app's engine. The per-transaction
preamble is left out: PostgreSQL's ``grc_enter_scope`` (row-level security, grc/tenancy.py) and SQLite's ``BEGIN
IMMEDIATE`` (grc/db.py) open every transaction whatever it reads, so counts stay comparable between backends.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event
from werkzeug.test import TestResponse

from grc.redis_connection import redis_connection
from tests.conftest import request_engine
from tests.query_counts.scene import Read
from tests.world import World

PREAMBLE = re.compile(r"\s*(SELECT grc_enter_scope\(|BEGIN)", re.IGNORECASE)
OFFSET = re.compile(r"\bOFFSET\b", re.IGNORECASE)


@dataclass(frozen=True)
class Statement:
    sql: str
    parameters: Any

    def offsets(self) -> bool:
        """Pages with OFFSET. SQLite's dialect writes ``LIMIT ? OFFSET ?`` after every LIMIT and binds 0 when no
        offset was asked for, so there only a non-zero offset counts."""
        if not OFFSET.search(self.sql):
            return False
        padded = self.sql.rstrip().endswith("OFFSET ?") and bool(self.parameters) and self.parameters[-1] == 0
        return not padded


@contextmanager
def recorded_statements(app: Flask) -> Iterator[list[Statement]]:
    """The SQL the app's engine sends while the block runs, minus the per-transaction preamble."""
    engine = request_engine(app)
    seen: list[Statement] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        if not PREAMBLE.match(statement):
            seen.append(Statement(statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def measured(client: FlaskClient, world: World, read: Read) -> tuple[TestResponse, list[Statement]]:
    """The answer and the statements of exactly one request (the token is minted before counting starts), with no
    view cached (grc.viewcache): a cached view's later lookups add a read of its owners' versions, so the 3-row and
    the 25-row request must find the cache in the same state to be compared."""
    headers = world.headers(read.caller) if read.caller else {}
    redis = redis_connection(world.app)
    for key in redis.scan_iter("grc:views:*"):
        redis.delete(key)
    with recorded_statements(world.app) as statements:
        response = client.get(read.url, headers=headers)
    assert response.status_code == 200, f"{read.url}: {response.status_code} {response.get_data(as_text=True)[:300]}"
    return response, statements


def listing(statements: list[Statement]) -> str:
    return "\n".join(f"  {n + 1}. {' '.join(s.sql.split())[:220]}" for n, s in enumerate(statements))
