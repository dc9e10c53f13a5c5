"""Certification bodies (created by the platform operator) and the client organisations a CB certifies."""
from __future__ import annotations

import uuid
from typing import Any

from grc import tenancy
from grc.api import Blueprint
from grc.auth import onboarding
from grc.extensions import db
from grc.guard import requires
from grc.schemas import page_of
from grc.schemes import service as schemes
from grc.tenants import service
from grc.tenants.models import CbPolicy, Tenant
from grc.tenants.schemas import (
    ClientCreateSchema,
    ClientListArgs,
    ClientSchema,
    ClientUpdateSchema,
    PolicySchema,
    PolicyUpdateSchema,
    TenantCreateSchema,
    TenantListArgs,
    TenantSchema,
)

tenants = Blueprint("tenants", __name__, url_prefix="/api/v1/tenants", description="Certification bodies")
clients = Blueprint(
    "clients", __name__, url_prefix="/api/v1/clients", description="Client organisations certified by the caller's CB"
)
CLIENT_MANAGERS = ("cb_admin", "certification_manager")


@tenants.route("", methods=["POST"])
@requires("platform_admin")
@tenants.arguments(TenantCreateSchema)
@tenants.response(201, TenantSchema)
def create_tenant(data: dict[str, Any]) -> Tenant:
    """Create a certification body with its first administrator (`cb_admin`)."""
    return onboarding.create_certification_body(db.session, data)


@tenants.route("", methods=["GET"])
@requires("platform_admin")
@tenants.arguments(TenantListArgs, location="query")
@tenants.response(200, page_of(TenantSchema))
def list_tenants(args: dict[str, Any]) -> dict[str, Any]:
    """The certification bodies on the platform."""
    return service.list_tenants(db.session, args)


@tenants.route("/<uuid:tenant_id>", methods=["GET"])
@tenants.response(200, TenantSchema)
def get_tenant(tenant_id: uuid.UUID) -> Tenant:
    """The caller's own tenant (platform admins: any certification body)."""
    return tenancy.resolved(service.visible_tenant, tenant_id)


@clients.route("", methods=["POST"])
@requires(*CLIENT_MANAGERS)
@clients.arguments(ClientCreateSchema)
@clients.response(201, ClientSchema)
def create_client(data: dict[str, Any]) -> service.ClientView:
    """Onboard a client organisation: its tenant, the client relationship and its first `client_admin`."""
    return onboarding.create_client(db.session, data)


@clients.route("", methods=["GET"])
@requires(*service.CB_ROLES)
@clients.arguments(ClientListArgs, location="query")
@clients.response(200, page_of(ClientSchema))
def list_clients(args: dict[str, Any]) -> dict[str, Any]:
    """The client organisations the caller's CB has a relationship with."""
    return service.list_clients(db.session, args)


@clients.route("/<uuid:client_id>", methods=["GET"])
@requires(*service.CB_ROLES)
@clients.etag
@clients.response(200, ClientSchema)
def get_client(client_id: uuid.UUID) -> service.ClientView:
    """One client organisation of the caller's CB, with its ETag (send it as If-Match to PATCH)."""
    return service.get_client(client_id)


@clients.route("/<uuid:client_id>", methods=["PATCH"])
@requires(*CLIENT_MANAGERS)
@clients.etag
@clients.arguments(ClientUpdateSchema)
@clients.response(200, ClientSchema)
def update_client(data: dict[str, Any], client_id: uuid.UUID) -> service.ClientView:
    """Change a client's name, address or sites (needs If-Match with the ETag from GET)."""
    view = service.get_client(client_id)
    clients.check_etag(view, ClientSchema)
    return service.update_client(db.session, view, data)


policy = Blueprint("policy", __name__, url_prefix="/api/v1/policy", description="The certification body's policy")


@policy.route("", methods=["GET"])
@requires(*service.CB_ROLES)
@policy.etag
@policy.response(200, PolicySchema)
def get_policy() -> CbPolicy:
    """The deadlines and tolerances the CB's rules are computed from (defaults until saved)."""
    return service.policy(db.session)


@policy.route("", methods=["PUT"])
@requires("cb_admin")
@policy.etag
@policy.arguments(PolicyUpdateSchema)
@policy.response(200, PolicySchema)
def put_policy(data: dict[str, Any]) -> CbPolicy:
    """Replace the CB's policy (needs If-Match with the ETag from GET)."""
    policy.check_etag(service.policy(db.session), PolicySchema)
    schemes.schemes_by_ids(db.session, data["accredited_schemes"], "accredited_schemes")  # 422 for an unknown one
    return service.save_policy(db.session, data)
