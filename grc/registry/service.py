"""A CB's IAF CertSearch connection and the sync that follows every change (G2).

- **The connection** (``save_connection``): base URL (through the SSRF guard), the API key sealed with
  ``grc.sealing`` bound to the tenant and the connection (write-only: no answer carries it), ``enabled``, ``dry_run``
  and ``repush_differences``. ``test_connection`` asks the registry for one certification: a harmless read.
- **Marking** (``certificate_changed``, ``client_changed``): every certificate event (grant, renewal, scope change,
  suspension, restoration, withdrawal, expiry, transfer) and every change of a client marks the affected records
  ``pending`` in the transaction of the change, and the commit triggers the push (``jobs.commit_triggers``). Marking
  writes one small row and calls nothing: the write never waits for the registry.
- **Pushing** (``push_due``, an RQ job): per CB, one bulk upload of at most 100 pending records per run, built by
  ``certsearch.records`` for that CB only. A record breaking a registry rule (G1) is not sent; one whose body is
  the one the registry last accepted (``sent_digest``) is not sent again. 2xx: synced. A validation refusal marks
  the refused record ``failed`` with the registry's words (no retry until it changes) and tells the CB; 5xx, 429,
  timeouts and a refused key leave the records pending and hold the CB's pushes back (``RETRY_SCHEDULE``, or
  ``Retry-After``).
- **Reconciling** (``reconcile_all``, nightly): the CB's certifications as the registry holds them, compared with
  ours; the differences are kept on the connection, told to the CB, and re-pushed when ``repush_differences``.
"""
from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grc import events, sealing, tenancy
from grc.audit_notes import name_action
from grc.certification.models import Certificate
from grc.certification.service import CERTIFICATE_ADDITIONS
from grc.config import Settings
from grc.db import new_id, utcnow
from grc.errors import InvalidField, NotFound
from grc.events import publish
from grc.outbound import DestinationRefused, check_destination
from grc.registry import certsearch, client
from grc.registry.models import RegistryConnection, RegistryRecordState, SyncStatus
from grc.tenancy import Principal
from grc.tenants.models import Tenant

CONNECTION_ADMIN = "cb_admin"
BATCH = client.BULK_LIMIT
# Waits after consecutive failed pushes (5xx, timeouts, 429 without Retry-After, a refused key); the registry asks
# for a minute between calls, so the first wait is one; it grows to an hour and stays there.
RETRY_SCHEDULE = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(minutes=30),
                  timedelta(hours=1))
PENDING_WRITTEN_KEY = "registry_pending_written"  # Session.info: records became pending (push after commit)
REFUSED, DIFFERENCES = "registry.record_refused", "registry.differences_found"
RECENT_ERRORS = 10
log = logging.getLogger("grc.registry")


# --------------------------------------------------------------------------- the connection


def connection(session: Session, tenant_id: uuid.UUID | None = None) -> RegistryConnection | None:
    """The CB's CertSearch connection (the caller's by default), if it has one."""
    tenant_id = tenant_id or tenancy.current().tenant_id
    return session.scalars(select(RegistryConnection).where(RegistryConnection.tenant_id == tenant_id)).one_or_none()


def existing_connection(session: Session) -> RegistryConnection:
    found = connection(session)
    if found is None:
        raise NotFound("This certification body has no IAF CertSearch connection: PUT one first.")
    return found


def save_connection(session: Session, data: dict[str, Any], *, caller: Principal) -> RegistryConnection:
    """Rule G2: create or change the CB's connection. A new key is sealed to this connection and lifts the backoff;
    switching the push on (or giving it a new key or address) marks every certificate of the CB for sync, and the
    digests keep what the registry already holds from being sent again."""
    tenancy.check_roles(caller, CONNECTION_ADMIN)
    found = connection(session, caller.tenant_id)
    if found is None and not data.get("api_key"):
        raise InvalidField("api_key", "The registry's API key is needed to create the connection.")
    current = found or RegistryConnection(id=new_id(), tenant_id=caller.tenant_id, base_url=client.DEFAULT_BASE_URL)
    was_pushing = found is not None and found.enabled and not found.dry_run
    if "base_url" in data:
        current.base_url = _checked_base_url(data["base_url"])
    for name in ("enabled", "dry_run", "repush_differences"):
        if name in data:
            setattr(current, name, data[name])
    if data.get("api_key"):
        current.sealed_api_key = sealing.seal(data["api_key"].encode(), _kek(), context=_bound_to(current))
        current.key_set_at = utcnow()
        name_action(session, current, "registry_connection.key_rotated" if found else "registry_connection.created")
    if data.get("api_key") or "base_url" in data:
        current.failures, current.retry_at, current.last_error = 0, None, None
    if found is None:
        session.add(current)
    session.flush()
    if current.enabled and (not was_pushing or data.get("api_key") or "base_url" in data):
        mark_pending(session, caller.tenant_id, _all_certificates(session, caller.tenant_id))
    return current


