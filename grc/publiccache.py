"""The public views (certificate check, mark-licence JSON, badge and page) cached in Redis, so the lookup every shop
visitor's badge makes is answered without PostgreSQL.

Correct first, fast second:

- a view is cached per UTC day (an active certificate past its expiry date must read "expired" the next day, C10)
  and for ``TTL`` seconds at most;
- any change to a certification body's certificates, their revisions, its mark licences or the CB itself drops
  every cached view of that CB as soon as the change commits, on every API process sharing the Redis: a suspension
  shows on the very next lookup;
- a lookup that read the database before such a change cannot store its stale view after the drop: each drop
  bumps a generation counter, and a view is stored only if the counter has not moved since the lookup began;
- Redis trouble never fails a lookup: it is logged and the view comes from the database.

In embedded mode the app's in-memory Redis (grc.jobs.redis_connection) plays the part.
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
from sqlalchemy import event
from sqlalchemy.orm import Session

from grc.db import utcnow

TTL = 300  # seconds; also the badge's Cache-Control max-age, so no copy anywhere outlives it by much
GENERATION = "grc:public:generation"
DIRTY_KEY = "public_cache_dirty"  # Session.info: CB ids whose public views the transaction changed
log = logging.getLogger(__name__)
View = TypeVar("View")


def _view_key(kind: str, key: str) -> str:
    return f"grc:public:{kind}:{utcnow().date().isoformat()}:{key}"


def _index_key(cb_id: uuid.UUID) -> str:
    """The set of a CB's cached view keys: what a change to that CB drops."""
    return f"grc:public:cb:{cb_id}"


def _redis() -> Redis:
    from grc.jobs import redis_connection

    return redis_connection(current_app)


def cached(kind: str, key: str, load: Callable[[], tuple[uuid.UUID, View] | None]) -> View | None:
    """The public view ``kind``/``key``: from the cache, else ``load()`` (the owning CB's id and the view, or None
    when there is no such thing: misses are not cached) stored for the next lookup."""
    view_key = _view_key(kind, key)
    try:
        redis = _redis()
        stored, generation = redis.mget(view_key, GENERATION)
    except RedisError as exc:
        log.warning("public cache unavailable, reading the database", extra={"error": repr(exc)})
        loaded = load()
        return loaded[1] if loaded else None
    if stored is not None:
        return pickle.loads(stored)  # written by this module only, to our own Redis (as RQ pickles its jobs)
    loaded = load()
    if loaded is None:
        return None
    cb_id, view = loaded
    _store(redis, view_key, _index_key(cb_id), view, generation)
    return view


def _store(redis: Redis, view_key: str, index_key: str, view: Any, generation: bytes | None) -> None:
    """Store ``view`` unless a change was committed since the lookup read ``generation`` (its view may predate it)."""
    try:
        with redis.pipeline() as pipe:
            pipe.watch(GENERATION)
            if pipe.get(GENERATION) != generation:
                return
            pipe.multi()
            pipe.set(view_key, pickle.dumps(view), ex=TTL)
            pipe.sadd(index_key, view_key)
            pipe.expire(index_key, TTL * 2)
            pipe.execute()
    except WatchError:
        return  # a change committed while storing: leave it to the next lookup
    except RedisError as exc:
        log.warning("public cache not written", extra={"error": repr(exc)})


def invalidate(cb_ids: Iterable[uuid.UUID]) -> None:
    """Drop every cached public view of these CBs, and stop lookups already under way from storing theirs."""
    try:
        redis = _redis()
        redis.incr(GENERATION)
        for cb_id in cb_ids:
            index_key = _index_key(cb_id)
            keys = redis.smembers(index_key)
            redis.delete(index_key, *keys)
    except RedisError as exc:  # the views lapse after TTL seconds anyway
        log.error("public cache not invalidated", extra={"error": repr(exc)})


def _public_owner(obj: object) -> uuid.UUID | None:
    """The CB whose public views ``obj`` shows in, if any."""
    from grc.certification.models import Certificate, CertificateRevision
    from grc.marks.models import MarkLicence
    from grc.tenants.models import Tenant

    if isinstance(obj, Certificate | CertificateRevision | MarkLicence):
        return obj.tenant_id
    if isinstance(obj, Tenant):
        return obj.id
    return None


@event.listens_for(Session, "after_flush")
def _note_changes(session: Session, _context: Any) -> None:
    owners = {_public_owner(obj) for obj in chain(session.new, session.dirty, session.deleted)} - {None}
    if owners:
        session.info.setdefault(DIRTY_KEY, set()).update(owners)


@event.listens_for(Session, "after_commit")
def _drop_changed(session: Session) -> None:
    """After the commit, never before: a lookup in between would store the old view again. A rolled-back change
    stays noted and costs one needless drop at the next commit, nothing worse."""
    owners = session.info.pop(DIRTY_KEY, None)
    if owners and has_app_context():
        invalidate(owners)
