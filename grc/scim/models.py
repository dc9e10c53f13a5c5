"""SCIM 2.0 provisioning (issue 18 item 3): the bearer tokens an identity provider uses, the groups it pushes, their
members, and the grc roles a tenant admin maps each group to."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from grc.db import SECRET, Base, IdMixin, TimestampMixin
from grc.tenancy import TenantScoped

TOKEN_HASH_LENGTH = 64  # sha256, hex


class ScimToken(IdMixin, TimestampMixin, TenantScoped, Base):
    """A provisioning credential of one tenant. The secret has 256 random bits, so its SHA-256 is a safe lookup key
    (a slow password hash would be wasted on it, and SCIM clients call in bursts); it is shown once."""

    __tablename__ = "scim_tokens"

    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(TOKEN_HASH_LENGTH), unique=True, info=SECRET)
    created_by: Mapped[uuid.UUID | None]
    revoked_at: Mapped[datetime | None]


class ScimGroup(IdMixin, TimestampMixin, TenantScoped, Base):
    """A group the identity provider pushes; ``roles`` (set by the tenant admin, never by SCIM) are the grc roles its
    members hold."""

    __tablename__ = "scim_groups"
    __table_args__ = (UniqueConstraint("tenant_id", "display_name", name="uq_scim_groups_tenant_display_name"),)

    display_name: Mapped[str] = mapped_column(String(200))
    external_id: Mapped[str | None] = mapped_column(String(200))
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class ScimGroupMember(IdMixin, TenantScoped, Base):
    """One user in one group."""

    __tablename__ = "scim_group_members"
    __table_args__ = (UniqueConstraint("group_id", "user_id", name="uq_scim_group_members_group_user"),
                      Index("ix_scim_group_members_user_id", "user_id"))

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("scim_groups.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
