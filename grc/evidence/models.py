"""Evidence files attached to findings and actions: metadata here, bytes in the storage backend."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ColumnElement, ForeignKey, Index, String, or_
from sqlalchemy.orm import Mapped, mapped_column

from grc.db import Base, IdMixin, utcnow
from grc.tenancy import TenantScoped


class EvidenceFile(IdMixin, TenantScoped, Base):
    """Uploaded by ``tenant_id``; ``visible_tenant_id`` is the other party of the parent (CB <-> client)."""

    __tablename__ = "evidence_files"
    __table_args__ = (Index("ix_evidence_files_parent", "parent_type", "parent_id"),)

    visible_tenant_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tenants.id"))
    parent_type: Mapped[str] = mapped_column(String(20))  # "finding" | "action"
    parent_id: Mapped[uuid.UUID]
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(200))
    uploaded_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    @classmethod
    def visible_to(cls, tenant_id: uuid.UUID) -> ColumnElement[bool]:
        return or_(cls.tenant_id == tenant_id, cls.visible_tenant_id == tenant_id)
