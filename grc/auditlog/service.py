"""Writing and checking the audit trail (A1).

Events are written by a ``before_flush`` hook (``record_changes``) for every row that changes, so no service can
forget one: the action is ``<entity>.created|updated|deleted`` unless the service named the transition with
``name_action`` (``certificate.suspended``). Each tenant's events form a hash chain; the chain head row
is locked (``SELECT ... FOR UPDATE``) while appending, and ``(tenant_id, seq)`` is unique, so concurrent
writers queue instead of forking the chain. The tables are append-only (database triggers).

The events of a transaction are noted at each flush and chained at its commit: the head stays locked for the
commit's last flush only, not for the whole request, so writers of one tenant queue for milliseconds. Inside a
savepoint they are chained at once, so a savepoint rolled back takes its events with it.
"""
from __future__ import annotations

import enum
import hashlib
import json
import re
import uuid
from datetime import date, datetime
from typing import Any

from flask import g, has_app_context
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from grc import tenancy
from grc.audit_notes import ACTIONS_KEY, take_notes
from grc.auditlog.models import AuditChainHead, AuditEvent
from grc.db import Base, new_id, utcnow
from grc.tenancy import TENANT_KEY, TenantScoped, system_scope
from grc.tenants.models import Tenant

GENESIS = "0" * 64
HASH_VERSION = 2  # the format new events are hashed in; older events keep theirs (``chain_hash``)
HASH_VERSIONS = (1, 2)
PENDING_KEY = "audit_pending"  # Session.info: events noted by this transaction's flushes, chained at its commit
VERIFY_BATCH = 1000


def entity_name(cls: type) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()


# --------------------------------------------------------------------------- writing


def record_changes(session: Session, _ctx: Any, _instances: Any) -> None:
    """Note an event for every audited row this flush writes (inside a savepoint: chain it at once)."""
    pending: list[tuple[uuid.UUID, str, Base, dict[str, Any]]] = []
    for verb, objects in (("created", session.new), ("updated", session.dirty), ("deleted", session.deleted)):
        for obj in list(objects):
            if not isinstance(obj, Base) or not getattr(type(obj), "__audit__", True):
                continue
            if getattr(obj, "id", True) is None:
                obj.id = new_id()  # type: ignore[attr-defined]
            changes = _changes(obj, verb)
            if verb == "updated" and not changes:
                continue
            action = session.info.get(ACTIONS_KEY, {}).pop(id(obj), f"{entity_name(type(obj))}.{verb}")
            pending.append((_chain_of(session, obj), action, obj, changes))
    if not pending:
        return
    if session.in_nested_transaction():
        with session.no_autoflush:
            _append(session, pending)
    else:
        session.info.setdefault(PENDING_KEY, []).extend(pending)


def chain_at_commit(session: Session) -> None:
    """Flush what is left (its events are noted too), then chain the transaction's events; commit flushes them."""
    session.flush()
    pending = session.info.pop(PENDING_KEY, [])
    pending += [(_chain_of(session, entity), action, entity, _plain(details))
                for action, entity, details in take_notes(session)]
    if not pending:
        return
    with session.no_autoflush:
        if {chain for chain, *_ in pending} <= {session.info.get(TENANT_KEY)}:
            _append(session, pending)
            return
        # Events of other tenants' chains were allowed when their changes were flushed (system scope, a
        # tenant the service was let write to); that scope may be over by now.
        with system_scope(session):
            _append(session, pending)
            session.flush()


def forget_pending(session: Session) -> None:
    """The changes are gone, and so are their events (a savepoint's rollback ends only the savepoint)."""
    if not session.in_nested_transaction():
        session.info.pop(PENDING_KEY, None)
        take_notes(session)


def _chain_of(session: Session, obj: Base) -> uuid.UUID:
    if isinstance(obj, Tenant):
        return obj.id
    if isinstance(obj, TenantScoped) and obj.tenant_id is not None:
        return obj.tenant_id
    principal: tenancy.Principal | None = g.get("principal") if has_app_context() else None
    if principal is None:
        raise RuntimeError(f"no tenant chain for a change to {type(obj).__name__}")
    return principal.tenant_id


def _changes(obj: Base, verb: str) -> dict[str, Any]:
    state = inspect(obj)
    result: dict[str, Any] = {}
    for attr in state.mapper.column_attrs:
        column = attr.columns[0]
        marker = column.info.get("audit")
        if marker == "omit":
            continue
        secret = marker == "redact"
        history = state.attrs[attr.key].history
        if verb == "updated":
            if not history.has_changes():
                continue
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
            result[attr.key] = "[changed]" if secret else [_plain(old), _plain(new)]
        else:
            value = getattr(obj, attr.key)
            result[attr.key] = "[set]" if secret and value else _plain(value)
    return result


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _append(session: Session, pending: list[tuple[uuid.UUID, str, Base, dict[str, Any]]]) -> None:
    actor_type, actor_id = tenancy.actor(session)
    request_id = g.get("request_id") if has_app_context() else None
    heads: dict[uuid.UUID, AuditChainHead] = {}
    for tenant_id in sorted({p[0] for p in pending}):  # a fixed lock order: no deadlock between chains
        heads[tenant_id] = _lock_head(session, tenant_id)
    now = utcnow()
    for tenant_id, action, obj, changes in pending:
        head = heads[tenant_id]
        link = AuditEvent(
            id=new_id(),
            tenant_id=tenant_id,
            seq=head.last_seq + 1,
            occurred_at=now,
            actor_type=actor_type,
            actor_id=actor_id,
            action=action,
            entity_type=entity_name(type(obj)),
            entity_id=obj.id,  # type: ignore[attr-defined]
            changes=changes,
            request_id=request_id,
            prev_hash=head.last_hash,
            hash_version=HASH_VERSION,
        )
        link.hash = event_hash(link)
        head.last_seq, head.last_hash = link.seq, link.hash
        session.add(link)


