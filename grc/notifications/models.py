"""The transactional outbox (J4): messages written in the transaction of the change that caused them."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from grc.db import Base, IdMixin, enum_column, utcnow
from grc.tenancy import TenantScoped


class OutboxStatus(enum.StrEnum):
    pending = "pending"
    dispatched = "dispatched"
    dead = "dead"


class OutboxMessage(IdMixin, TenantScoped, Base):
    """A domain event waiting to be delivered; the relay job dispatches it at least once, in order."""

    __tablename__ = "outbox_messages"
    __audit__ = False
    __table_args__ = (Index("ix_outbox_messages_due", "status", "available_at"),)

    topic: Mapped[str] = mapped_column(String(80))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[OutboxStatus] = mapped_column(enum_column(OutboxStatus, "outbox_status"), default=OutboxStatus.pending)
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    available_at: Mapped[datetime] = mapped_column(default=utcnow)
    dispatched_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
