"""ISO 31000 risk management: criteria (R1), registers (R2), risks and assessments (R3), treatment and
acceptance (R4), reviews (R5) and controls (R6)."""
from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    ColumnElement,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grc.db import Base, IdMixin, TimestampMixin, enum_column, utcnow
from grc.tenancy import TenantScoped


class RiskStatus(enum.StrEnum):
    identified = "identified"
    assessed = "assessed"
    treatment_planned = "treatment_planned"
    in_treatment = "in_treatment"
    monitored = "monitored"
    closed = "closed"


class RiskCriteria(IdMixin, TenantScoped, Base):
    """One version of a tenant's risk criteria; a change adds a version, assessments keep theirs (R1)."""

    __tablename__ = "risk_criteria"
    __table_args__ = (UniqueConstraint("tenant_id", "version"),)

    version: Mapped[int]
    likelihood_scale: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # [{level, label, description}]
    consequence_scale: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    levels: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # lowest first: [{name, review_interval_days}]
    matrix: Mapped[list[list[str]]] = mapped_column(JSON)  # matrix[likelihood-1][consequence-1] = level name
    appetite: Mapped[str] = mapped_column(String(40))  # the highest level retained without treatment
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def rank(self, level: str) -> int:
        return [entry["name"] for entry in self.levels].index(level)

    def level_of(self, likelihood: int, consequence: int) -> str:
        return self.matrix[likelihood - 1][consequence - 1]


class RegisterShare(IdMixin, TenantScoped, Base):
    """A client shares a register read-only with a certification body it has a relationship with (R2)."""

    __tablename__ = "risk_register_shares"
    __table_args__ = (UniqueConstraint("register_id", "cb_tenant_id"),)

    register_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("risk_registers.id", ondelete="CASCADE"), index=True)
    cb_tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), index=True)

    @classmethod
    def visible_to(cls, tenant_id: uuid.UUID) -> ColumnElement[bool]:
        return or_(cls.tenant_id == tenant_id, cls.cb_tenant_id == tenant_id)


def _shared_registers(tenant_id: uuid.UUID) -> Any:
    return select(RegisterShare.register_id).where(RegisterShare.cb_tenant_id == tenant_id).scalar_subquery()


class InRegister:
    """Rows of a register: the owner sees them, and so does a CB the register is shared with (R2)."""

    @classmethod
    def visible_to(cls, tenant_id: uuid.UUID) -> ColumnElement[bool]:
        return or_(cls.tenant_id == tenant_id, cls.register_id.in_(_shared_registers(tenant_id)))  # type: ignore[attr-defined]

    @classmethod
    def visible_to_client(cls, tenant_id: uuid.UUID) -> ColumnElement[bool]:
        """Registers are shared with CBs only: a client sees its own rows, on one column."""
        return cls.tenant_id == tenant_id  # type: ignore[attr-defined,no-any-return]


class RiskRegister(IdMixin, TimestampMixin, TenantScoped, Base):
    __tablename__ = "risk_registers"

    name: Mapped[str] = mapped_column(String(200))
    scope: Mapped[str] = mapped_column(Text)
    internal_context: Mapped[str | None] = mapped_column(Text)
    external_context: Mapped[str | None] = mapped_column(Text)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    archived: Mapped[bool] = mapped_column(default=False)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    @classmethod
    def visible_to(cls, tenant_id: uuid.UUID) -> ColumnElement[bool]:
        return or_(cls.tenant_id == tenant_id, cls.id.in_(_shared_registers(tenant_id)))

    @classmethod
    def visible_to_client(cls, tenant_id: uuid.UUID) -> ColumnElement[bool]:
        """Registers are shared with CBs only: a client sees its own, on one column."""
        return cls.tenant_id == tenant_id


