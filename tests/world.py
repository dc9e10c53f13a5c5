"""A small world built through the services: the platform, two CBs and one client organisation of each.

Every tenant has a user for every role of its kind, named ``<role>@<tenant>.test``; ``headers(email)``
gives a bearer token for any of them without going through the (rate-limited) login endpoint.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from flask import Flask
from flask_jwt_extended import create_access_token
from sqlalchemy import select

from grc import tenancy
from grc.auth.models import ROLES_BY_KIND, User
from grc.auth.onboarding import create_certification_body, create_client
from grc.auth.users import create_user
from grc.demo import ensure_platform_admin
from grc.extensions import db
from grc.tenants.models import Tenant, TenantKind

PASSWORD = "correct horse battery staple"


@dataclass
class World:
    app: Flask
    tenants: dict[str, uuid.UUID] = field(default_factory=dict)
    users: dict[str, uuid.UUID] = field(default_factory=dict)

    def headers(self, email: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(email)}"}

    def token(self, email: str) -> str:
        with self.app.app_context(), tenancy.system_scope(db.session):
            user = db.session.scalars(select(User).where(User.email == email)).one()
            tenant = db.session.get(Tenant, user.tenant_id)
            claims = {"tid": str(tenant.id), "kind": tenant.kind.value, "typ": "user"}
            return create_access_token(identity=str(user.id), additional_claims=claims)

    def emails(self, tenant: str) -> list[str]:
        return [email for email in self.users if email.endswith(f"@{tenant}.test")]


def act_as(email: str) -> None:
    """Make the current app context's session act as that user (for service-level tests)."""
    with tenancy.system_scope(db.session):
        user = db.session.scalars(select(User).where(User.email == email)).one()
        tenant = db.session.get(Tenant, user.tenant_id)
    tenancy.enter(db.session, tenancy.Principal(tenant.id, tenant.kind.value, "user", user.id, frozenset(user.roles)))


def build_world(app: Flask) -> World:
    world = World(app)
    with app.app_context():
        session = db.session
        admin, _ = ensure_platform_admin(session, "platform_admin@platform.test", PASSWORD)
        session.commit()
        world.users[admin.email] = admin.id
        for cb_slug, client_slug in (("cb-a", "client-a"), ("cb-b", "client-b")):
            act_as("platform_admin@platform.test")
            cb = create_certification_body(session, {
                "kind": "certification_body", "name": f"CB {cb_slug[-1].upper()}", "slug": cb_slug, "country": "DE",
                "admin": {"email": f"cb_admin@{cb_slug}.test", "name": "CB admin", "password": PASSWORD},
            })
            session.commit()
            world.tenants[cb_slug] = cb.id
            _add_role_users(world, cb_slug, TenantKind.certification_body)
            act_as(f"cb_admin@{cb_slug}.test")
            client = create_client(session, {
                "name": f"Client {client_slug[-1].upper()}", "legal_name": f"Client {client_slug} Ltd", "country": "FR",
                "address": "1 rue du Test, Paris", "sites": [],
                "admin": {"email": f"client_admin@{client_slug}.test", "name": "Client admin", "password": PASSWORD},
            })
            session.commit()
            world.tenants[client_slug] = client.tenant.id
            _add_role_users(world, client_slug, TenantKind.client_organisation)
        with tenancy.system_scope(session):
            for user in session.scalars(select(User)):
                world.users[user.email] = user.id
    return world


def _add_role_users(world: World, slug: str, kind: TenantKind) -> None:
    admin_role = ROLES_BY_KIND[kind][0]
    act_as(f"{admin_role}@{slug}.test")
    for role in ROLES_BY_KIND[kind][1:]:
        create_user(db.session, {"email": f"{role}@{slug}.test", "name": role, "password": PASSWORD, "roles": [role]})
    db.session.commit()
