"""Certificates as signed credentials (V2) and each certificate's place in its CB's status lists (V3)."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from grc.db import Base, IdMixin, utcnow
from grc.tenancy import TenantScoped


class StatusEntry(IdMixin, TenantScoped, Base):
    """A certificate's or a mark licence's index in its CB's two Bitstring Status Lists (one index, the same in the
    ``revocation`` and the ``suspension`` list) and the two bits there. One row per certificate (or licence),
    however many credentials it has: every credential of it points at the same entries. The index is drawn at
    random among the free ones (unique per CB), so it says nothing about issue order.

    A bit is a column of this row, flipped by the status change's own transaction; the list is built from the rows
    whose bit is set (docs/BENCHMARKS.md compares this with a stored bitstring). No audit event of its own: the
    bits follow the certificate's status, whose change is audited."""

    __tablename__ = "credential_status_entries"
    __audit__ = False
    __table_args__ = (
        UniqueConstraint("tenant_id", "list_index"),
        # The set bits of one CB's list, read when the list is served: tiny indexes, since few bits are set.
        Index("ix_credential_status_entries_revoked", "tenant_id", "list_index",
              postgresql_where=text("revoked"), sqlite_where=text("revoked")),
        Index("ix_credential_status_entries_suspended", "tenant_id", "list_index",
              postgresql_where=text("suspended"), sqlite_where=text("suspended")),
    )

    # Exactly one of the two: whose entry this is.
    certificate_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("certificates.id", ondelete="CASCADE"),
                                                             unique=True)
    mark_licence_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("mark_licences.id", ondelete="CASCADE"),
                                                              unique=True)
    list_index: Mapped[int]
    revoked: Mapped[bool] = mapped_column(default=False)
    suspended: Mapped[bool] = mapped_column(default=False)


class CertificateCredential(IdMixin, TenantScoped, Base):
    """The signed credential of one certificate revision (compact JWS, ``vc+jwt``), kept when superseded: it still
    verifies as a signature and points at the certificate's same status entries. Signed once, never rewritten; no
    audit event of its own (the revision it states is audited)."""

    __tablename__ = "certificate_credentials"
    __audit__ = False
    __table_args__ = (UniqueConstraint("certificate_id", "revision"),)

    certificate_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("certificates.id", ondelete="CASCADE"))
    revision: Mapped[int]
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    token: Mapped[str] = mapped_column(Text)


class MarkLicenceCredential(IdMixin, TenantScoped, Base):
    """A signed credential of a mark licence (compact JWS, ``vc+jwt``): one per distinct content (``digest`` of its
    claims), signed when the licence is granted and again when what it states changes (its certificates' expiry
    after a renewal); kept when superseded. No audit event of its own (the licence's changes are audited)."""

    __tablename__ = "mark_licence_credentials"
    __audit__ = False
    __table_args__ = (UniqueConstraint("mark_licence_id", "digest"),)

    mark_licence_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("mark_licences.id", ondelete="CASCADE"))
    digest: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    token: Mapped[str] = mapped_column(Text)
