"""Tenants (certification bodies, client organisations, the platform operator) and client relationships."""
from __future__ import annotations

import enum
import uuid
from datetime import date
from typing import Any

from sqlalchemy import JSON, ColumnElement, ForeignKey, String, UniqueConstraint, or_
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grc.db import Base, IdMixin, TimestampMixin, enum_column
from grc.tenancy import TenantScoped

# IAF CertSearch's accepted certification_status values (CB upload API v1; "hidden" shows as Draft), and how a CB
# maps its certificate statuses onto them until it says otherwise (the CB policy's registry profile, G1).
REGISTRY_STATUSES = ("active", "inactive", "suspended", "cancelled", "hidden", "withdrawn", "expired")
DEFAULT_REGISTRY_STATUSES = {"active": "active", "suspended": "suspended", "withdrawn": "withdrawn",
                             "expired": "expired"}


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
    address: Mapped[str | None] = mapped_column(String(500))  # the registered address as one display line
    # The registered address in lines (the registry's certified entity address, G1); a free-text address from
    # before the lines existed was moved to ``street`` and flagged for review (migration 0017).
    street: Mapped[str | None] = mapped_column(String(300))
    city: Mapped[str | None] = mapped_column(String(100))
    postcode: Mapped[str | None] = mapped_column(String(20))
    state: Mapped[str | None] = mapped_column(String(100))
    address_needs_review: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    # Each {name, address, street, city, postcode, state, country, needs_review} (grc.schemas.SiteSchema).
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
    # The registry profile (G1): the accreditation body's name and acronym (IAF CertSearch's), the CB's
    # accreditation number, the schemes it is accredited for (their certificates are "Accredited") and how its
    # certificate statuses read in the registry (REGISTRY_STATUSES).
    accreditation_body: Mapped[str | None] = mapped_column(String(200))
    accreditation_body_acronym: Mapped[str | None] = mapped_column(String(20))
    accreditation_number: Mapped[str | None] = mapped_column(String(80))
    accredited_schemes: Mapped[list[str]] = mapped_column(JSON, default=list)
    registry_statuses: Mapped[dict[str, str]] = mapped_column(JSON, default=lambda: dict(DEFAULT_REGISTRY_STATUSES))
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}
