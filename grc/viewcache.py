"""Read-mostly views cached in Redis: the public lookups (certificate check, mark-licence JSON, badge and page), so
the request every shop visitor's badge makes is answered without PostgreSQL, and the risk dashboards (heat map,
KPIs), which aggregate a whole register.

Each view belongs to the tenants whose rows it shows. Correct first, fast second:

- a view is cached per UTC day (an active certificate past its expiry date must read "expired" the next day, C10;
  a review is overdue from a date on) and for ``TTL`` seconds at most;
- any committed change to a row of a tenant (its own rows, and the rows about it: ``client_tenant_id``) drops
  every cached view that tenant owns, on every process sharing the Redis: a suspension shows on the very next
  lookup, a re-assessed risk on the next heat map;
- a lookup that read the database before such a change cannot store its stale view after the drop: each drop
  bumps a generation counter, and a view is stored only if the counter has not moved since the lookup began;
- Redis trouble never fails a lookup: it is logged and the view comes from the database.

In embedded mode the app's in-memory Redis (grc.redis_connection) plays the part. The three session hooks at the
end note what a transaction changed and drop it after the commit; ``grc.commit_pipeline`` installs them.
"""
from __future__ import annotations

import logging
import pickle
import uuid
from collections.abc import Callable, Iterable
from itertools import chain
from typing import Any, TypeVar

from flask import current_app, has_app_context
from redis import Redis
from redis.exceptions import RedisError, WatchError
from sqlalchemy.orm import ORMExecuteState, Session

from grc.db import utcnow
from grc.redis_connection import redis_connection
from grc.tenancy import TenantScoped

TTL = 300  # seconds; also the badge's Cache-Control max-age, so no copy anywhere outlives it by much
GENERATION = "grc:views:generation"
EVERYONE = "*"  # a bulk UPDATE or DELETE: which tenants' rows it changed is not known here
DIRTY_KEY = "views_dirty"  # Session.info: tenants whose cached views this transaction changed
log = logging.getLogger(__name__)
View = TypeVar("View")
RedisValue = bytes | str | None  # a GET as redis-py types it (str only for a connection decoding its answers)


def _view_key(kind: str, key: str) -> str:
    return f"grc:views:{kind}:{utcnow().date().isoformat()}:{key}"


def _index_key(tenant_id: uuid.UUID | str) -> str:
    """The set of the cached view keys a tenant owns: what a change to its rows drops."""
    return f"grc:views:owner:{tenant_id}"


def _redis() -> Redis:
    return redis_connection(current_app)


def cached(kind: str, key: str, load: Callable[[], tuple[Iterable[uuid.UUID], View] | None]) -> View | None:
    """The view ``kind``/``key``: from the cache, else ``load()`` (the tenants owning the view and the view, or None
    when there is no such thing: misses are not cached) stored for the next lookup."""
    view_key = _view_key(kind, key)
    try:
        redis = _redis()
        stored, generation = redis.mget(view_key, GENERATION)
    except RedisError as exc:
        log.warning("view cache unavailable, reading the database", extra={"error": repr(exc)})
        loaded = load()
        return loaded[1] if loaded else None
    if isinstance(stored, bytes):  # None when not cached (the connection never decodes answers into str)
        view: View = pickle.loads(stored)  # written by this module only, to our own Redis (as RQ pickles its jobs)
        return view
    loaded = load()
    if loaded is None:
        return None
    owners, view = loaded
    _store(redis, view_key, [_index_key(owner) for owner in owners], view, generation)
    return view


def _store(redis: Redis, view_key: str, index_keys: list[str], view: Any, generation: RedisValue) -> None:
    """Store ``view`` unless a change was committed since the lookup read ``generation`` (its view may predate it)."""
    try:
        with redis.pipeline() as pipe:
            pipe.watch(GENERATION)  # type: ignore[no-untyped-call]  # redis-py leaves Pipeline.watch unannotated
            if pipe.get(GENERATION) != generation:
                return
            pipe.multi()
            pipe.set(view_key, pickle.dumps(view), ex=TTL)
            for index_key in index_keys:
                pipe.sadd(index_key, view_key)
                pipe.expire(index_key, TTL * 2)
            pipe.execute()
    except WatchError:
        return  # a change committed while storing: leave it to the next lookup
    except RedisError as exc:
        log.warning("view cache not written", extra={"error": repr(exc)})


def invalidate(tenant_ids: Iterable[uuid.UUID | str]) -> None:
    """Drop every cached view these tenants own (``EVERYONE``: all of them), and stop lookups already under way
    from storing theirs."""
    try:
        redis = _redis()
        owners = set(tenant_ids)
        if EVERYONE in owners:
            redis.incr(GENERATION)
            index_keys = list(redis.scan_iter(match=_index_key(EVERYONE), count=1000))
        else:
            index_keys = [_index_key(owner) for owner in owners]
        _drop_views(redis, index_keys, bump=EVERYONE not in owners)
    except RedisError as exc:  # the views lapse after TTL seconds anyway
        log.error("view cache not invalidated", extra={"error": repr(exc)})


def _drop_views(redis: Redis, index_keys: list[str], *, bump: bool) -> None:
    """Two round trips whatever the number of owners: bump the generation and read the indexes, then delete the
    views read. Only those leave their index: a view stored meanwhile (after the bump, so current) stays indexed."""
    with redis.pipeline(transaction=False) as pipe:
        if bump:
            pipe.incr(GENERATION)
        for index_key in index_keys:
            pipe.smembers(index_key)
        found = pipe.execute()[1 if bump else 0:]
    with redis.pipeline(transaction=False) as pipe:
        for index_key, views in zip(index_keys, found, strict=True):
            if views:
                pipe.delete(*views)
                pipe.srem(index_key, *views)
        pipe.execute()


def _owners(obj: object) -> set[uuid.UUID]:
    """The tenants whose views ``obj`` may show in: the tenant itself (a class marked ``__owns_views__``), a row's
    owner and the tenant it is about."""
    if getattr(type(obj), "__owns_views__", False):
        return {obj.id}  # type: ignore[attr-defined]
    return {owner for owner in (getattr(obj, "tenant_id", None), getattr(obj, "client_tenant_id", None)) if owner}


def note_bulk_changes(state: ORMExecuteState) -> None:
    """``session.execute(update(...))`` changes rows no flush sees: every cached view goes (they are rare)."""
    mapper = state.bind_mapper
    if (state.is_update or state.is_delete) and mapper is not None and issubclass(mapper.class_, TenantScoped) \
            and getattr(mapper.class_, "__in_views__", True):
        state.session.info.setdefault(DIRTY_KEY, set()).add(EVERYONE)


def note_changes(session: Session, _context: Any) -> None:
    """The tenants whose rows this flush wrote."""
    owners = set().union(*(_owners(obj) for obj in chain(session.new, session.dirty, session.deleted)))
    if owners:
        session.info.setdefault(DIRTY_KEY, set()).update(owners)


def drop_changed(session: Session) -> None:
    """After the commit, never before: a lookup in between would store the old view again. A rolled-back change
    stays noted and costs one needless drop at the next commit, nothing worse."""
    owners = session.info.pop(DIRTY_KEY, None)
    if owners and has_app_context():
        invalidate(owners)