def _checked_base_url(url: str) -> str:
    try:
        check_destination(url, _settings().webhook_allowed_hosts)
    except DestinationRefused as exc:
        raise InvalidField("base_url", str(exc)) from exc
    return url.rstrip("/")


def _bound_to(current: RegistryConnection) -> str:
    """The sealed key opens for this tenant's connection only: copied onto another row, it does not."""
    return f"grc registry api key|{current.tenant_id}|{current.id}"


def _api_key(current: RegistryConnection, settings: Settings) -> str:
    return sealing.unseal(current.sealed_api_key, sealing.key_encryption_key(settings),
                          context=_bound_to(current)).decode()


def _kek() -> bytes:
    return sealing.key_encryption_key(_settings())


def _settings() -> Settings:
    settings: Settings = current_app.config["GRC_SETTINGS"]
    return settings


@dataclass(frozen=True)
class KeyCheck:
    """What ``POST .../test`` found: whether the registry took the key, its status and its own words."""

    ok: bool
    status: int | None
    message: str


def test_connection(session: Session, *, caller: Principal) -> KeyCheck:
    """Rule G2: ask the registry for one certification with the stored key (a read: it changes nothing there)."""
    tenancy.check_roles(caller, CONNECTION_ADMIN)
    current = existing_connection(session)
    try:
        answer = client.certifications_page(current.base_url, _api_key(current, _settings()), 0, _settings(), limit=1)
    except client.Unreachable as exc:
        return KeyCheck(False, None, str(exc))
    if answer.ok:
        return KeyCheck(True, answer.status, "The registry accepted the API key.")
    return KeyCheck(False, answer.status, client.refusal(answer).message)


def overview(session: Session) -> dict[str, Any]:
    """Rule G2: the connection as ``GET`` shows it: settings (never the key), last sync, counts, the last errors in
    the registry's words, and the last reconciliation's differences (``connection`` null before the CB connects)."""
    tenant_id = tenancy.current().tenant_id
    counts = {status: count for status, count in session.execute(select(RegistryRecordState.status, func.count()).where(
        RegistryRecordState.tenant_id == tenant_id).group_by(RegistryRecordState.status))}
    failing = session.execute(
        select(Certificate.id, Certificate.number, RegistryRecordState.error, RegistryRecordState.changed_at)
        .join(RegistryRecordState, RegistryRecordState.certificate_id == Certificate.id)
        .where(RegistryRecordState.tenant_id == tenant_id, RegistryRecordState.status == SyncStatus.failed)
        .order_by(RegistryRecordState.changed_at.desc()).limit(RECENT_ERRORS)).all()
    return {
        "connection": connection(session, tenant_id),
        "pending": counts.get(SyncStatus.pending, 0), "synced": counts.get(SyncStatus.synced, 0),
        "failed": counts.get(SyncStatus.failed, 0),
        "last_errors": [{"certificate_id": row.id, "number": row.number, "error": row.error, "at": row.changed_at}
                        for row in failing],
    }


# --------------------------------------------------------------------------- marking records for sync


@events.on("certificate.*")
def certificate_changed(event: events.Event) -> None:
    """G2: a certificate that changed goes to the registry again (its CB pushes only when connected)."""
    if isinstance(event.subject, Certificate):
        mark_pending(event.session, event.subject.tenant_id, [event.subject.id])


