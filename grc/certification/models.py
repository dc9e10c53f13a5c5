"""Certification decisions, certificates with revisions and history (ISO/IEC 17021-1 8.2, 9.5, 9.6)."""
from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grc.db import Base, IdMixin, TimestampMixin, enum_column, utcnow
from grc.schemes.models import Scheme
from grc.tenancy import SharedWithClient, TenantScoped


class Outcome(enum.StrEnum):
    grant = "grant"
    refuse = "refuse"
    renew = "renew"
    restore = "restore"
    extend_scope = "extend_scope"
    reduce_scope = "reduce_scope"
    suspend = "suspend"
    withdraw = "withdraw"
    accept_transfer = "accept_transfer"


class CertificateStatus(enum.StrEnum):
    active = "active"
    suspended = "suspended"
    withdrawn = "withdrawn"
    expired = "expired"


decision_audits = Table(
    "decision_audits",
    Base.metadata,
    Column("decision_id", ForeignKey("certification_decisions.id", ondelete="CASCADE"), primary_key=True),
    Column("audit_id", ForeignKey("audits.id"), primary_key=True, index=True),
)


class CertificationDecision(IdMixin, TimestampMixin, SharedWithClient, TenantScoped, Base):
    """Who decided what, when, on which audits and why (C2); the client reads the decisions about it."""

    __tablename__ = "certification_decisions"

    client_tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), index=True)
    scheme_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schemes.id"))
    certificate_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("certificates.id"), index=True)
    outcome: Mapped[Outcome] = mapped_column(enum_column(Outcome, "decision_outcome"))
    decided_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    decided_on: Mapped[date]
    rationale: Mapped[str] = mapped_column(Text)
    scope: Mapped[str | None] = mapped_column(Text)
    sites: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    audits: Mapped[list[Any]] = relationship("Audit", secondary=decision_audits, lazy="selectin")
    scheme: Mapped[Scheme] = relationship(lazy="joined")


class Certificate(IdMixin, TimestampMixin, SharedWithClient, TenantScoped, Base):
    """A certificate a CB issued to a client for one scheme; its content lives in revisions (C5)."""

    __tablename__ = "certificates"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        Index("ix_certificates_status_expiry", "status", "expiry_date"),
        Index("ix_certificates_status_surveillance", "status", "surveillance_due"),
        Index("ix_certificates_owner_page", "tenant_id", "id"),
        Index("ix_certificates_client_page", "client_tenant_id", "id"),
    )

    client_tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), index=True)
    scheme_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schemes.id"), index=True)
    number: Mapped[str] = mapped_column(String(80))
    status: Mapped[CertificateStatus] = mapped_column(enum_column(CertificateStatus, "certificate_status"))
    original_issue_date: Mapped[date]
    issue_date: Mapped[date]
    expiry_date: Mapped[date]
    suspended_on: Mapped[date | None]
    suspended_until: Mapped[date | None] = mapped_column(index=True)
    flagged_for_withdrawal: Mapped[bool] = mapped_column(default=False)
    expired_on: Mapped[date | None]
    # C6: the next surveillance audit's derived due date (None once both are done: recertification is next).
    surveillance_due: Mapped[date | None]
    transferred_from: Mapped[str | None] = mapped_column(String(300))
    revision: Mapped[int] = mapped_column(default=1)
    version: Mapped[int] = mapped_column(default=1)

    scheme: Mapped[Scheme] = relationship(lazy="joined")
    revisions: Mapped[list[CertificateRevision]] = relationship(
        lazy="selectin", order_by="CertificateRevision.revision", cascade="all, delete-orphan"
    )
    history: Mapped[list[CertificateEvent]] = relationship(
        lazy="selectin", order_by="CertificateEvent.at", cascade="all, delete-orphan"
    )
    # The revision in force alone (C5), for lists: joined into their query instead of loading every revision.
    current_revision: Mapped[CertificateRevision] = relationship(
        primaryjoin="and_(CertificateRevision.certificate_id == Certificate.id, "
                    "CertificateRevision.revision == Certificate.revision)",
        viewonly=True, uselist=False, lazy="raise",
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def current(self) -> CertificateRevision:
        return self.revisions[-1]


class CertificateRevision(IdMixin, SharedWithClient, TenantScoped, Base):
    """One issue of the certificate's content (C5); older revisions stay, marked superseded."""

    __tablename__ = "certificate_revisions"
    __table_args__ = (UniqueConstraint("certificate_id", "revision"),)

    certificate_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("certificates.id", ondelete="CASCADE"), index=True)
    client_tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    revision: Mapped[int]
    issued_on: Mapped[date]
    superseded_on: Mapped[date | None]
    reason: Mapped[str] = mapped_column(Text)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)


class CertificateEvent(IdMixin, SharedWithClient, TenantScoped, Base):
    """A status change or reissue of a certificate, with its reason (C7)."""

    __tablename__ = "certificate_events"

    certificate_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("certificates.id", ondelete="CASCADE"), index=True)
    client_tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[uuid.UUID | None]
    action: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    decision_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("certification_decisions.id"))


class TransferStatus(enum.StrEnum):
    requested = "requested"
    accepted = "accepted"


class CertificateTransfer(IdMixin, TimestampMixin, SharedWithClient, TenantScoped, Base):
    """C11: a client asks a receiving CB (owner) to take over a certificate another CB issued."""

    __tablename__ = "certificate_transfers"

    client_tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), index=True)
    source_certificate_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("certificates.id"))
    source_number: Mapped[str] = mapped_column(String(80))
    source_cb_name: Mapped[str] = mapped_column(String(200))
    status: Mapped[TransferStatus] = mapped_column(enum_column(TransferStatus, "transfer_status"))
    requested_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    certificate_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("certificates.id"))
    accepted_on: Mapped[date | None]