class Risk(IdMixin, TimestampMixin, InRegister, TenantScoped, Base):
    """A risk in a register; its latest assessment's ratings are kept on it for filters and heat maps."""

    __tablename__ = "risks"
    __table_args__ = (
        UniqueConstraint("register_id", "reference"),
        Index("ix_risks_register_level", "register_id", "current_level"),
        Index("ix_risks_review", "status", "next_review_on"),
        Index("ix_risks_owner_page", "tenant_id", "id"),
        # Covering the heat map and the KPIs (with the columns row-level security reads): index-only scans.
        Index("ix_risks_heatmap", "register_id", "tenant_id", "status", "current_likelihood", "current_consequence"),
        Index("ix_risks_kpis", "tenant_id", "current_level", "status", "above_appetite", "next_review_on",
              "identified_on", "closed_on", "register_id"),
    )

    register_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("risk_registers.id"), index=True)
    reference: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(100), index=True)
    causes: Mapped[str | None] = mapped_column(Text)
    consequences: Mapped[str | None] = mapped_column(Text)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[RiskStatus] = mapped_column(enum_column(RiskStatus, "risk_status"))
    identified_on: Mapped[date]
    closed_on: Mapped[date | None]
    criteria_version: Mapped[int | None]
    inherent_likelihood: Mapped[int | None]
    inherent_consequence: Mapped[int | None]
    inherent_level: Mapped[str | None] = mapped_column(String(40))
    current_likelihood: Mapped[int | None]
    current_consequence: Mapped[int | None]
    current_level: Mapped[str | None] = mapped_column(String(40))
    target_likelihood: Mapped[int | None]
    target_consequence: Mapped[int | None]
    target_level: Mapped[str | None] = mapped_column(String(40))
    above_appetite: Mapped[bool] = mapped_column(default=False, index=True)
    treatment_options: Mapped[list[str]] = mapped_column(JSON, default=list)
    next_review_on: Mapped[date | None]
    version: Mapped[int] = mapped_column(default=1)

    assessments: Mapped[list[RiskAssessment]] = relationship(lazy="selectin", order_by="RiskAssessment.assessed_at")
    controls: Mapped[list[Control]] = relationship(secondary="risk_controls", lazy="selectin",
                                                   order_by="Control.reference")

    __mapper_args__ = {"version_id_col": version}


class RiskAssessment(IdMixin, InRegister, TenantScoped, Base):
    """Inherent, current and target ratings with rationale; level and score derived from its criteria (R3)."""

    __tablename__ = "risk_assessments"

    risk_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("risks.id", ondelete="CASCADE"), index=True)
    register_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("risk_registers.id"))
    criteria_version: Mapped[int]
    ratings: Mapped[dict[str, Any]] = mapped_column(JSON)  # basis -> {likelihood, consequence, score, level}
    rationale: Mapped[str] = mapped_column(Text)
    assessed_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    assessed_at: Mapped[datetime] = mapped_column(default=utcnow)


class RiskAcceptance(IdMixin, InRegister, TenantScoped, Base):
    """R4: retaining a risk above appetite, accepted by someone with authority, with rationale and expiry."""

    __tablename__ = "risk_acceptances"

    risk_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("risks.id", ondelete="CASCADE"), index=True)
    register_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("risk_registers.id"))
    level: Mapped[str] = mapped_column(String(40))
    rationale: Mapped[str] = mapped_column(Text)
    accepted_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    accepted_on: Mapped[date]
    expires_on: Mapped[date] = mapped_column(index=True)


class RiskReview(IdMixin, InRegister, TenantScoped, Base):
    """R5: a periodic review of a risk; the next review date is derived from the risk's level."""

    __tablename__ = "risk_reviews"

    risk_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("risks.id", ondelete="CASCADE"), index=True)
    register_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("risk_registers.id"))
    reviewed_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    reviewed_on: Mapped[date]
    notes: Mapped[str] = mapped_column(Text)
    next_review_on: Mapped[date]


class ControlType(enum.StrEnum):
    preventive = "preventive"
    detective = "detective"
    corrective = "corrective"


class ControlNature(enum.StrEnum):
    manual = "manual"
    automated = "automated"


risk_controls = Table(
    "risk_controls",
    Base.metadata,
    Column("risk_id", ForeignKey("risks.id", ondelete="CASCADE"), primary_key=True),
    Column("control_id", ForeignKey("controls.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Control(IdMixin, TimestampMixin, TenantScoped, Base):
    """R6: a control in the tenant's library, tested at a frequency; mapped to scheme clauses."""

    __tablename__ = "controls"
    __table_args__ = (UniqueConstraint("tenant_id", "reference"), Index("ix_controls_next_test", "next_test_due"))

    reference: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    type: Mapped[ControlType] = mapped_column(enum_column(ControlType, "control_type"))
    nature: Mapped[ControlNature] = mapped_column(enum_column(ControlNature, "control_nature"))
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    test_frequency_days: Mapped[int]
    last_tested_on: Mapped[date | None]
    last_result: Mapped[str | None] = mapped_column(String(20))  # effective | partially_effective | ineffective
    next_test_due: Mapped[date | None]
    mapped_clauses: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # [{scheme_id, clause}]
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class ControlTest(IdMixin, TenantScoped, Base):
    """R6: one test of a control and its result."""

    __tablename__ = "control_tests"

    control_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("controls.id", ondelete="CASCADE"), index=True)
    tested_on: Mapped[date]
    tested_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    result: Mapped[str] = mapped_column(String(20))
    notes: Mapped[str | None] = mapped_column(Text)
