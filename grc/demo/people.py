"""The demo's people: the logins printed next to the links, the platform admin, and acting as one of them.

Every step of the demo world is taken by a named person, entered on the session the way the API's guard enters a
caller, so each service sees the same principal (tenant, roles) as behind a route and the audit trail names them.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from grc import tenancy
from grc.auth.models import User
from grc.auth.passwords import hash_secret
from grc.tenants.models import Tenant, TenantKind

DEMO_PASSWORD = "demo-password-2026"
PLATFORM_ADMIN = "admin@platform.example"
CB_ADMIN = "admin@acme-cert.example"
MANAGER = "manager@acme-cert.example"
AUDITOR = "auditor@acme-cert.example"
SHOP_ADMIN = "admin@shop.example"
SHOP_RISK = "risk@shop.example"
SHOP_SECURITY = "security@shop.example"
OUTDOOR_ADMIN = "admin@bergwerk-outdoor.example"
LOGISTICS_ADMIN = "admin@nordsee-logistik.example"


@dataclass(frozen=True)
class DemoLogin:
    email: str
    roles: str
    tenant: str


DEMO_LOGINS = (
    DemoLogin(PLATFORM_ADMIN, "platform_admin", "grc platform"),
    DemoLogin(CB_ADMIN, "cb_admin", "Acme Certification (CB)"),
    DemoLogin(MANAGER, "certification_manager", "Acme Certification (CB)"),
    DemoLogin(AUDITOR, "auditor", "Acme Certification (CB)"),
    DemoLogin(SHOP_ADMIN, "client_admin", "Example Shop GmbH (client, certified)"),
    DemoLogin(SHOP_RISK, "risk_manager", "Example Shop GmbH (client, certified)"),
    DemoLogin(SHOP_SECURITY, "client_viewer, TOTP", "Example Shop GmbH (client, certified)"),
    DemoLogin(OUTDOOR_ADMIN, "client_admin", "Bergwerk Outdoor GmbH (client, suspended)"),
    DemoLogin(LOGISTICS_ADMIN, "client_admin", "Nordsee Logistik GmbH (client, in stage 2)"),
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


class Cast:
    """Acts as one demo user after another on one session, as the guard enters the caller of a request."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def user(self, email: str) -> User:
        with tenancy.system_scope(self.session):
            return self.session.scalars(select(User).where(User.email == email)).one()

    def id(self, email: str) -> uuid.UUID:
        return self.user(email).id

    def act(self, email: str) -> tenancy.Principal:
        """From now on the session acts as ``email`` (in their own tenant, with their roles); returns the caller."""
        user = self.user(email)
        with tenancy.system_scope(self.session):
            tenant = self.session.get_one(Tenant, user.tenant_id)
        principal = tenancy.Principal(tenant.id, tenant.kind.value, "user", user.id, frozenset(user.roles))
        tenancy.enter(self.session, principal)
        return principal
