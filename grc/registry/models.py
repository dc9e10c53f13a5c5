"""A CB's connection to an accreditation registry (IAF CertSearch) and where each certificate stands in it (G2)."""
from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from grc.db import SECRET, UNAUDITED, Base, IdMixin, TimestampMixin, enum_column, utcnow
from grc.tenancy import TenantScoped


class SyncStatus(enum.StrEnum):
    pending = "pending"  # changed since it was last sent (or never sent): the push job sends it
    synced = "synced"  # the registry holds what was last sent
    failed = "failed"  # refused by the registry's rules (or ours, G1): not retried until the certificate changes


class RegistryConnection(IdMixin, TimestampMixin, TenantScoped, Base):
    """One CB's connection to IAF CertSearch: where, with which key (sealed, bound to this row: never returned), whether
    it pushes, and how the last push and reconciliation went."""

    __in_views__ = False  # no cached view shows it (grc.viewcache)
    __tablename__ = "registry_connections"
    __table_args__ = (UniqueConstraint("tenant_id"),)  # one IAF CertSearch account per CB

    base_url: Mapped[str] = mapped_column(String(500))
    sealed_api_key: Mapped[bytes] = mapped_column(LargeBinary, info=SECRET)
    key_set_at: Mapped[datetime] = mapped_column(default=utcnow)
    enabled: Mapped[bool] = mapped_column(default=False)
    dry_run: Mapped[bool] = mapped_column(default=True)
    repush_differences: Mapped[bool] = mapped_column(default=False)
    # The push's bookkeeping (each run writes it; the audit trail keeps the settings, not every attempt).
    last_attempt_at: Mapped[datetime | None] = mapped_column(info=UNAUDITED)
    last_success_at: Mapped[datetime | None] = mapped_column(info=UNAUDITED)
    last_error: Mapped[str | None] = mapped_column(Text, info=UNAUDITED)
    failures: Mapped[int] = mapped_column(default=0, info=UNAUDITED)  # in a row: how long the backoff is
    retry_at: Mapped[datetime | None] = mapped_column(info=UNAUDITED)  # no push before (backoff, 429)
    last_reconciled_at: Mapped[datetime | None] = mapped_column(info=UNAUDITED)
    differences: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, info=UNAUDITED)
    version: Mapped[int] = mapped_column(default=1)


class RegistryRecordState(IdMixin, TenantScoped, Base):
    """Where one certificate stands in the CB's registry: pending, synced or failed, the registry's own words when it
    refused, and the digest of the body last accepted, so an unchanged record is never pushed twice."""

    __in_views__ = False  # bookkeeping no cached view shows (grc.viewcache)
    __tablename__ = "registry_record_states"
    __audit__ = False
    __table_args__ = (Index("ix_registry_record_states_due", "tenant_id", "status"),)

    certificate_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("certificates.id", ondelete="CASCADE"), unique=True)
    status: Mapped[SyncStatus] = mapped_column(enum_column(SyncStatus, "registry_sync_status"),
                                               default=SyncStatus.pending)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    synced_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    sent_digest: Mapped[str | None] = mapped_column(String(64))
