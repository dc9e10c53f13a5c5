"""Publishing to the outbox, relaying it into notifications and deliveries (J4), and idempotent reminders (J3).

``publish`` adds a message to the caller's unit of work, so the message exists exactly when the change
does. ``relay`` fans each due message out, in one transaction per batch, into in-app notifications for the
users who should hear it and one ``Delivery`` per e-mail address and webhook subscription (see
``catalogue``); a failing fan-out leaves the message pending with exponential backoff, and after
``MAX_ATTEMPTS`` it is parked as ``dead`` (never lost). ``remind`` is the one door to a reminder: its unique
key decides, inside the database, whether this run is the one that tells.
"""
from __future__ import annotations

import logging
import uuid
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from grc import tenancy
from grc.api import paginate
from grc.auth.models import ROLES_BY_KIND, User
from grc.db import new_id, utcnow
from grc.extensions import db
from grc.notifications import catalogue
from grc.notifications.delivery import DELIVERIES_WRITTEN_KEY
from grc.notifications.models import (
    Delivery,
    DeliveryChannel,
    Notification,
    OutboxMessage,
    OutboxStatus,
    Reminder,
)
from grc.tenants.models import Tenant
from grc.webhooks.models import WebhookSubscription

MAX_ATTEMPTS = 8
RELAY_BATCH = 200
OUTBOX_WRITTEN_KEY = "outbox_written"
log = logging.getLogger("grc.outbox")


def publish(session: Session, topic: str, payload: dict[str, Any], *, tenant_id: uuid.UUID | None = None) -> None:
    """Queue ``topic`` for delivery when (and only if) the caller's transaction commits."""
    session.add(OutboxMessage(topic=topic, payload=payload, tenant_id=tenant_id))
    session.info[OUTBOX_WRITTEN_KEY] = True


def remind(session: Session, *, tenant_id: uuid.UUID, subject_type: str, subject_id: uuid.UUID, kind: str,
           threshold: int, due_on: date, today: date, payload: dict[str, Any]) -> bool:
    """Publish reminder ``kind`` about a subject once per due date and threshold, ever (J3).

    The insert that loses a race (a re-run, a retried job, a second scheduler) does nothing: on PostgreSQL it
    waits for the winner's commit and then skips; SQLite serialises writers. Only the winner publishes.
    """
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    table = Reminder.__table__
    stmt = (
        insert(table)
        .values(id=new_id(), tenant_id=tenant_id, subject_type=subject_type, subject_id=subject_id, kind=kind,
                threshold=threshold, due_on=due_on, sent_on=today, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["subject_id", "kind", "due_on", "threshold"])
        .returning(table.c.id)
    )
    if session.execute(stmt).first() is None:
        return False
    publish(session, kind, payload | {"due_on": due_on.isoformat(), "threshold": threshold}, tenant_id=tenant_id)
    return True


def relay(session: Session, *, now: datetime | None = None, batch: int = RELAY_BATCH) -> dict[str, int]:
    """Fan out one batch of due messages; safe to run concurrently (rows are claimed with SKIP LOCKED)."""
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
        counts[_dispatch(session, message, now)] += 1
    session.commit()
    return counts


def _dispatch(session: Session, message: OutboxMessage, now: datetime) -> str:
    message.attempts += 1
    try:
        with session.begin_nested():
            fan_out(session, message)
    except Exception as exc:  # noqa: BLE001 - any failure is retried, never lost
        log.warning("outbox fan-out failed", extra={"message_id": str(message.id), "error": str(exc)})
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


def fan_out(session: Session, message: OutboxMessage) -> None:
    """Turn one message into notifications and deliveries for everyone the catalogue says should hear it."""
    event = catalogue.EVENTS.get(message.topic)
    if event is None:
        return
    told = _told_tenants(session, event, message)
    sends_email = current_app.config["GRC_SETTINGS"].sends_email
    title = catalogue.title(event, message.payload)
    for user in _recipients(session, event, message, told):
        session.add(Notification(tenant_id=user.tenant_id, user_id=user.id, event_id=message.id, topic=message.topic,
                                 title=title, body=event.summary, data=message.payload))
        if sends_email:
            _add_delivery(session, message, DeliveryChannel.email, user.tenant_id, user.email, user_id=user.id)
    for subscription in _subscriptions(session, message.topic, told):
        _add_delivery(session, message, DeliveryChannel.webhook, subscription.tenant_id, subscription.url,
                      subscription_id=subscription.id)


