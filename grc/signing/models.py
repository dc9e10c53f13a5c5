"""A certification body's signing keys (V1): the newest unretired one signs; retired ones stay published while
anything they signed is still valid."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from grc.db import SECRET, Base, IdMixin, utcnow
from grc.tenancy import TenantScoped


class SigningKey(IdMixin, TenantScoped, Base):
    """One Ed25519 key of a CB. ``sealed_private_key`` is encrypted with the key-encryption key (grc.signing.keys)
    and never leaves this module; ``signs_until`` is the latest ``validUntil`` of what it signed."""

    __tablename__ = "signing_keys"
    __table_args__ = (Index("ix_signing_keys_tenant_created", "tenant_id", "created_at"),)

    kid: Mapped[str] = mapped_column(String(64), unique=True)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    sealed_private_key: Mapped[bytes] = mapped_column(LargeBinary, info=SECRET)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None]
    signs_until: Mapped[date | None]

    def published_on(self, today: date) -> bool:
        """V1: the current key, and a retired one while a credential it signed is still valid."""
        return self.retired_at is None or (self.signs_until is not None and self.signs_until >= today)
