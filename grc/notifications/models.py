"""Reminders (J3), in-app notifications, per-destination deliveries (J4) and webhook subscriptions (J5).

The outbox messages they are made from are ``grc.events.OutboxMessage``."""
from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from grc.db import SECRET, Base, IdMixin, TimestampMixin, enum_column, utcnow
from grc.tenancy import TenantScoped


class Reminder(IdMixin, TenantScoped, Base):
    """J3: one row per (subject, kind, due date, threshold) ever reminded; the unique key is what makes a re-run,
    a retried job or two schedulers at once send nothing twice (the insert that loses the race does nothing).
    The due date is part of the key because a renewed certificate or the next surveillance is a new deadline."""

    __in_views__ = False  # bookkeeping no cached view shows (grc.viewcache)
    __tablename__ = "reminders"
    __audit__ = False
    __table_args__ = (UniqueConstraint("subject_id", "kind", "due_on", "threshold"),)

    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[uuid.UUID]
    kind: Mapped[str] = mapped_column(String(60))
    threshold: Mapped[int]  # days before the due date (negative: days overdue)
    due_on: Mapped[date]
    sent_on: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Notification(IdMixin, TenantScoped, Base):
    """An in-app notification for one user, made from one outbox message (at most once per user)."""

    __tablename__ = "notifications"
    __audit__ = False
    __in_views__ = False  # never part of a cached view (grc.viewcache): marking all read drops nothing
    __table_args__ = (
        UniqueConstraint("event_id", "user_id"),
        Index("ix_notifications_inbox", "user_id", "read_at", "id"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("outbox_messages.id"))
    topic: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]


class DeliveryChannel(enum.StrEnum):
    email = "email"
    webhook = "webhook"


class DeliveryStatus(enum.StrEnum):
    pending = "pending"
    delivered = "delivered"
    dead = "dead"


class Delivery(IdMixin, TenantScoped, Base):
    """One message to one destination (an e-mail address or a webhook subscription), retried on its own with
    backoff until delivered or ``dead``; a failing webhook never re-sends an e-mail that already went out."""

    __in_views__ = False  # bookkeeping no cached view shows (grc.viewcache)
    __tablename__ = "deliveries"
    __audit__ = False
    __table_args__ = (
        Index("ix_deliveries_due", "status", "available_at"),
        Index("ix_deliveries_subscription", "subscription_id", "id"),
    )

    channel: Mapped[DeliveryChannel] = mapped_column(enum_column(DeliveryChannel, "delivery_channel"))
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("outbox_messages.id"), index=True)
    topic: Mapped[str] = mapped_column(String(80))
    subscription_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    recipient: Mapped[str] = mapped_column(String(2048))  # e-mail address or webhook URL at the time
    status: Mapped[DeliveryStatus] = mapped_column(
        enum_column(DeliveryStatus, "delivery_status"), default=DeliveryStatus.pending
    )
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    available_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_attempt_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    response_status: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    redelivery_of: Mapped[uuid.UUID | None]


class WebhookSubscription(IdMixin, TimestampMixin, TenantScoped, Base):
    """An endpoint that receives the tenant's events of the listed types. The signing secret is kept (HMAC
    needs it) but shown only once, when the subscription is created or the secret rotated."""

    __tablename__ = "webhook_subscriptions"

    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str | None] = mapped_column(String(500))
    event_types: Mapped[list[str]] = mapped_column(JSON)
    secret: Mapped[str] = mapped_column(String(100), info=SECRET)
    is_active: Mapped[bool] = mapped_column(default=True)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}