def _told_tenants(session: Session, event: catalogue.EventType, message: OutboxMessage) -> list[uuid.UUID]:
    """The parties whose tenant kind has one of the event's roles (the side the event is meant for)."""
    parties = catalogue.parties(message.tenant_id, message.payload)
    tenants = session.scalars(select(Tenant).where(Tenant.id.in_(parties))) if parties else []
    return [t.id for t in tenants if set(ROLES_BY_KIND[t.kind]) & set(event.roles)]


def _recipients(session: Session, event: catalogue.EventType, message: OutboxMessage,
                told: list[uuid.UUID]) -> list[User]:
    owner = catalogue.owner(message.payload)
    parties = catalogue.parties(message.tenant_id, message.payload)
    clauses = [User.tenant_id.in_(told)] if told else []
    if owner is not None:
        clauses.append(User.id == owner)
    if not clauses:
        return []
    users = session.scalars(select(User).where(User.is_active.is_(True), or_(*clauses)).order_by(User.id))
    return [u for u in users if (u.id == owner and u.tenant_id in parties) or set(u.roles) & set(event.roles)]


def _subscriptions(session: Session, topic: str, told: list[uuid.UUID]) -> list[WebhookSubscription]:
    if not told:
        return []
    rows = session.scalars(select(WebhookSubscription).where(
        WebhookSubscription.tenant_id.in_(told), WebhookSubscription.is_active.is_(True)))
    return [row for row in rows if topic in row.event_types or "*" in row.event_types]


def _add_delivery(session: Session, message: OutboxMessage, channel: DeliveryChannel, tenant_id: uuid.UUID,
                  recipient: str, **refs: uuid.UUID) -> None:
    session.add(Delivery(channel=channel, tenant_id=tenant_id, event_id=message.id, topic=message.topic,
                         recipient=recipient, **refs))
    session.info[DELIVERIES_WRITTEN_KEY] = True


# --------------------------------------------------------------------------- the inbox (in-app notifications)


@tenancy.path_resource("notification_id")
def own_notification(notification_id: uuid.UUID) -> Notification | None:
    """A notification is its recipient's alone: anyone else (colleagues included) gets 404."""
    row = db.session.get(Notification, notification_id)
    return row if row is not None and row.user_id == tenancy.current().actor_id else None


def _inbox() -> Select[tuple[Notification]]:
    return select(Notification).where(Notification.user_id == tenancy.current().actor_id)


def list_notifications(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    stmt = _inbox()
    if args.get("unread"):
        stmt = stmt.where(Notification.read_at.is_(None))
    if args.get("topic"):
        stmt = stmt.where(Notification.topic == args["topic"])
    return paginate(session, stmt, args, [Notification.id], descending=True)


def unread_count(session: Session) -> int:
    stmt = select(func.count()).select_from(_inbox().where(Notification.read_at.is_(None)).subquery())
    return session.scalar(stmt) or 0


def mark_read(notification: Notification) -> Notification:
    notification.read_at = notification.read_at or utcnow()
    return notification


def mark_all_read(session: Session) -> int:
    stmt = (update(Notification)
            .where(Notification.user_id == tenancy.current().actor_id, Notification.read_at.is_(None))
            .values(read_at=utcnow()))
    return session.execute(stmt).rowcount or 0


# --------------------------------------------------------------------------- the tenant's deliveries


def list_deliveries(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    """The tenant's e-mails and webhook calls, newest first; ``status=dead`` is the dead-letter queue."""
    stmt = select(Delivery)
    for name in ("channel", "status", "subscription_id"):
        if args.get(name):
            stmt = stmt.where(getattr(Delivery, name) == args[name])
    return paginate(session, stmt, args, [Delivery.id], descending=True)