@events.on("client.updated")
def client_changed(event: events.Event) -> None:
    """G2: a client's name or address is its certificates' certified entity: they go to the registry again."""
    if not isinstance(event.subject, Tenant):
        return
    by_cb: dict[uuid.UUID, list[uuid.UUID]] = {}
    for cb_id, certificate_id in event.session.execute(select(Certificate.tenant_id, Certificate.id).where(
            Certificate.client_tenant_id == event.subject.id)):
        by_cb.setdefault(cb_id, []).append(certificate_id)
    for cb_id, certificate_ids in by_cb.items():
        mark_pending(event.session, cb_id, certificate_ids)


def mark_pending(session: Session, cb_id: uuid.UUID, certificate_ids: Iterable[uuid.UUID]) -> None:
    """The records of these certificates of the CB are to be pushed (nothing happens for a CB with no connection)."""
    ids = set(certificate_ids)
    if not ids or connection(session, cb_id) is None:
        return
    now = utcnow()
    known = {state.certificate_id: state for state in session.scalars(select(RegistryRecordState).where(
        RegistryRecordState.tenant_id == cb_id, RegistryRecordState.certificate_id.in_(ids)))}
    for certificate_id in ids:
        state = known.get(certificate_id)
        if state is None:
            session.add(RegistryRecordState(tenant_id=cb_id, certificate_id=certificate_id, changed_at=now))
        else:
            state.status, state.changed_at = SyncStatus.pending, now
    session.info[PENDING_WRITTEN_KEY] = True


def _all_certificates(session: Session, cb_id: uuid.UUID) -> list[uuid.UUID]:
    return list(session.scalars(select(Certificate.id).where(Certificate.tenant_id == cb_id)))


@CERTIFICATE_ADDITIONS.register("registry_sync")
def sync_state(session: Session, certificate: Certificate) -> dict[str, Any] | None:
    """Rule G2: where the certificate stands in its CB's registry: status, when the registry took it, the registry's
    words when it refused (None without a connection, and for the client: the state is the CB's row)."""
    state = session.scalars(select(RegistryRecordState).where(
        RegistryRecordState.certificate_id == certificate.id)).one_or_none()
    return None if state is None else {"status": state.status.value, "synced_at": state.synced_at,
                                       "error": state.error}


# --------------------------------------------------------------------------- pushing


def push_due(session: Session, settings: Settings, now: datetime | None = None) -> dict[str, int]:
    """Rule G2: one batch per connected CB whose backoff is over; each CB's rows are locked while it is pushed, so
    two runs never push the same batch. ``more`` counts the CBs with records left for the next run."""
    now = now or utcnow()
    counts = {"sent": 0, "unchanged": 0, "failed": 0, "held_back": 0, "more": 0}
    due = session.scalars(select(RegistryConnection).where(
        RegistryConnection.enabled.is_(True),
        (RegistryConnection.retry_at.is_(None)) | (RegistryConnection.retry_at <= now),
    ).order_by(RegistryConnection.id).with_for_update(skip_locked=True)).all()
    for current in due:
        for name, count in push_connection(session, current, settings, now).items():
            counts[name] += count
    session.commit()
    return counts


def push_connection(session: Session, current: RegistryConnection, settings: Settings,
                    now: datetime) -> dict[str, int]:
    """One bulk upload of the CB's next pending records (G1: only those the registry would accept; G2: only the
    CB's own, only those whose body changed since the registry last accepted it)."""
    counts = {"sent": 0, "unchanged": 0, "failed": 0, "held_back": 0, "more": 0}
    states = list(session.scalars(select(RegistryRecordState).where(
        RegistryRecordState.tenant_id == current.tenant_id, RegistryRecordState.status == SyncStatus.pending)
        .order_by(RegistryRecordState.changed_at, RegistryRecordState.id).limit(BATCH + 1)))
    counts["more"] = int(len(states) > BATCH)
    pending = {state.certificate_id: state for state in states[:BATCH]}
    outgoing: list[tuple[certsearch.Record, list[RegistryRecordState], str]] = []
    for record in certsearch.records(session, current.tenant_id, list(pending)):
        carried = [pending[certificate_id] for certificate_id in record.certificate_ids if certificate_id in pending]
        if len(carried) != len(record.certificate_ids):  # fail closed: it carries what this batch did not ask for
            log.error("a registry record carries certificates outside the CB's batch", extra={"cb": current.tenant_id})
            continue
        digest = body_digest(record.body)
        if record.problems:
            _refused(session, current, carried, "; ".join(f"{p.field}: {p.message}" for p in record.problems))
            counts["failed"] += 1
        elif all(state.sent_digest == digest for state in carried):
            _synced(carried, digest, now)
            counts["unchanged"] += 1
        else:
            outgoing.append((record, carried, digest))
    if current.dry_run:  # checked, not sent: the records stay pending, and the next run would find the same ones
        return counts | {"more": 0}
    return _upload(session, current, outgoing, settings, now, counts) if outgoing else counts


