"""Publishing to the outbox and relaying it (J4).

``publish`` adds a message to the caller's unit of work, so the message exists exactly when the change
does. ``relay`` hands due messages to the handlers subscribed to their topic; a failing handler leaves the
message pending with exponential backoff, and after ``MAX_ATTEMPTS`` it is parked as ``dead`` (never lost).
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from grc.db import utcnow
from grc.notifications.models import OutboxMessage, OutboxStatus

MAX_ATTEMPTS = 8
RELAY_BATCH = 200
OUTBOX_WRITTEN_KEY = "outbox_written"
Handler = Callable[[Session, OutboxMessage], None]
_handlers: list[tuple[str, Handler]] = []
log = logging.getLogger("grc.outbox")


def publish(session: Session, topic: str, payload: dict[str, Any], *, tenant_id: uuid.UUID | None = None) -> None:
    """Queue ``topic`` for delivery when (and only if) the caller's transaction commits."""
    session.add(OutboxMessage(topic=topic, payload=payload, tenant_id=tenant_id))
    session.info[OUTBOX_WRITTEN_KEY] = True


def subscribe(topic_prefix: str, handler: Handler) -> None:
    """Deliver every message whose topic starts with ``topic_prefix`` to ``handler`` (delivery channels)."""
    _handlers.append((topic_prefix, handler))


def relay(session: Session, *, now: datetime | None = None, batch: int = RELAY_BATCH) -> dict[str, int]:
    """Deliver one batch of due messages; safe to run concurrently (rows are claimed with SKIP LOCKED)."""
    now = now or utcnow()
    stmt = (
        select(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.pending, OutboxMessage.available_at <= now)
        .order_by(OutboxMessage.available_at, OutboxMessage.id)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    counts = {"dispatched": 0, "retrying": 0, "dead": 0}
    for message in session.scalars(stmt):
        counts[_deliver(session, message, now)] += 1
    session.commit()
    return counts


def _deliver(session: Session, message: OutboxMessage, now: datetime) -> str:
    message.attempts += 1
    try:
        with session.begin_nested():
            for prefix, handler in _handlers:
                if message.topic.startswith(prefix):
                    handler(session, message)
    except Exception as exc:  # noqa: BLE001 - any handler failure is retried, never lost
        log.warning("outbox delivery failed", extra={"message_id": str(message.id), "error": str(exc)})
        message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if message.attempts >= MAX_ATTEMPTS:
            message.status = OutboxStatus.dead
            return "dead"
        message.available_at = now + timedelta(seconds=30 * 2 ** (message.attempts - 1))
        return "retrying"
    message.status = OutboxStatus.dispatched
    message.dispatched_at = now
    message.last_error = None
    return "dispatched"
