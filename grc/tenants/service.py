"""Certification bodies, their client organisations, and who may see which tenant."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from grc import tenancy
from grc.api import paginate
from grc.db import new_id, utcnow
from grc.errors import InvalidField, NotFound
from grc.events import publish
from grc.extensions import db
from grc.tenants.models import DEFAULT_REGISTRY_STATUSES, CbPolicy, ClientRelationship, Tenant, TenantKind

CB_ROLES = ("cb_admin", "certification_manager", "auditor", "cb_viewer")
POLICY_DEFAULTS: dict[str, Any] = {
    "response_due_days": 14,
    "major_closure_days": 90,
    "minor_closure_days": None,
    "surveillance_tolerance_days": 0,
    "numbering_template": "{cb}-{scheme}-{yyyy}-{seq:05}",
    "max_suspension_days": 183,
    "withdraw_on_lapse": False,
    "accreditation_body": None,
    "accreditation_body_acronym": None,
    "accreditation_number": None,
    "accredited_schemes": [],
    "registry_statuses": DEFAULT_REGISTRY_STATUSES,  # copied into each policy (never shared: JSON is mutable)
}
ADDRESS_LINES = ("street", "city", "postcode", "state")


@dataclass
class ClientView:
    """A client organisation seen through its relationship with the calling CB."""

    tenant: Tenant
    relationship: ClientRelationship

    def __getattr__(self, name: str) -> Any:
        return getattr(self.tenant, name)

    @property
    def relationship_status(self) -> str:
        return self.relationship.status.value

    @property
    def client_since(self) -> date:
        return self.relationship.started_on

    @property
    def updated_at(self) -> datetime:
        return max(self.tenant.updated_at, self.relationship.updated_at)


# --------------------------------------------------------------------------- tenants


def new_certification_body(session: Session, data: dict[str, Any]) -> Tenant:
    """A CB tenant (a platform admin's act; ``grc.auth.onboarding`` adds its first ``cb_admin``)."""
    _check_slug_free(session, data["slug"])
    data.pop("kind")
    tenant = Tenant(id=_new_tenant_id(session), kind=TenantKind.certification_body, **data)
    session.add(tenant)
    return tenant


def _new_tenant_id(session: Session) -> uuid.UUID:
    """Tenant ids are chosen up front so this unit of work may write the new tenant's first rows."""
    tenant_id = new_id()
    tenancy.allow_write_to(session, tenant_id)
    return tenant_id


# The certification body a slug names (public certificate checks, a client's transfer request): CBs are public.
CB_BY_SLUG = tenancy.Crossing("grc_certification_body", select(Tenant.id).where(
    Tenant.slug == bindparam("key"), Tenant.kind == TenantKind.certification_body))


def _check_slug_free(session: Session, slug: str) -> None:
    if session.scalars(select(Tenant.id).where(Tenant.slug == slug)).first() is not None:
        raise InvalidField("slug", "is already taken")


def list_tenants(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    """The platform's directory of certification bodies (no business data)."""
    stmt = select(Tenant).where(Tenant.kind == TenantKind.certification_body)
    return paginate(session, stmt, args, [Tenant.id])


@tenancy.path_resource("tenant_id")
def visible_tenant(tenant_id: uuid.UUID) -> Tenant | None:
    """Platform admins see every CB; everyone else sees only their own tenant."""
    principal = tenancy.current()
    tenant = db.session.get(Tenant, tenant_id)
    if tenant is None:
        return None
    if tenant.id == principal.tenant_id:
        return tenant
    if principal.has_any("platform_admin") and tenant.kind == TenantKind.certification_body:
        return tenant
    return None


def own_tenant(session: Session) -> Tenant:
    return session.get_one(Tenant, tenancy.current().tenant_id)


# --------------------------------------------------------------------------- clients


def new_client(session: Session, data: dict[str, Any]) -> ClientView:
    """A client organisation the calling CB onboards: its tenant and the relationship (``grc.auth.onboarding`` adds
    its first ``client_admin``)."""
    principal = tenancy.current()
    client = Tenant(
        id=_new_tenant_id(session),
        kind=TenantKind.client_organisation,
        slug=f"client-{uuid.uuid4().hex[:16]}",
        **data,
    )
    session.add(client)
    relationship = ClientRelationship(
        tenant_id=principal.tenant_id, client_tenant_id=client.id, started_on=utcnow().date(), client=client
    )
    session.add(relationship)
    return ClientView(client, relationship)


def list_clients(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    principal = tenancy.current()
    stmt = select(ClientRelationship).where(ClientRelationship.tenant_id == principal.tenant_id)
    if args.get("q"):
        name_like = Tenant.name.ilike(f"%{_escape_like(args['q'])}%", escape="\\")
        stmt = stmt.join(ClientRelationship.client).where(name_like)
    page = paginate(session, stmt, args, [ClientRelationship.id])
    page["items"] = [ClientView(rel.client, rel) for rel in page["items"]]
    return page


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@tenancy.path_resource("client_id")
def visible_client(client_id: uuid.UUID) -> ClientView | None:
    """A CB sees the clients it has a relationship with (the relationship row is tenant-scoped)."""
    principal = tenancy.current()
    relationship = db.session.scalars(
        select(ClientRelationship).where(
            ClientRelationship.tenant_id == principal.tenant_id, ClientRelationship.client_tenant_id == client_id
        )
    ).one_or_none()
    return None if relationship is None else ClientView(relationship.client, relationship)


def get_client(client_id: uuid.UUID) -> ClientView:
    view = visible_client(client_id)
    if view is None:
        raise NotFound("No such client.")
    return view


def update_client(session: Session, view: ClientView, changes: dict[str, Any]) -> ClientView:
    """Change the client organisation and announce it (``client.updated``): its name and addresses are on the
    certificates a registry holds (G2)."""
    tenancy.allow_write_to(session, view.tenant.id)
    if any(line in changes for line in ADDRESS_LINES):
        changes = {**changes, "address_needs_review": False}  # someone wrote the lines: reviewed
    for key, value in changes.items():
        setattr(view.tenant, key, value)
    session.flush()
    publish(session, "client.updated", {"client_id": str(view.tenant.id), "changed": sorted(changes)},
            subject=view.tenant)
    return view


# --------------------------------------------------------------------------- CB policy


def policy(session: Session, tenant_id: uuid.UUID | None = None) -> CbPolicy:
    """A CB's policy (the caller's by default); the documented defaults until the CB saves its own."""
    tenant_id = tenant_id or tenancy.current().tenant_id
    found = session.scalars(select(CbPolicy).where(CbPolicy.tenant_id == tenant_id)).one_or_none()
    return found if found is not None else _default_policy()


def _default_policy() -> CbPolicy:
    return CbPolicy(**{**POLICY_DEFAULTS, "accredited_schemes": [],
                       "registry_statuses": dict(DEFAULT_REGISTRY_STATUSES)})


def save_policy(session: Session, data: dict[str, Any]) -> CbPolicy:
    current = session.scalars(select(CbPolicy)).one_or_none()
    if current is None:
        current = _default_policy()
        session.add(current)
    data = {**data, "accredited_schemes": [str(scheme_id) for scheme_id in data.get("accredited_schemes", [])]}
    for key, value in data.items():
        setattr(current, key, value)
    session.flush()
    return current