def body_digest(body: dict[str, Any]) -> str:
    """What identifies a body: SHA-256 over its canonical JSON (key order and spacing do not count)."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                                     default=str).encode()).hexdigest()


def _upload(session: Session, current: RegistryConnection,
            outgoing: list[tuple[certsearch.Record, list[RegistryRecordState], str]], settings: Settings,
            now: datetime, counts: dict[str, int]) -> dict[str, int]:
    """Send the batch and write what the registry said about it."""
    current.last_attempt_at = now
    try:
        answer = client.bulk_upload(current.base_url, _api_key(current, settings),
                                    [record.body for record, _, _ in outgoing], settings)
    except sealing.SealedError:
        return _held_back(current, "the stored API key does not open (the key-encryption key changed): set the API "
                                   "key again", None, now, counts)
    except client.Unreachable as exc:
        return _held_back(current, str(exc), None, now, counts)
    if answer.ok:
        for _, carried, digest in outgoing:
            _synced(carried, digest, now)
        current.last_success_at, current.failures, current.retry_at, current.last_error = now, 0, None, None
        return counts | {"sent": counts["sent"] + len(outgoing)}
    if answer.status not in (400, 422):  # 401/403 (the key), 429 (rate), 5xx: not the records' fault
        return _held_back(current, f"HTTP {answer.status}: {client.refusal(answer).message}", answer.retry_after,
                          now, counts)
    refusal = client.refusal(answer)
    index = refusal.record_index
    refused = [outgoing[index]] if index is not None and 0 <= index < len(outgoing) else outgoing
    for _, carried, _ in refused:
        _refused(session, current, carried, refusal.message)
    # The others were not stored (the registry refuses the whole batch): they stay pending for the next run.
    return counts | {"failed": counts["failed"] + len(refused), "more": int(len(refused) < len(outgoing))}


def _synced(carried: list[RegistryRecordState], digest: str, now: datetime) -> None:
    for state in carried:
        if state.sent_digest != digest or state.synced_at is None:
            state.synced_at = now
        state.status, state.error, state.sent_digest = SyncStatus.synced, None, digest


def _refused(session: Session, current: RegistryConnection, carried: list[RegistryRecordState], error: str) -> None:
    """G2: the record is failed with the registry's (or G1's) words; the CB hears of it once per new error."""
    for state in carried:
        told = state.status == SyncStatus.failed and state.error == error
        state.status, state.error = SyncStatus.failed, error[:4000]
        if not told:
            number = session.scalar(select(Certificate.number).where(Certificate.id == state.certificate_id))
            publish(session, REFUSED, {"certificate_id": str(state.certificate_id), "number": number,
                                       "error": state.error}, tenant_id=current.tenant_id)


def _held_back(current: RegistryConnection, error: str, retry_after: int | None, now: datetime,
               counts: dict[str, int]) -> dict[str, int]:
    """The push failed for a reason that is not the records': they stay pending and the CB waits before the next."""
    current.failures += 1
    wait = (timedelta(seconds=retry_after) if retry_after is not None
            else RETRY_SCHEDULE[min(current.failures, len(RETRY_SCHEDULE)) - 1])
    current.retry_at, current.last_error = now + wait, error[:4000]
    return counts | {"held_back": counts["held_back"] + 1, "more": 0}


# --------------------------------------------------------------------------- nightly reconciliation

