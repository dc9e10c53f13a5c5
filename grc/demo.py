"""Demo data for the embedded start: a platform admin, one certification body, one client organisation.

Everything is created through the services, as the API would, so the demo also has its audit trail.
Running it twice changes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from grc import tenancy
from grc.auth.models import User
from grc.auth.onboarding import create_certification_body, create_client
from grc.auth.passwords import hash_secret
from grc.auth.users import create_user
from grc.tenants.models import Tenant, TenantKind

DEMO_PASSWORD = "demo-password-2026"
PLATFORM_ADMIN = "admin@platform.example"


@dataclass(frozen=True)
class DemoLogin:
    email: str
    roles: str
    tenant: str


DEMO_LOGINS = (
    DemoLogin(PLATFORM_ADMIN, "platform_admin", "grc platform"),
    DemoLogin("admin@acme-cert.example", "cb_admin", "Acme Certification (CB)"),
    DemoLogin("manager@acme-cert.example", "certification_manager", "Acme Certification (CB)"),
    DemoLogin("auditor@acme-cert.example", "auditor", "Acme Certification (CB)"),
    DemoLogin("admin@shop.example", "client_admin", "Example Shop GmbH (client)"),
    DemoLogin("risk@shop.example", "risk_manager", "Example Shop GmbH (client)"),
)


def ensure_platform_admin(session: Session, email: str, password: str) -> tuple[User, bool]:
    """The platform tenant and one platform admin; returns (user, created). Existing users are left as they are."""
    with tenancy.system_scope(session):
        existing = session.scalars(select(User).where(User.email == email.lower())).one_or_none()
        if existing is not None:
            return existing, False
        platform = session.scalars(select(Tenant).where(Tenant.kind == TenantKind.platform)).one_or_none()
        if platform is None:
            platform = Tenant(kind=TenantKind.platform, name="grc platform", slug="platform", country="DE")
            session.add(platform)
            session.flush()
        tenancy.set_actor(session, "cli", None)
        user = User(
            tenant_id=platform.id, email=email.lower(), name="Platform administrator",
            password_hash=hash_secret(password), roles=["platform_admin"],
        )
        session.add(user)
        session.flush()
    return user, True


def seed_demo(session: Session) -> bool:
    """Create the demo tenants and users unless they exist; returns whether anything was created."""
    admin, _ = ensure_platform_admin(session, PLATFORM_ADMIN, DEMO_PASSWORD)
    with tenancy.system_scope(session):
        if session.scalars(select(Tenant).where(Tenant.slug == "acme-cert")).first() is not None:
            session.commit()
            return False
    _act_as(session, admin)
    cb = create_certification_body(
        session,
        {
            "kind": "certification_body", "name": "Acme Certification", "slug": "acme-cert",
            "legal_name": "Acme Certification GmbH", "country": "DE", "address": "Zertifizierungsweg 1, 10115 Berlin",
            "admin": {"email": "admin@acme-cert.example", "name": "Carla Admin", "password": DEMO_PASSWORD},
        },
    )
    session.flush()
    _act_as(session, _user(session, "admin@acme-cert.example"), cb)
    for email, name, role in (
        ("manager@acme-cert.example", "Martin Manager", "certification_manager"),
        ("auditor@acme-cert.example", "Anna Auditor", "auditor"),
    ):
        create_user(session, {"email": email, "name": name, "password": DEMO_PASSWORD, "roles": [role]})
    client = create_client(
        session,
        {
            "name": "Example Shop", "legal_name": "Example Shop GmbH", "country": "DE",
            "address": "Handelsstrasse 5, 20095 Hamburg",
            "sites": [
                {"name": "Head office", "address": "Handelsstrasse 5, 20095 Hamburg", "country": "DE"},
                {"name": "Warehouse", "address": "Lagerweg 2, 21079 Hamburg", "country": "DE"},
            ],
            "admin": {"email": "admin@shop.example", "name": "Sven Shop", "password": DEMO_PASSWORD},
        },
    )
    session.flush()
    _act_as(session, _user(session, "admin@shop.example"), client.tenant)
    create_user(
        session,
        {"email": "risk@shop.example", "name": "Rita Risk", "password": DEMO_PASSWORD, "roles": ["risk_manager"]},
    )
    session.commit()
    return True


def _user(session: Session, email: str) -> User:
    with tenancy.system_scope(session):
        return session.scalars(select(User).where(User.email == email)).one()


def _act_as(session: Session, user: User, tenant: Tenant | None = None) -> None:
    with tenancy.system_scope(session):
        tenant = tenant or session.get_one(Tenant, user.tenant_id)
    principal = tenancy.Principal(tenant.id, tenant.kind.value, "user", user.id, frozenset(user.roles))
    tenancy.enter(session, principal)
