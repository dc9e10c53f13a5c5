"""Sending deliveries (J4, J5): e-mails and webhook calls, each retried on its own schedule until ``dead``.

Each attempt is one transaction that claims its row first, so two runners never send the same row at once. On
PostgreSQL the claim is the row lock (``FOR UPDATE SKIP LOCKED``), held while the row is sent: it ends with the
transaction however that ends, so a runner killed mid-send or cut off by a database restart frees its row at once
and the next run retries it. (A lease committed before the send, as before, left a killed runner's whole batch
waiting five minutes.) SQLite has no row locks; there the claim is a lease committed before the send, and the
runner lives in the one embedded process, so it cannot die alone.

The retry schedule is the one Standard Webhooks recommends; the eighth failure is final, and a dead delivery stays
visible (and re-deliverable) through the API.

The channels register their sender here (``@sender(DeliveryChannel.webhook)``): this module sends through them
without knowing them, and a channel raises ``DeliveryFailed`` when its destination refuses.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from grc.db import utcnow
from grc.events import OutboxMessage
from grc.notifications.models import Delivery, DeliveryChannel, DeliveryStatus

RETRY_SCHEDULE = (
    timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
    timedelta(hours=5), timedelta(hours=10), timedelta(hours=10),
)
MAX_DELIVERY_ATTEMPTS = len(RETRY_SCHEDULE) + 1
LEASE = timedelta(minutes=5)
BATCH = 50
DELIVERIES_WRITTEN_KEY = "deliveries_written"
log = logging.getLogger("grc.delivery")


class DeliveryFailed(Exception):
    """The destination refused or could not be reached; ``status`` is the HTTP or SMTP code when there was one."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


Sender = Callable[[Session, Delivery, OutboxMessage], int | None]  # the HTTP or SMTP status, when there is one
_senders: dict[DeliveryChannel, Sender] = {}


def sender(channel: DeliveryChannel) -> Callable[[Sender], Sender]:
    """Register the decorated function as the one that sends deliveries of ``channel``."""

    def register(send: Sender) -> Sender:
        _senders[channel] = send
        return send

    return register


def deliver_due(session: Session, *, now: datetime | None = None, batch: int = BATCH) -> dict[str, int]:
    """Attempt up to ``batch`` due deliveries; returns how many were delivered, will be retried, went dead."""
    now = now or utcnow()
    counts = {"delivered": 0, "retrying": 0, "dead": 0}
    for _ in range(batch):
        delivery = _claim_next(session, now)
        if delivery is None:
            break
        counts[_attempt(session, delivery, now, _senders)] += 1
    return counts


def _claim_next(session: Session, now: datetime) -> Delivery | None:
    """The next due delivery, claimed until this transaction ends (row lock) or for ``LEASE`` (SQLite)."""
    delivery = session.scalars(
        select(Delivery)
        .where(Delivery.status == DeliveryStatus.pending, Delivery.available_at <= now)
        .order_by(Delivery.available_at, Delivery.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()
    if delivery is not None and session.get_bind().dialect.name == "sqlite":
        delivery.available_at = now + LEASE
        session.commit()
    return delivery


def _attempt(session: Session, delivery: Delivery, now: datetime, senders: dict[DeliveryChannel, Sender]) -> str:
    message = session.get(OutboxMessage, delivery.event_id)
    assert message is not None
    delivery.attempts += 1
    delivery.last_attempt_at = now
    try:
        delivery.response_status = senders[delivery.channel](session, delivery, message)
    except DeliveryFailed as exc:
        outcome = _failed(delivery, now, str(exc), exc.status)
    except Exception as exc:  # noqa: BLE001 - whatever went wrong, the delivery is retried, never lost
        log.exception("delivery %s failed", delivery.id)
        outcome = _failed(delivery, now, f"{type(exc).__name__}: {exc}", None)
    else:
        delivery.status, delivery.delivered_at, delivery.last_error = DeliveryStatus.delivered, now, None
        outcome = "delivered"
    session.commit()
    return outcome


def _failed(delivery: Delivery, now: datetime, error: str, status: int | None) -> str:
    delivery.last_error, delivery.response_status = error[:2000], status
    if delivery.attempts >= MAX_DELIVERY_ATTEMPTS:
        delivery.status = DeliveryStatus.dead
        return "dead"
    delivery.available_at = now + RETRY_SCHEDULE[delivery.attempts - 1]
    return "retrying"


def redeliver(session: Session, delivery: Delivery) -> Delivery:
    """A fresh delivery of the same message to the same destination (the log keeps both)."""
    again = Delivery(channel=delivery.channel, tenant_id=delivery.tenant_id, event_id=delivery.event_id,
                     topic=delivery.topic, subscription_id=delivery.subscription_id, user_id=delivery.user_id,
                     recipient=delivery.recipient, redelivery_of=delivery.id)
    session.add(again)
    session.info[DELIVERIES_WRITTEN_KEY] = True
    return again
