"""Corrective and risk-treatment actions (F6), shared by findings and risks."""
from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import ColumnElement, ForeignKey, Index, String, Text, or_
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grc.db import Base, IdMixin, TimestampMixin, enum_column, utcnow
from grc.tenancy import TenantScoped


class ActionKind(enum.StrEnum):
    corrective = "corrective"
    treatment = "treatment"


class ActionStatus(enum.StrEnum):
    planned = "planned"
    in_progress = "in_progress"
    done = "done"
    cancelled = "cancelled"


class Effectiveness(enum.StrEnum):
    effective = "effective"
    not_effective = "not_effective"


class Action(IdMixin, TimestampMixin, TenantScoped, Base):
    """Owned by the tenant doing the work; the CB whose finding it answers reads it (``shared_with``)."""

    __tablename__ = "actions"
    __table_args__ = (Index("ix_actions_due", "status", "due_date"),)

    shared_with_tenant_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    kind: Mapped[ActionKind] = mapped_column(enum_column(ActionKind, "action_kind"))
    finding_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("findings.id"), index=True)
    risk_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("risks.id"), index=True)  # treatment actions (R4)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    due_date: Mapped[date]
    status: Mapped[ActionStatus] = mapped_column(enum_column(ActionStatus, "action_status"),
                                                 default=ActionStatus.planned)
    completed_on: Mapped[date | None]
    effectiveness: Mapped[Effectiveness | None] = mapped_column(enum_column(Effectiveness, "action_effectiveness"))
    effectiveness_comment: Mapped[str | None] = mapped_column(Text)
    effectiveness_reviewed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    effectiveness_reviewed_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)

    notes: Mapped[list[ActionNote]] = relationship(lazy="selectin", order_by="ActionNote.at",
                                                   cascade="all, delete-orphan")

    __mapper_args__ = {"version_id_col": version}

    @classmethod
    def visible_to(cls, tenant_id: uuid.UUID) -> ColumnElement[bool]:
        return or_(cls.tenant_id == tenant_id, cls.shared_with_tenant_id == tenant_id)


class ActionNote(IdMixin, TenantScoped, Base):
    """A progress note on an action."""

    __tablename__ = "action_notes"

    action_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("actions.id", ondelete="CASCADE"), index=True)
    shared_with_tenant_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tenants.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    progress_percent: Mapped[int | None]

    @classmethod
    def visible_to(cls, tenant_id: uuid.UUID) -> ColumnElement[bool]:
        return or_(cls.tenant_id == tenant_id, cls.shared_with_tenant_id == tenant_id)
