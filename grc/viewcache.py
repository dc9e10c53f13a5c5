"""Read-mostly views cached in Redis: the public lookups (certificate check, mark-licence JSON, badge and page), so
the request every shop visitor's badge makes skips the queries that build its answer, and the risk dashboards (heat
map, KPIs), which aggregate a whole register.

Correct first, cheap second. Redis is a copy that may be stale in ways no process can see: a write committed while
Redis was unreachable could not drop its views, a process may die between its commit and its drop, and a Redis
that comes back (persisted, or only cut off for a while) serves what it held before. So Redis is never asked
whether a view is fresh; PostgreSQL, the source of truth, is:

- each view belongs to the tenants whose rows it shows (its owners). A transaction that changes rows of a tenant
  (its own rows, and the rows about it: ``client_tenant_id``) bumps that tenant's row of ``view_versions`` inside
  the transaction, just before it commits: the version moves exactly when the change commits, for every process;
- a cached view carries its owners' versions as read *before* the view was loaded. A lookup reads their current
  versions (one primary-key read) and serves the cached view only if none has moved since; otherwise it loads the
  view again. A lookup that loaded before a change and stores after it stores the versions from before the
  change, which the next lookup finds moved;
- a first lookup learns who owns a view only by loading it, too late to have read their versions first: it
  stores the owners alone, and the next lookup reads their versions, then loads and stores the view. A view is
  served from the cache from its third lookup on;
- a bulk ``UPDATE`` or ``DELETE`` does not say whose rows it changed: it bumps ``EVERYONE``, which every lookup
  reads with the owners;
- a view is cached per UTC day (an active certificate past its expiry date must read "expired" the next day,
  C10; a review is overdue from a date on) and for ``TTL`` seconds at most;
- Redis trouble never fails a lookup: it is logged and the view comes from the database. Freshness comes from
  the database too: a lookup that cannot read the versions fails with the database (503), never answers from
  the cache unchecked.

Why not empty the cache when the connection comes back (the other way out of a Redis outage): a process knows
of its own failed drop, not of another process's, nor of one that died before its drop; for every process to know,
the failures would have to be recorded somewhere shared that outlives them, which is the database again, and the
emptying would have to finish before any process reads Redis again. The version read costs one indexed statement
per cached lookup (docs/BENCHMARKS.md) and lets a Redis that lost every drop still serve correct views.

The embedded mode's in-memory Redis (grc.redis_connection) plays Redis's part. The session hooks at the end note
which tenants' views a transaction changes and bump their versions before it commits; ``grc.commit_pipeline``
installs them.
"""
from __future__ import annotations

import logging
import pickle
import uuid
from collections.abc import Callable, Iterable
from itertools import chain
from typing import Any, TypeVar

from flask import current_app
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import BigInteger, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column

from grc.db import Base, utcnow
from grc.redis_connection import redis_connection
from grc.tenancy import TenantScoped

TTL = 300  # seconds; also the badge's Cache-Control max-age, so no copy anywhere outlives it by much
EVERYONE = uuid.UUID(int=0)  # the version a bulk UPDATE or DELETE bumps: whose rows it changed is not known here
DIRTY_KEY = "views_dirty"  # Session.info: tenants whose cached views this transaction changed
log = logging.getLogger(__name__)
View = TypeVar("View")
Versions = dict[uuid.UUID, int]  # owner -> version; an owner without a row has never been changed


class ViewVersion(Base):
    """How many committed transactions changed rows shown in the views of ``owner`` (a tenant, or EVERYONE).

    Not tenant-scoped nor under row-level security: a change about a client bumps the client's version from the
    CB's scope, and a public lookup reads versions without a tenant. It holds counters, nothing of the rows."""

    __tablename__ = "view_versions"
    __audit__ = False

    owner: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)


def _view_key(kind: str, key: str) -> str:
    return f"grc:views:v2:{kind}:{utcnow().date().isoformat()}:{key}"  # v2: entries carry owners and versions


def _redis() -> Redis:
    return redis_connection(current_app)


