"""Relaying the outbox into notifications and deliveries (J4), and idempotent reminders (J3).

Messages reach the outbox through ``grc.events.publish``, in the transaction of the change. ``relay`` fans each
due message out, in one transaction per batch, into in-app notifications for the users who should hear it and one
``Delivery`` per e-mail address and webhook subscription (see ``catalogue``); a failing fan-out leaves the message
pending with exponential backoff, and after ``MAX_ATTEMPTS`` it is parked as ``dead`` (never lost). ``remind`` is
the one door to a reminder: its unique key decides, inside the database, whether this run is the one that tells.
"""
from __future__ import annotations

import logging
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import CursorResult, Select, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from grc import tenancy
from grc.api import paginate
from grc.auth.models import ROLES_BY_KIND, User
from grc.db import new_id, utcnow
from grc.events import OutboxMessage, OutboxStatus, publish
from grc.extensions import db
from grc.notifications import catalogue
from grc.notifications.delivery import DELIVERIES_WRITTEN_KEY
from grc.notifications.models import Delivery, DeliveryChannel, Notification, Reminder, WebhookSubscription
from grc.tenants.models import Tenant, TenantKind

MAX_ATTEMPTS = 8
RELAY_BATCH = 200
log = logging.getLogger("grc.outbox")


@dataclass(frozen=True)
class Due:
    """One reminder a sweep found due: about which subject, what kind, for which due date and threshold."""

    tenant_id: uuid.UUID
    subject_type: str
    subject_id: uuid.UUID
    kind: str
    threshold: int  # days before the due date (0: overdue)
    due_on: date
    payload: dict[str, Any]

    @property
    def key(self) -> tuple[uuid.UUID, str, date, int]:
        return self.subject_id, self.kind, self.due_on, self.threshold


def remind(session: Session, dues: Iterable[Due], today: date) -> int:
    """Publish each due reminder once per (subject, kind, due date, threshold), ever (J3); returns how many.

    One multi-row INSERT .. ON CONFLICT DO NOTHING RETURNING per batch: the rows it returns are the reminders
    this run won. The insert that loses a race (a re-run, a retried job, a second scheduler) returns nothing
    for them: on PostgreSQL it waits for the winner's commit and then skips; SQLite serialises writers.
    """
    dues = list(dues)
    if not dues:
        return 0
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    table = Reminder.metadata.tables[Reminder.__tablename__]  # typed as the Table it is (__table__ is not)
    stmt = (
        insert(table)
        .values([{"id": new_id(), "tenant_id": due.tenant_id, "subject_type": due.subject_type,
                  "subject_id": due.subject_id, "kind": due.kind, "threshold": due.threshold, "due_on": due.due_on,
                  "sent_on": today, "created_at": utcnow()} for due in dues])
        .on_conflict_do_nothing(index_elements=["subject_id", "kind", "due_on", "threshold"])
        .returning(table.c.subject_id, table.c.kind, table.c.due_on, table.c.threshold)
    )
    won = {tuple(row) for row in session.execute(stmt)}
    for due in dues:
        if due.key in won:
            publish(session, due.kind, due.payload | {"due_on": due.due_on.isoformat(), "threshold": due.threshold},
                    tenant_id=due.tenant_id)
    return len(won)


