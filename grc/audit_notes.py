"""What a service tells the audit trail beyond the rows it changes, for any domain, below them all.

The trail (``grc.auditlog``, a domain) writes an event for every row that changes, named ``<entity>.<verb>`` unless
the service named it here first (``name_action``: ``certificate.suspended``). Some events change no row: a refused
sign-in, a second factor accepted. ``note_event`` notes one about an entity; the trail chains the notes with the
transaction's other events at its commit. Domains below ``auditlog`` (``auth``) use this module, not the trail.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

ACTIONS_KEY = "audit_actions"  # Session.info: id(entity) -> the action of its next event
NOTES_KEY = "audit_notes"  # Session.info: events noted by services, chained at the commit


def name_action(session: Session, entity: object, action: str) -> None:
    """Give the next event about ``entity`` a domain name (e.g. ``certificate.suspended``)."""
    session.info.setdefault(ACTIONS_KEY, {})[id(entity)] = action


def note_event(session: Session, action: str, entity: object, details: dict[str, Any]) -> None:
    """An event about ``entity`` (a tenant-scoped row: its tenant's chain) that no row change carries. ``details``
    stand where a change's fields would: never a password or a code."""
    session.info.setdefault(NOTES_KEY, []).append((action, entity, details))


def take_notes(session: Session) -> list[tuple[str, Any, dict[str, Any]]]:
    """The events noted in this transaction, handed over once (to the trail, or dropped with a rollback)."""
    notes: list[tuple[str, Any, dict[str, Any]]] = session.info.pop(NOTES_KEY, [])
    return notes
