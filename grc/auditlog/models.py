"""The append-only, per-tenant hash-chained audit trail (rule A1)."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grc.db import Base, IdMixin
from grc.tenancy import TenantScoped
from grc.tenants.models import Tenant


class AuditEvent(IdMixin, TenantScoped, Base):
    """One change. ``hash`` = sha256 of the canonical event and ``prev_hash`` in the format ``hash_version`` names
    (``grc.auditlog.service.chain_hash``); ``seq`` numbers the chain."""

    __in_views__ = False  # bookkeeping no cached view shows (grc.viewcache)
    __tablename__ = "audit_events"
    __audit__ = False
    __table_args__ = (UniqueConstraint("tenant_id", "seq"),)

    seq: Mapped[int]
    occurred_at: Mapped[datetime]
    actor_type: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[uuid.UUID | None]
    action: Mapped[str] = mapped_column(String(80))
    entity_type: Mapped[str] = mapped_column(String(80))
    entity_id: Mapped[uuid.UUID] = mapped_column(index=True)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)
    request_id: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # Events written before versions existed (and by code that does not set it) were hashed in format 1.
    hash_version: Mapped[int] = mapped_column(server_default=text("1"))


class AuditChainHead(Base):
    """The last link of a tenant's chain; locked while appending so two writers cannot fork the chain."""

    __tablename__ = "audit_chain_heads"
    __audit__ = False

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    tenant: Mapped[Tenant] = relationship(lazy="raise")  # orders a new tenant's insert before its head
    last_seq: Mapped[int] = mapped_column(default=0)
    last_hash: Mapped[str] = mapped_column(String(64))
