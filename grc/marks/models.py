"""Certification-mark licences (ISO/IEC 17021-1 8.3, ISO/IEC 17030) and the certificates they rest on."""
from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import JSON, Column, ForeignKey, Index, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grc.certification.models import Certificate
from grc.db import Base, IdMixin, TimestampMixin, enum_column
from grc.tenancy import SharedWithClient, TenantScoped


class LicenceStatus(enum.StrEnum):
    active = "active"
    suspended = "suspended"
    withdrawn = "withdrawn"


licence_certificates = Table(
    "licence_certificates",
    Base.metadata,
    Column("licence_id", ForeignKey("mark_licences.id", ondelete="CASCADE"), primary_key=True),
    Column("certificate_id", ForeignKey("certificates.id"), primary_key=True, index=True),
)


class MarkLicence(IdMixin, TimestampMixin, SharedWithClient, TenantScoped, Base):
    """A client's licence to use the CB's certification mark; ``number`` is public and globally unique."""

    __tablename__ = "mark_licences"

    client_tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), index=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    status: Mapped[LicenceStatus] = mapped_column(enum_column(LicenceStatus, "licence_status"))
    suspended_by_cb: Mapped[bool] = mapped_column(default=False)  # the licence's own suspension (M2)
    permitted_uses: Mapped[list[str]] = mapped_column(JSON)
    domains: Mapped[list[str]] = mapped_column(JSON, default=list)
    granted_on: Mapped[date]
    granted_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    status_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(default=1)

    certificates: Mapped[list[Certificate]] = relationship(secondary=licence_certificates, lazy="selectin")
    proofs: Mapped[list[DomainProof]] = relationship(lazy="selectin", viewonly=True)

    __mapper_args__ = {"version_id_col": version}

    @property
    def domain_proofs(self) -> list[DomainProof]:
        """Each domain of the licence, in its order, with its proof (V4); a domain nobody challenged yet gets an
        unverified stand-in that is never added to a session."""
        found = {proof.domain: proof for proof in self.proofs}
        return [found.get(domain) or DomainProof(domain=domain, state=ProofState.unverified) for domain in self.domains]


class ProofState(enum.StrEnum):
    unverified = "unverified"
    proven = "proven"


class ProofMethod(enum.StrEnum):
    http = "http"  # the token served at https://{domain}/.well-known/grc-mark/{token}
    dns = "dns"  # the token as a TXT record at _grc-mark.{domain}


class DomainProof(IdMixin, TimestampMixin, SharedWithClient, TenantScoped, Base):
    """Rule V4: the licensee's proof that it controls one domain of its licence, its pending challenge, and the
    re-checks that keep it (``failing_since``: the first failed re-check of the current run of failures; 14 days of
    them withdraw the proof). The CB's row, about its client; created by the licensee's first challenge: a domain
    without one is unverified."""

    __tablename__ = "mark_domain_proofs"
    __table_args__ = (UniqueConstraint("licence_id", "domain"),
                      Index("ix_mark_domain_proofs_due", "state", "next_check_at"))

    licence_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("mark_licences.id", ondelete="CASCADE"))
    client_tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), index=True)
    domain: Mapped[str] = mapped_column(String(253))
    state: Mapped[ProofState] = mapped_column(enum_column(ProofState, "proof_state"), default=ProofState.unverified)
    method: Mapped[ProofMethod | None] = mapped_column(enum_column(ProofMethod, "proof_method"))
    token: Mapped[str | None] = mapped_column(String(64))  # the proof's token, which stays published
    proven_at: Mapped[datetime | None]
    last_checked_at: Mapped[datetime | None]
    next_check_at: Mapped[datetime | None]
    failing_since: Mapped[datetime | None]
    last_failure: Mapped[str | None] = mapped_column(Text)
    lapsed_at: Mapped[datetime | None]
    challenge_method: Mapped[ProofMethod | None] = mapped_column(enum_column(ProofMethod, "proof_method"))
    challenge_token: Mapped[str | None] = mapped_column(String(64))
    challenge_expires_at: Mapped[datetime | None]
    challenge_error: Mapped[str | None] = mapped_column(Text)  # why the last check of this challenge failed
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}
