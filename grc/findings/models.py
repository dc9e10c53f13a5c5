"""Findings (major/minor nonconformities, observations, opportunities) and their history (F1-F5)."""
from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grc.db import Base, IdMixin, TimestampMixin, enum_column, utcnow
from grc.tenancy import SharedWithClient, TenantScoped


class Grade(enum.StrEnum):
    major = "major"
    minor = "minor"
    observation = "observation"
    opportunity = "opportunity"


class FindingSource(enum.StrEnum):
    audit = "audit"  # raised by a CB auditor
    internal_audit = "internal_audit"  # the client's own (F5): never visible to the CB
    complaint = "complaint"
    incident = "incident"


class FindingStatus(enum.StrEnum):
    open = "open"
    response_submitted = "response_submitted"
    plan_accepted = "plan_accepted"
    plan_rejected = "plan_rejected"
    implemented = "implemented"
    verified = "verified"
    closed = "closed"


NONCONFORMITIES = (Grade.major, Grade.minor)


class Finding(IdMixin, TimestampMixin, SharedWithClient, TenantScoped, Base):
    """Owner: the CB that raised it (or the client, for its own NCs); subject: the audited client."""

    __tablename__ = "findings"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        Index("ix_findings_client_status", "client_tenant_id", "status"),
        Index("ix_findings_owner_page", "tenant_id", "id"),
        Index("ix_findings_client_page", "client_tenant_id", "id"),
        Index("ix_findings_due", "status", "closure_due"),
    )

    client_tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    audit_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("audits.id"), index=True)
    scheme_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("schemes.id"))
    source: Mapped[FindingSource] = mapped_column(enum_column(FindingSource, "finding_source"))
    number: Mapped[str] = mapped_column(String(40))
    grade: Mapped[Grade] = mapped_column(enum_column(Grade, "finding_grade"))
    status: Mapped[FindingStatus] = mapped_column(
        enum_column(FindingStatus, "finding_status"), default=FindingStatus.open
    )
    clause: Mapped[str] = mapped_column(String(40))
    requirement: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(Text)
    statement: Mapped[str] = mapped_column(Text)
    raised_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    raised_on: Mapped[date]
    verifier_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    response_due: Mapped[date | None]
    closure_due: Mapped[date | None]
    correction: Mapped[str | None] = mapped_column(Text)
    root_cause: Mapped[str | None] = mapped_column(Text)
    corrective_action_plan: Mapped[str | None] = mapped_column(Text)
    target_date: Mapped[date | None]
    implementation_evidence: Mapped[str | None] = mapped_column(Text)
    verified_on: Mapped[date | None]
    closed_on: Mapped[date | None]
    version: Mapped[int] = mapped_column(default=1)

    history: Mapped[list[FindingEvent]] = relationship(
        back_populates="finding", lazy="selectin", order_by="FindingEvent.at", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_nonconformity(self) -> bool:
        return self.grade in NONCONFORMITIES

    @property
    def is_clients_own(self) -> bool:
        return self.source != FindingSource.audit


class FindingEvent(IdMixin, SharedWithClient, TenantScoped, Base):
    """One step of a finding's workflow: who moved it from which state to which, with what they said."""

    __tablename__ = "finding_events"

    finding_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("findings.id", ondelete="CASCADE"), index=True)
    client_tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[uuid.UUID | None]
    action: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(40))
    to_status: Mapped[str] = mapped_column(String(40))
    comment: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    finding: Mapped[Finding] = relationship(back_populates="history")
