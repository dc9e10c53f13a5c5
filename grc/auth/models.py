"""Users, machine clients and revoked tokens; the role catalogue of DESIGN.md section 2."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from grc.db import Base, IdMixin, TimestampMixin
from grc.tenancy import TenantScoped
from grc.tenants.models import TenantKind

ROLES_BY_KIND: dict[TenantKind, tuple[str, ...]] = {
    TenantKind.platform: ("platform_admin",),
    TenantKind.certification_body: ("cb_admin", "certification_manager", "auditor", "cb_viewer"),
    TenantKind.client_organisation: ("client_admin", "risk_manager", "member", "client_viewer"),
}
ALL_ROLES: tuple[str, ...] = tuple(role for roles in ROLES_BY_KIND.values() for role in roles)
ADMIN_ROLES = ("platform_admin", "cb_admin", "client_admin")

# Audit-trail marker: these columns are recorded as changed, never with their value.
SECRET = {"audit": "redact"}


class User(IdMixin, TimestampMixin, TenantScoped, Base):
    """A person; belongs to one tenant and holds one or more of that tenant kind's roles."""

    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200), info=SECRET)
    roles: Mapped[list[str]] = mapped_column(JSON)
    is_active: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class ApiClient(IdMixin, TimestampMixin, TenantScoped, Base):
    """An integration's credentials: a public client id and a secret stored only as an argon2id hash."""

    __tablename__ = "api_clients"

    name: Mapped[str] = mapped_column(String(200))
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(200), info=SECRET)
    roles: Mapped[list[str]] = mapped_column(JSON)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[uuid.UUID | None]
    last_used_at: Mapped[datetime | None]


class RevokedToken(Base):
    """A JWT revoked before its expiry (logout, refresh rotation); rows past ``expires_at`` can be purged."""

    __tablename__ = "revoked_tokens"
    __audit__ = False

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)
