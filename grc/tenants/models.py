"""Tenants (certification bodies, client organisations, the platform operator) and client relationships."""
from __future__ import annotations

import enum
import uuid
from datetime import date
from typing import Any

from sqlalchemy import JSON, ColumnElement, ForeignKey, String, UniqueConstraint, or_
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grc.db import Base, IdMixin, TimestampMixin, enum_column
from grc.tenancy import TenantScoped


class TenantKind(enum.StrEnum):
    platform = "platform"
    certification_body = "certification_body"
    client_organisation = "client_organisation"


class RelationshipStatus(enum.StrEnum):
    active = "active"
    ended = "ended"


class Tenant(IdMixin, TimestampMixin, Base):
    """An organisation using the platform. Not tenant-scoped itself: services decide who sees which."""

    __tablename__ = "tenants"
    __owns_views__ = True  # a change to the tenant itself drops the cached views it owns (grc.viewcache)

    kind: Mapped[TenantKind] = mapped_column(enum_column(TenantKind, "tenant_kind"))
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    legal_name: Mapped[str | None] = mapped_column(String(300))
    country: Mapped[str] = mapped_column(String(2))
    address: Mapped[str | None] = mapped_column(String(500))
    sites: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # IANA zone: the tenant's "today" for the daily sweeps (a reminder is due on the tenant's local date).
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class ClientRelationship(IdMixin, TimestampMixin, TenantScoped, Base):
    """A CB (the owning tenant) certifies a client organisation (the subject); both sides see it."""

    __tablename__ = "client_relationships"
    __table_args__ = (UniqueConstraint("tenant_id", "client_tenant_id"),)

    client_tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), index=True)
    status: Mapped[RelationshipStatus] = mapped_column(
        enum_column(RelationshipStatus, "relationship_status"), default=RelationshipStatus.active
    )
    started_on: Mapped[date]
    client: Mapped[Tenant] = relationship(foreign_keys=[client_tenant_id], lazy="joined", innerjoin=True)

    @classmethod
    def visible_to(cls, tenant_id: uuid.UUID) -> ColumnElement[bool]:
        return or_(cls.tenant_id == tenant_id, cls.client_tenant_id == tenant_id)


class CbPolicy(IdMixin, TimestampMixin, TenantScoped, Base):
    """A certification body's policy: the deadlines and tolerances its rules are computed from (F3, C6)."""

    __tablename__ = "cb_policies"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    # Defaults: grc.tenants.service.POLICY_DEFAULTS. minor_closure_days None: a minor is due by the next audit.
    response_due_days: Mapped[int]
    major_closure_days: Mapped[int]
    minor_closure_days: Mapped[int | None]
    surveillance_tolerance_days: Mapped[int]
    # C4: placeholders {cb} (CB slug, upper case), {scheme} (scheme code, letters and digits), {yyyy}, {seq:05}.
    numbering_template: Mapped[str] = mapped_column(String(120))
    max_suspension_days: Mapped[int]  # C8
    withdraw_on_lapse: Mapped[bool]  # C8: withdraw a lapsed suspension instead of flagging it
    accreditation_body: Mapped[str | None] = mapped_column(String(200))  # for the IAF CertSearch export
    accreditation_number: Mapped[str | None] = mapped_column(String(80))
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}