# Our upload names and the registry's retrieve names for the same thing (the documented retrieve shape differs).
COMPARED = (("certification_status", "status"), ("certification_expiry_date", "expiry_date"),
            ("certification_issue_date", "issue_date"), ("certification_scope", "scope_description"))
MAX_PAGES = 1000  # 100,000 certifications: a CB's registry is far smaller; a runaway pager stops here


def reconcile_all(session: Session, settings: Settings, now: datetime | None = None) -> dict[str, int]:
    """Rule G2, nightly: reconcile every CB that pushes (enabled, not a dry run). Returns CBs and differences."""
    now = now or utcnow()
    counts = {"reconciled": 0, "differences": 0, "unreachable": 0}
    for current in session.scalars(select(RegistryConnection).where(
            RegistryConnection.enabled.is_(True), RegistryConnection.dry_run.is_(False))).all():
        found = reconcile(session, current, settings, now)
        if found is None:
            counts["unreachable"] += 1
        else:
            counts["reconciled"] += 1
            counts["differences"] += len(found)
        session.commit()
    return counts


def reconcile(session: Session, current: RegistryConnection, settings: Settings,
              now: datetime) -> list[dict[str, Any]] | None:
    """Rule G2: compare the CB's certifications in the registry with ours and keep (and tell) every difference;
    re-push the records that differ when the CB asked for it. None when the registry could not be read."""
    held = _held_by_registry(current, settings)
    if held is None:
        return None
    differences: list[dict[str, Any]] = []
    differing: list[uuid.UUID] = []
    for record in certsearch.records(session, current.tenant_id):
        if record.problems:
            continue  # never sent: its state says why (failed)
        found = _differences(record.body, held.pop(record.body["certificate_number"], None))
        differences.extend(found)
        if found:
            differing.extend(record.certificate_ids)
    differences.extend({"certificate_number": number, "field": "certification", "ours": None, "registry": "present"}
                       for number in sorted(held))
    current.differences, current.last_reconciled_at = differences, now
    if differences:
        publish(session, DIFFERENCES, {"count": len(differences)}, tenant_id=current.tenant_id)
    if differing and current.repush_differences:
        for state in session.scalars(select(RegistryRecordState).where(
                RegistryRecordState.tenant_id == current.tenant_id,
                RegistryRecordState.certificate_id.in_(differing))):
            state.sent_digest = None  # the registry lost or changed what it accepted: send it again
        mark_pending(session, current.tenant_id, differing)
    return differences


def _held_by_registry(current: RegistryConnection, settings: Settings) -> dict[str, dict[str, Any]] | None:
    """Every certification the registry holds for this CB's key, by certificate number (None if unreadable)."""
    held: dict[str, dict[str, Any]] = {}
    try:
        key = _api_key(current, settings)
        for page in range(MAX_PAGES):
            answer = client.certifications_page(current.base_url, key, page, settings)
            data = answer.body.get("data") if isinstance(answer.body, dict) else None
            if not answer.ok or not isinstance(data, list):
                current.last_error = f"reconciliation: HTTP {answer.status}: {client.refusal(answer).message}"
                return None
            held.update({str(item.get("certification_number")): item for item in data if isinstance(item, dict)})
            meta = answer.body.get("meta") or {}
            if not data or page + 1 >= int(meta.get("total_pages") or 1):
                break
    except (client.Unreachable, sealing.SealedError) as exc:
        current.last_error = f"reconciliation: {exc}"
        return None
    return held


def _differences(ours: dict[str, Any], theirs: dict[str, Any] | None) -> list[dict[str, Any]]:
    number = ours["certificate_number"]
    if theirs is None:
        return [{"certificate_number": number, "field": "certification", "ours": "present", "registry": None}]
    return [{"certificate_number": number, "field": mine, "ours": ours.get(mine), "registry": theirs.get(registry)}
            for mine, registry in COMPARED if _comparable(ours.get(mine)) != _comparable(theirs.get(registry))]


def _comparable(value: Any) -> str:
    """Case and date punctuation aside (the registry may answer ``Active`` or ``2026-02-22`` for what we sent)."""
    text = str(value or "").strip().lower()
    digits = text.replace("-", "").replace("/", "")
    return digits if len(digits) == 8 and digits.isdigit() else text