def relay(session: Session, *, now: datetime | None = None, batch: int = RELAY_BATCH,
          isolated: bool = False) -> dict[str, int]:
    """Fan out one batch of due messages; safe to run concurrently (rows are claimed with SKIP LOCKED).

    The audience of the whole batch is read in three queries and the batch is written in one flush. Should the
    database refuse that flush, the batch is redone ``isolated``: one savepoint per message, so one bad message
    is retried (and parked as ``dead`` in the end) without holding the others back.
    """
    now = now or utcnow()
    stmt = (
        select(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.pending, OutboxMessage.available_at <= now)
        .order_by(OutboxMessage.available_at, OutboxMessage.id)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    messages = list(session.scalars(stmt))
    audience = Audience.of(session, messages)
    counts = Counter(_dispatch(session, message, now, audience, isolated) for message in messages)
    try:
        session.commit()
    except SQLAlchemyError:
        if isolated:
            raise
        log.warning("outbox batch refused by the database; retrying it one message at a time", exc_info=True)
        session.rollback()
        return relay(session, now=now, batch=batch, isolated=True)
    return {outcome: counts[outcome] for outcome in ("dispatched", "retrying", "dead")}


def _dispatch(session: Session, message: OutboxMessage, now: datetime, audience: Audience, isolated: bool) -> str:
    message.attempts += 1
    try:
        rows = fan_out(session, message, audience)
        if isolated:
            with session.begin_nested():
                session.add_all(rows)
        else:
            session.add_all(rows)
    except Exception as exc:  # noqa: BLE001 - any failure is retried, never lost
        log.warning("outbox fan-out failed", extra={"message_id": str(message.id), "error": str(exc)})
        message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if message.attempts >= MAX_ATTEMPTS:
            message.status = OutboxStatus.dead
            return "dead"
        message.available_at = now + timedelta(seconds=30 * 2 ** (message.attempts - 1))
        return "retrying"
    if any(isinstance(row, Delivery) for row in rows):
        session.info[DELIVERIES_WRITTEN_KEY] = True
    message.status = OutboxStatus.dispatched
    message.dispatched_at = now
    message.last_error = None
    return "dispatched"


@dataclass(frozen=True)
class Audience:
    """Everyone a batch of messages could reach: tenant kinds, active users and active webhook subscriptions
    of every party, read once per batch instead of three queries per message."""

    kinds: dict[uuid.UUID, TenantKind]
    users: dict[uuid.UUID, list[User]]
    subscriptions: dict[uuid.UUID, list[WebhookSubscription]]

    @classmethod
    def of(cls, session: Session, messages: list[OutboxMessage]) -> Audience:
        parties = {party for m in messages if m.topic in catalogue.EVENTS
                   for party in catalogue.parties(m.tenant_id, m.payload)}
        if not parties:
            return cls({}, {}, {})
        users: dict[uuid.UUID, list[User]] = defaultdict(list)
        for user in session.scalars(select(User).where(User.tenant_id.in_(parties), User.is_active.is_(True))
                                    .order_by(User.id)):
            users[user.tenant_id].append(user)
        subscriptions: dict[uuid.UUID, list[WebhookSubscription]] = defaultdict(list)
        for row in session.scalars(select(WebhookSubscription).where(
                WebhookSubscription.tenant_id.in_(parties), WebhookSubscription.is_active.is_(True))):
            subscriptions[row.tenant_id].append(row)
        kinds = {tenant.id: tenant.kind for tenant in session.scalars(select(Tenant).where(Tenant.id.in_(parties)))}
        return cls(kinds, users, subscriptions)

    def told(self, event: catalogue.EventType, parties: set[uuid.UUID]) -> list[uuid.UUID]:
        """The parties whose tenant kind has one of the event's roles (the side the event is meant for)."""
        return [t for t in sorted(parties) if t in self.kinds and set(ROLES_BY_KIND[self.kinds[t]]) & set(event.roles)]

    def recipients(self, event: catalogue.EventType, parties: set[uuid.UUID], told: list[uuid.UUID],
                   owner: uuid.UUID | None) -> list[User]:
        """Users of the told parties holding one of the event's roles, and the record's owner (if a party's)."""
        return [user for tenant in sorted(parties) for user in self.users.get(tenant, [])
                if user.id == owner or (tenant in told and set(user.roles) & set(event.roles))]

    def webhooks(self, topic: str, told: list[uuid.UUID]) -> list[WebhookSubscription]:
        return [row for tenant in told for row in self.subscriptions.get(tenant, [])
                if topic in row.event_types or "*" in row.event_types]


def fan_out(session: Session, message: OutboxMessage, audience: Audience) -> list[Notification | Delivery]:
    """The notifications and deliveries of one message, for everyone the catalogue says should hear it."""
    event = catalogue.EVENTS.get(message.topic)
    if event is None:
        return []
    parties = catalogue.parties(message.tenant_id, message.payload)
    told = audience.told(event, parties)
    sends_email = current_app.config["GRC_SETTINGS"].sends_email
    title = catalogue.title(event, message.payload)
    rows: list[Notification | Delivery] = []
    for user in audience.recipients(event, parties, told, catalogue.owner(message.payload)):
        rows.append(Notification(tenant_id=user.tenant_id, user_id=user.id, event_id=message.id, topic=message.topic,
                                 title=title, body=event.summary, data=message.payload))
        if sends_email:
            rows.append(_delivery(message, DeliveryChannel.email, user.tenant_id, user.email, user_id=user.id))
    for subscription in audience.webhooks(message.topic, told):
        rows.append(_delivery(message, DeliveryChannel.webhook, subscription.tenant_id, subscription.url,
                              subscription_id=subscription.id))
    return rows


def _delivery(message: OutboxMessage, channel: DeliveryChannel, tenant_id: uuid.UUID, recipient: str,
              **refs: uuid.UUID) -> Delivery:
    return Delivery(channel=channel, tenant_id=tenant_id, event_id=message.id, topic=message.topic,
                    recipient=recipient, **refs)


# --------------------------------------------------------------------------- the inbox (in-app notifications)


@tenancy.path_resource("notification_id")
def own_notification(notification_id: uuid.UUID) -> Notification | None:
    """A notification is its recipient's alone: anyone else (colleagues included) gets 404."""
    row = db.session.get(Notification, notification_id)
    return row if row is not None and row.user_id == tenancy.current().actor_id else None


def _inbox() -> Select[Notification]:
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
    result = session.execute(stmt)
    assert isinstance(result, CursorResult)  # an UPDATE without RETURNING: Session.execute's typing cannot say so
    return result.rowcount or 0


# --------------------------------------------------------------------------- the tenant's deliveries


def list_deliveries(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    """The tenant's e-mails and webhook calls, newest first; ``status=dead`` is the dead-letter queue."""
    stmt = select(Delivery)
    for name in ("channel", "status", "subscription_id"):
        if args.get(name):
            stmt = stmt.where(getattr(Delivery, name) == args[name])
    return paginate(session, stmt, args, [Delivery.id], descending=True)