def _lock_head(session: Session, tenant_id: uuid.UUID) -> AuditChainHead:
    # Chain heads are neither tenant-scoped nor under row-level security: no scope to enter (two round trips).
    # populate_existing: the row as the lock returns it, even if an earlier transaction of this session loaded it.
    head = session.scalars(
        select(AuditChainHead).where(AuditChainHead.tenant_id == tenant_id).with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    if head is None:  # only for a tenant created in this very transaction: nobody else can race it
        head = AuditChainHead(tenant_id=tenant_id, last_seq=0, last_hash=GENESIS)
        session.add(head)
    return head


def event_hash(link: AuditEvent) -> str:
    """The hash of a stored event, in the format it says it was written in."""
    return chain_hash(hash_version=link.hash_version, event_id=link.id, tenant_id=link.tenant_id, seq=link.seq,
                      occurred_at=link.occurred_at, actor_type=link.actor_type, actor_id=link.actor_id,
                      action=link.action, entity_type=link.entity_type, entity_id=link.entity_id,
                      changes=link.changes, request_id=link.request_id, prev_hash=link.prev_hash)


def chain_hash(*, hash_version: int = HASH_VERSION, event_id: uuid.UUID | str, tenant_id: uuid.UUID | str, seq: int,
               occurred_at: datetime, actor_type: str, actor_id: uuid.UUID | str | None, action: str,
               entity_type: str, entity_id: uuid.UUID | str, changes: dict[str, Any], request_id: str | None,
               prev_hash: str) -> str:
    """The hash of one link: SHA-256 over its canonical JSON (sorted keys, no spaces, UTF-8). The one definition
    of the chain's format: the app appends with it, ``verify_chain`` checks with it, the benchmark data set
    (bench/) writes its chains with it.

    Format 1 (events written before formats were numbered) left the event's own id and its request id out, so
    either could be changed unnoticed. Format 2 covers every column of the event but the hash itself: the
    version, the id and the request id too. A stored event is checked in its own format, so old chains verify."""
    if hash_version not in HASH_VERSIONS:
        raise ValueError(f"no audit hash format {hash_version}")
    canonical: dict[str, Any] = {
        "tenant_id": str(tenant_id),
        "seq": seq,
        "occurred_at": occurred_at.isoformat(timespec="microseconds"),
        "actor_type": actor_type,
        "actor_id": str(actor_id) if actor_id else None,
        "action": action,
        "entity_type": entity_type,
        "entity_id": str(entity_id),
        "changes": changes,
        "prev_hash": prev_hash,
    }
    if hash_version >= 2:
        canonical.update(hash_version=hash_version, id=str(event_id), request_id=request_id)
    payload = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


# --------------------------------------------------------------------------- checking


def verify_chain(session: Session, tenant_id: uuid.UUID) -> dict[str, Any]:
    """Walk the tenant's chain in order; name the first link whose number, predecessor or hash is wrong."""
    expected_seq, prev_hash, checked, last_seq = 1, GENESIS, 0, 0
    while True:
        batch = list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.tenant_id == tenant_id, AuditEvent.seq >= expected_seq)
                .order_by(AuditEvent.seq)
                .limit(VERIFY_BATCH)
            )
        )
        for link in batch:
            reason = _broken(link, expected_seq, prev_hash)
            if reason:
                return _report(False, checked, {"seq": expected_seq, "id": str(link.id), "reason": reason})
            checked, expected_seq, prev_hash, last_seq = checked + 1, link.seq + 1, link.hash, link.seq
        if len(batch) < VERIFY_BATCH:
            break
    with system_scope(session):
        head = session.get(AuditChainHead, tenant_id)
    if head is not None and (head.last_seq != last_seq or head.last_hash != prev_hash):
        return _report(False, checked, {"seq": last_seq + 1, "id": None, "reason": "events missing at the end"})
    return _report(True, checked, None)


def _broken(link: AuditEvent, expected_seq: int, prev_hash: str) -> str | None:
    if link.seq != expected_seq:
        return f"event {expected_seq} is missing"
    if link.prev_hash != prev_hash:
        return "prev_hash does not match the previous event"
    if link.hash_version not in HASH_VERSIONS:
        return f"unknown hash version {link.hash_version} (the row was altered)"
    if link.hash != event_hash(link):
        return "hash does not match the event's content (the row was altered)"
    return None


def _report(valid: bool, checked: int, first_broken: dict[str, Any] | None) -> dict[str, Any]:
    return {"valid": valid, "checked": checked, "first_broken": first_broken}
