"""Certification-mark licences (ISO/IEC 17021-1 8.3, ISO/IEC 17030) and the certificates they rest on."""
from __future__ import annotations

import enum
import uuid
from datetime import date

from sqlalchemy import JSON, Column, ForeignKey, String, Table, Text
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

    __mapper_args__ = {"version_id_col": version}
