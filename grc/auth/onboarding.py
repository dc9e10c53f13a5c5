"""A tenant arrives with its first administrator (T1): a platform admin creates a certification body, a CB onboards
a client organisation. Each spans two domains, the tenant (``grc.tenants``) and its first user (``grc.auth``), so
it lives here, above both, and announces the arrival once both exist."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from grc.auth.users import add_first_admin
from grc.events import publish
from grc.tenants import service as tenants
from grc.tenants.models import Tenant
from grc.tenants.service import ClientView


def create_certification_body(session: Session, data: dict[str, Any]) -> Tenant:
    """A platform admin creates a CB tenant together with its first ``cb_admin``."""
    admin = data.pop("admin")
    tenant = tenants.new_certification_body(session, data)
    add_first_admin(session, tenant, admin, role="cb_admin")
    publish(session, "tenant.created", {"tenant_id": str(tenant.id), "slug": tenant.slug}, tenant_id=tenant.id)
    return tenant


def create_client(session: Session, data: dict[str, Any]) -> ClientView:
    """A CB onboards a client organisation: its tenant, the relationship and its first ``client_admin``."""
    admin = data.pop("admin")
    view = tenants.new_client(session, data)
    add_first_admin(session, view.tenant, admin, role="client_admin")
    publish(session, "client.created", {"client_id": str(view.tenant.id), "name": view.tenant.name})
    return view
