"""The database side of a load: connecting as psycopg wants, refusing a role that cannot ``COPY`` into tables
under row-level security or a database with data in it, and taking the loaded tables' indexes and constraints
off for the load and building them back after it, as pg_restore does."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from bench.dataset.loader import LOADED, TableStats


def libpq_url(database_url: str) -> str:
    """A SQLAlchemy URL (``postgresql+psycopg://...``) as psycopg wants it; a libpq URL passes unchanged."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def check_role(conn: psycopg.Connection[Any]) -> None:
    """PostgreSQL refuses COPY FROM into a table under row-level security, which every tenant table is (FORCE
    included, so the owner too): only a superuser or a BYPASSRLS role may seed."""
    if not conn.execute("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user").fetchone()[0]:
        raise PermissionError("seed as a superuser or a BYPASSRLS role: COPY does not run under row-level security")


@dataclass(frozen=True)
class Deferred:
    """A table's index or constraint, dropped for the load and built again after it."""

    table: str
    name: str
    kind: str  # "f" foreign key, "p"/"u" primary key/unique constraint, "i" plain index
    definition: str

    def drop(self) -> str:
        if self.kind == "i":
            return f"DROP INDEX {self.name}"
        return f"ALTER TABLE {self.table} DROP CONSTRAINT {self.name}"

    def create(self) -> str:
        return self.definition if self.kind == "i" else \
            f"ALTER TABLE {self.table} ADD CONSTRAINT {self.name} {self.definition}"


DEFERRED_QUERY = """
SELECT conrelid::regclass::text, conname, contype::text, pg_get_constraintdef(oid) FROM pg_constraint
 WHERE contype IN ('p', 'u', 'f') AND (conrelid::regclass::text = ANY(%(tables)s)
       OR (contype = 'f' AND confrelid::regclass::text = ANY(%(tables)s)))
UNION ALL
SELECT indrelid::regclass::text, indexrelid::regclass::text, 'i', pg_get_indexdef(indexrelid) FROM pg_index
 WHERE indrelid::regclass::text = ANY(%(tables)s)
   AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conindid = indexrelid)
"""
BUILD_ORDER = {"p": 0, "u": 1, "i": 2, "f": 3}  # keys first, foreign keys last (they need the keys they name)


def defer_constraints(conn: psycopg.Connection[Any], tables: list[str]) -> list[Deferred]:
    """Drop the loaded tables' indexes, keys and foreign keys, as pg_restore loads data before building them: a
    bulk build is several times faster than maintaining them row by row, and every constraint is still checked
    on all the rows when ``restore_constraints`` adds it back, in this same transaction."""
    deferred = [Deferred(*row) for row in conn.execute(DEFERRED_QUERY, {"tables": tables})]
    for item in sorted(deferred, key=lambda d: -BUILD_ORDER[d.kind]):
        conn.execute(item.drop())
    return deferred


def restore_constraints(conn: psycopg.Connection[Any], deferred: list[Deferred], stats: dict[str, TableStats]) -> None:
    """Build every index and key again and check every constraint on all the rows, timed per table; a violation
    fails the transaction, so nothing that breaks a constraint is ever committed."""
    conn.execute("SET LOCAL maintenance_work_mem = '1GB'")
    for item in sorted(deferred, key=lambda d: BUILD_ORDER[d.kind]):
        start = time.perf_counter()
        conn.execute(item.create())
        stats[item.table].build_seconds += time.perf_counter() - start


def prepare_tables(conn: psycopg.Connection[Any]) -> list[Deferred]:
    """Refuse a database with data in it; defer its indexes and constraints; truncate the (empty) tables: a table
    truncated in the loading transaction takes ``COPY FREEZE``, whose rows are written frozen and all-visible, so
    the ``VACUUM`` after the load has nothing to rewrite and the first reads set no hint bits."""
    filled = [name for name in LOADED if conn.execute(f"SELECT EXISTS (SELECT 1 FROM {name})").fetchone()[0]]
    if filled:
        raise ValueError(f"the data set goes into a freshly migrated database; these tables have rows: {filled}")
    deferred = defer_constraints(conn, list(LOADED))
    conn.execute(f"TRUNCATE {', '.join(LOADED)}")
    return deferred
