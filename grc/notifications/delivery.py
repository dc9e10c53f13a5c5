"""Sending deliveries (J4, J5): e-mails and webhook calls, each retried on its own schedule until ``dead``.

A run claims up to a batch of due rows in one transaction, so two runners never send the same row at once. On
PostgreSQL the claim is the row locks (``FOR UPDATE SKIP LOCKED``), held while the batch is sent: they end with
the transaction however that ends, so a runner killed mid-send or cut off by a database restart frees its rows at
once and the next run retries them. (A lease committed before the send, as before, left a killed runner's whole
batch waiting five minutes.) SQLite has no row locks; there the claim is a lease committed before the send, and
the runner lives in the one embedded process, so it cannot die alone.

The calls of a batch go out side by side, at most ``GRC_DELIVERY_CONCURRENCY`` at a time: one at a time, a worker
sent ~35 webhook calls a second and fell behind a write load, and one slow receiver held every other one back.
A channel's sender therefore comes in two parts: it prepares the send with the session (who, what, whether it may
go at all) and returns the network call, which runs in a thread of the pool and never touches the session. The
outcomes are recorded and committed together once the batch's calls have all ended, so a slow receiver holds the
others' records back by at most one timeout, and a runner killed before that commit sends its whole batch again
(at least once: a receiver deduplicates on ``webhook-id``, a mail system on ``Message-ID``).

The retry schedule is the one Standard Webhooks recommends; the eighth failure is final, and a dead delivery stays
visible (and re-deliverable) through the API.

The channels register their sender here (``@sender(DeliveryChannel.webhook)``): this module sends through them
without knowing them, and a channel raises ``DeliveryFailed`` when its destination refuses.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from grc.config import Settings
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


Call = Callable[[], int | None]  # one send's network part, run without the session: the HTTP or SMTP status
Sender = Callable[[Session, Delivery, OutboxMessage], Call]  # prepares a send with the session
_senders: dict[DeliveryChannel, Sender] = {}
Sending = Future[int | None] | Exception  # a call under way in the pool, or why it could not be prepared


def sender(channel: DeliveryChannel) -> Callable[[Sender], Sender]:
    """Register the decorated function as the one that prepares the sends of deliveries of ``channel``."""

    def register(send: Sender) -> Sender:
        _senders[channel] = send
        return send

    return register


def deliver_due(session: Session, *, now: datetime | None = None, batch: int = BATCH) -> dict[str, int]:
    """Attempt up to ``batch`` due deliveries, their calls side by side; returns how many were delivered, will be
    retried, went dead."""
    now = now or utcnow()
    counts = {"delivered": 0, "retrying": 0, "dead": 0}
    claimed = _claim_due(session, now, batch)
    if not claimed:
        return counts
    settings: Settings = current_app.config["GRC_SETTINGS"]
    messages = _messages_of(session, claimed)
    with ThreadPoolExecutor(min(settings.delivery_concurrency, len(claimed)), "grc-delivery") as pool:
        with _holding_what_it_reads(claimed[0]):
            sending = [(delivery, _start(session, pool, delivery, messages[delivery.event_id], now))
                       for delivery in claimed]
        for delivery, sent in sending:
            counts[_record(delivery, now, sent)] += 1
    session.commit()
    return counts


def _claim_due(session: Session, now: datetime, batch: int) -> list[Delivery]:
    """The next due deliveries, claimed until this transaction ends (row locks) or for ``LEASE`` (SQLite)."""
    claimed = list(session.scalars(
        select(Delivery)
        .where(Delivery.status == DeliveryStatus.pending, Delivery.available_at <= now)
        .order_by(Delivery.available_at, Delivery.id)
        .limit(batch)
        .with_for_update(skip_locked=True)
    ))
    if claimed and session.get_bind().dialect.name == "sqlite":
        for delivery in claimed:
            delivery.available_at = now + LEASE
        session.commit()
    return claimed


def _messages_of(session: Session, claimed: list[Delivery]) -> dict[uuid.UUID, OutboxMessage]:
    """The batch's messages in one query (one read per delivery was a third of a batch's time)."""
    wanted = select(OutboxMessage).where(OutboxMessage.id.in_({delivery.event_id for delivery in claimed}))
    return {message.id: message for message in session.scalars(wanted)}


@contextmanager
def _holding_what_it_reads(claimed: Delivery) -> Iterator[None]:
    """While the batch is prepared, keep every row its senders read, and write nothing before the outcomes. The
    session holds unchanged rows only weakly, so each delivery to one subscription (or user) read it again, and
    each read flushed the attempts counted so far: two round trips a delivery, half of a batch's time."""
    session = inspect(claimed).session  # the Session itself (``db.session`` is a proxy: events on it are global)
    assert session is not None
    held: list[object] = []

    def hold(_: Session, row: object) -> None:
        held.append(row)

    event.listen(session, "loaded_as_persistent", hold)
    try:
        with session.no_autoflush:
            yield
    finally:
        event.remove(session, "loaded_as_persistent", hold)


def _start(session: Session, pool: ThreadPoolExecutor, delivery: Delivery, message: OutboxMessage,
           now: datetime) -> Sending:
    """Count the attempt and prepare its send with the session; the network call goes to the pool."""
    delivery.attempts += 1
    delivery.last_attempt_at = now
    try:
        call = _senders[delivery.channel](session, delivery, message)
    except Exception as exc:  # noqa: BLE001 - recorded as this attempt's failure by _record
        return exc
    return pool.submit(call)


def _record(delivery: Delivery, now: datetime, sent: Sending) -> str:
    """Wait for the call to end and write its outcome on the delivery; the caller commits the batch."""
    try:
        if isinstance(sent, Exception):
            raise sent
        delivery.response_status = sent.result()
    except DeliveryFailed as exc:
        return _failed(delivery, now, str(exc), exc.status)
    except Exception as exc:  # noqa: BLE001 - whatever went wrong, the delivery is retried, never lost
        log.exception("delivery %s failed", delivery.id)
        return _failed(delivery, now, f"{type(exc).__name__}: {exc}", None)
    delivery.status, delivery.delivered_at, delivery.last_error = DeliveryStatus.delivered, now, None
    return "delivered"


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