def cached(session: Session, kind: str, key: str,
           load: Callable[[], tuple[Iterable[uuid.UUID], View] | None]) -> View | None:
    """The view ``kind``/``key``: from the cache if its owners' versions have not moved since it was loaded, else
    ``load()`` (the tenants owning the view and the view, or None when there is no such thing: misses are not
    cached), stored for the next lookup with the versions read before loading it."""
    view_key = _view_key(kind, key)
    try:
        redis = _redis()
        stored = redis.get(view_key)
    except RedisError as exc:
        log.warning("view cache unavailable, reading the database", extra={"error": repr(exc)})
        loaded = load()
        return loaded[1] if loaded else None
    owners: frozenset[uuid.UUID] | None = None
    versions: Versions | None = None
    if isinstance(stored, bytes):  # None when not cached (the connection never decodes answers into str)
        # written by this module only, to our own Redis (as RQ pickles its jobs)
        owners, cached_versions, view = pickle.loads(stored)
        versions = _versions(session, owners)
        if cached_versions == versions:
            return view  # type: ignore[no-any-return]  # what load() returned for this kind and key
    loaded = load()
    if loaded is None:
        return None
    loaded_owners, view = frozenset(loaded[0]), loaded[1]
    # A first lookup (or a key that changed hands) read no versions of these owners before loading: owners alone.
    checked = loaded_owners == owners
    _store(redis, view_key, (loaded_owners, versions if checked else None, view if checked else None))
    return view


def _versions(session: Session, owners: Iterable[uuid.UUID]) -> Versions:
    """The current versions of ``owners`` and of EVERYONE. On PostgreSQL on a pooled connection in autocommit: one
    statement, no transaction to begin, set up for row-level security (the table has none) and commit, which cost
    the session three more round trips and its commit hooks when the view is then served from the cache. Every
    statement the session sends afterwards (a load) sees every change this read saw. SQLite (embedded) reads in
    the session's own transaction: a second connection would queue behind its write lock."""
    statement = select(ViewVersion.owner, ViewVersion.version).where(ViewVersion.owner.in_([*owners, EVERYONE]))
    engine = session.get_bind().engine
    if engine.dialect.name != "postgresql":
        return dict(session.execute(statement).all())
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        return dict(connection.execute(statement).all())


def _store(redis: Redis, view_key: str, entry: tuple[frozenset[uuid.UUID], Versions | None, Any]) -> None:
    try:
        redis.set(view_key, pickle.dumps(entry), ex=TTL)
    except RedisError as exc:
        log.warning("view cache not written", extra={"error": repr(exc)})


def _owners(obj: object) -> set[uuid.UUID]:
    """The tenants whose views ``obj`` may show in: the tenant itself (a class marked ``__owns_views__``), a row's
    owner and the tenant it is about; none for bookkeeping no view shows (``__in_views__ = False``: the outbox,
    notifications and deliveries the worker writes after every change, audit events, idempotency records)."""
    if not getattr(type(obj), "__in_views__", True):
        return set()
    if getattr(type(obj), "__owns_views__", False):
        return {obj.id}  # type: ignore[attr-defined]
    return {owner for owner in (getattr(obj, "tenant_id", None), getattr(obj, "client_tenant_id", None)) if owner}


def note_bulk_changes(state: ORMExecuteState) -> None:
    """``session.execute(update(...))`` changes rows no flush sees: every cached view goes (they are rare)."""
    mapper = state.bind_mapper
    if (state.is_update or state.is_delete) and mapper is not None and issubclass(mapper.class_, TenantScoped) \
            and getattr(mapper.class_, "__in_views__", True):
        note_everything_changed(state.session)


def note_everything_changed(session: Session) -> None:
    """Every cached view is stale from this transaction's commit on: for changes that do not say whose rows they
    touched (a bulk statement, emptying the demo database)."""
    session.info.setdefault(DIRTY_KEY, set()).add(EVERYONE)


def note_changes(session: Session, _context: Any) -> None:
    """The tenants whose rows this flush wrote."""
    owners = set().union(*(_owners(obj) for obj in chain(session.new, session.dirty, session.deleted)))
    if owners:
        session.info.setdefault(DIRTY_KEY, set()).update(owners)


def bump_versions(session: Session) -> None:
    """Inside the transaction, as it commits: the versions move if and only if the changes commit, whatever
    Redis or this process do next. Runs after the audit chain, so the row locks are held for the commit only,
    taken in a fixed order (no deadlock between two writers). A rolled-back change stays noted and costs one
    needless bump at the next commit, nothing worse."""
    session.flush()  # the commit's last rows (the audit links) are noted too
    owners = session.info.pop(DIRTY_KEY, None)
    if not owners:
        return
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(ViewVersion).values([{"owner": owner, "version": 1} for owner in sorted(owners)])
    session.execute(statement.on_conflict_do_update(index_elements=[ViewVersion.owner],
                                                    set_={"version": ViewVersion.version + 1}))
