"""The audit trail of the data set (A1): every row goes through the ``Recorder``, which writes, with each row
the app audits, the event the app would have written, on its tenant's hash chain in time order. Apart from the
stories because every subject writes through it. Each link is hashed by the app's own ``chain_hash``, the one
definition of the chain's format, so ``GET /audit-events/verify`` accepts the chains whatever that format is."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.dataset.clock import Ids, instant, iso
from bench.dataset.loader import NULL, TABLES, Loader, cell, escape, to_json
from grc.auditlog.service import GENESIS, HASH_VERSION, chain_hash

LINKS = ("audit_schemes", "decision_audits", "licence_certificates")
if any(len(TABLES[name].columns) != 2 for name in LINKS):
    raise RuntimeError("an association table changed: update Recorder.link's callers")
EVENT_COLUMNS = ("seq", "occurred_at", "actor_type", "actor_id", "action", "entity_type", "entity_id", "changes",
                 "request_id", "prev_hash", "hash", "hash_version", "id", "tenant_id")
if TABLES["audit_events"].columns != EVENT_COLUMNS:
    raise RuntimeError("audit_events changed: update EVENT_COLUMNS and Recorder.event")
Actor = tuple[str, str | None]
SYSTEM: Actor = ("system", None)
EVENT_LINE = "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\\N\t%s\t%s\t%d\t%s\t%s"  # EVENT_COLUMNS, request_id null


def user(user_id: str) -> Actor:
    return ("user", user_id)


@dataclass(slots=True)
class Chain:
    """One tenant's hash chain, continued link by link as ``grc.auditlog.service`` appends it."""

    tenant_id: str
    seq: int = 0
    last_hash: str = GENESIS


class Recorder:
    """Writes rows, and the audit events the app writes with them, on the tenant chains (A1)."""

    def __init__(self, loader: Loader, ids: Ids) -> None:
        self.loader = loader
        self.ids = ids

    def row(self, table: str, row: dict[str, Any]) -> None:
        """A row the app does not audit (counters, chain heads)."""
        self.loader.insert(table, row)

    def link(self, table: str, first: str, second: str) -> None:
        """A row of an association table (two ids, in column order): millions of them, so formatted directly."""
        self.loader.add(table, f"{first}\t{second}")

    def created(self, chain: Chain, table: str, row: dict[str, Any], when: int, actor: Actor, *,
                action: str | None = None, initial: dict[str, Any] | None = None) -> None:
        """A new row and its ``<entity>.created`` event. ``row`` holds its final values (it is written once);
        ``initial`` the values it was created with where later transitions changed them."""
        spec = TABLES[table]
        values = list(map(row.get, spec.columns))
        self.loader.add(table, "\t".join(map(cell, values)))
        changes = dict(zip(spec.columns, values, strict=True))
        changes.update(spec.recorded_as)
        if initial:
            changes.update(initial)
        self.event(chain, action or f"{spec.entity}.created", spec.entity, row["id"], changes, when, actor)

    def changed(self, chain: Chain, table: str, entity_id: str, changes: dict[str, list[Any]], when: int,
                actor: Actor, action: str | None = None) -> None:
        """An update of a row, ``changes`` as ``{field: [old, new]}``."""
        entity = TABLES[table].entity
        self.event(chain, action or f"{entity}.updated", entity, entity_id, changes, when, actor)

    def event(self, chain: Chain, action: str, entity: str | None, entity_id: str, changes: dict[str, Any],
              when: int, actor: Actor) -> None:
        """The next link of the chain, hashed by ``chain_hash`` as the app appends it; the stored ``changes`` is
        the same dict as JSON, so ``verify_chain`` reads back what was hashed."""
        chain.seq += 1
        actor_type, actor_id = actor
        event_id = self.ids.new(when)
        digest = chain_hash(event_id=event_id, tenant_id=chain.tenant_id, seq=chain.seq, occurred_at=instant(when),
                            actor_type=actor_type, actor_id=actor_id, action=action, entity_type=entity,
                            entity_id=entity_id, changes=changes, request_id=None, prev_hash=chain.last_hash)
        self.loader.add("audit_events", EVENT_LINE % (
            chain.seq, iso(when), actor_type, actor_id or NULL, action, entity, entity_id, escape(to_json(changes)),
            chain.last_hash, digest, HASH_VERSION, event_id, chain.tenant_id))
        chain.last_hash = digest

    def close_chain(self, chain: Chain) -> None:
        """The chain head the app locks and extends on the tenant's next change."""
        self.loader.insert("audit_chain_heads",
                           {"tenant_id": chain.tenant_id, "last_seq": chain.seq, "last_hash": chain.last_hash})


def stamped(row: dict[str, Any], row_id: str, created: int, updated: int, version: int | None = 1) -> dict[str, Any]:
    """A row with its id and the TimestampMixin/version columns, as the ORM fills them in."""
    created_at = iso(created)
    row.update(id=row_id, created_at=created_at, updated_at=created_at if updated == created else iso(updated))
    if version is not None:
        row["version"] = version
    return row
