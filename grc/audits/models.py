"""The audit programme: stage 1, stage 2, surveillance, recertification, special and transfer-review audits."""
from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, ColumnElement, ForeignKey, Index, String, Table, Text, UniqueConstraint, or_
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grc.db import Base, IdMixin, TimestampMixin, enum_column
from grc.schemes.models import Scheme
from grc.tenancy import TenantScoped


class AuditType(enum.StrEnum):
    stage1 = "stage1"
    stage2 = "stage2"
    surveillance = "surveillance"
    recertification = "recertification"
    special = "special"
    transfer_review = "transfer_review"


class AuditStatus(enum.StrEnum):
    planned = "planned"
    in_progress = "in_progress"
    completed = "completed"
    cancelled = "cancelled"


audit_schemes = Table(
    "audit_schemes",
    Base.metadata,
    Column("audit_id", ForeignKey("audits.id", ondelete="CASCADE"), primary_key=True),
    Column("scheme_id", ForeignKey("schemes.id"), primary_key=True, index=True),
)


class Audit(IdMixin, TimestampMixin, TenantScoped, Base):
    """An audit a CB (owner) performs at a client organisation (subject, who sees it read-only)."""

    __tablename__ = "audits"
    __table_args__ = (Index("ix_audits_client_type_status", "client_tenant_id", "type", "status"),)

    client_tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), index=True)
    type: Mapped[AuditType] = mapped_column(enum_column(AuditType, "audit_type"))
    status: Mapped[AuditStatus] = mapped_column(enum_column(AuditStatus, "audit_status"), default=AuditStatus.planned)
    planned_start: Mapped[date]
    planned_end: Mapped[date]
    started_at: Mapped[datetime | None]
    completed_on: Mapped[date | None]
    sites: Mapped[list[str]] = mapped_column(JSON, default=list)
    objectives: Mapped[str | None] = mapped_column(Text)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    lead_auditor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(default=1)

    schemes: Mapped[list[Scheme]] = relationship(secondary=audit_schemes, lazy="selectin", order_by=Scheme.code)
    team: Mapped[list[AuditTeamMember]] = relationship(
        back_populates="audit", lazy="selectin", cascade="all, delete-orphan", order_by="AuditTeamMember.name"
    )

    __mapper_args__ = {"version_id_col": version}

    @classmethod
    def visible_to(cls, tenant_id: uuid.UUID) -> ColumnElement[bool]:
        return or_(cls.tenant_id == tenant_id, cls.client_tenant_id == tenant_id)

    @property
    def team_user_ids(self) -> list[uuid.UUID]:
        return [member.user_id for member in self.team]

    @property
    def scheme_ids(self) -> list[uuid.UUID]:
        return [scheme.id for scheme in self.schemes]

    def as_summary(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type.value, "status": self.status.value}


class AuditTeamMember(IdMixin, TenantScoped, Base):
    """An auditor on an audit's team (the lead included); rule C2 keeps them from deciding on it.

    The name is copied at assignment so the client, who cannot read the CB's users, sees who audits it.
    """

    __tablename__ = "audit_team_members"
    __table_args__ = (UniqueConstraint("audit_id", "user_id"),)

    audit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("audits.id", ondelete="CASCADE"), index=True)
    client_tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    is_lead: Mapped[bool] = mapped_column(default=False)
    audit: Mapped[Audit] = relationship(back_populates="team")

    @classmethod
    def visible_to(cls, tenant_id: uuid.UUID) -> ColumnElement[bool]:
        return or_(cls.tenant_id == tenant_id, cls.client_tenant_id == tenant_id)
