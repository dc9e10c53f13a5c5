"""Users and API clients of a tenant: creation, roles, deactivation (which revokes access at once and ends every
sign-in, so reactivating the user does not bring old tokens back)."""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from grc import tenancy
from grc.api import paginate
from grc.auth import sessions
from grc.auth.models import ADMIN_ROLES, ROLES_BY_KIND, ApiClient, SessionEnd, User
from grc.auth.passwords import NO_PASSWORD, hash_secret
from grc.auth.service import SIGN_IN, new_client_credentials
from grc.errors import InvalidField, RuleViolation
from grc.events import publish
from grc.extensions import db
from grc.tenants.models import Tenant, TenantKind


def check_roles(kind: TenantKind | str, roles: list[str]) -> list[str]:
    """Roles must be non-empty, distinct, and belong to the tenant's kind (docs/DESIGN.md section 2)."""
    allowed = ROLES_BY_KIND[TenantKind(kind)]
    wrong = [role for role in roles if role not in allowed]
    if not roles or wrong:
        raise InvalidField("roles", f"choose one or more of: {', '.join(allowed)}")
    return sorted(set(roles))


def check_email_free(session: Session, email: str) -> str:
    """The address, normalised, unless a user of any tenant already has it (an address signs in to one tenant)."""
    email = email.strip().lower()
    if tenancy.tenant_of(session, SIGN_IN, email) is not None:  # in any tenant: an address signs in to one
        raise InvalidField("email", "is already in use")
    return email


def add_first_admin(session: Session, tenant: Tenant, admin: dict[str, Any], *, role: str) -> User:
    user = User(
        tenant_id=tenant.id,
        email=check_email_free(session, admin["email"]),
        name=admin["name"],
        password_hash=hash_secret(admin["password"]),
        roles=[role],
    )
    session.add(user)
    return user


def create_user(session: Session, data: dict[str, Any]) -> User:
    principal = tenancy.current()
    return add_user(session, email=check_email_free(session, data["email"]), name=data["name"],
                    password=data["password"], roles=check_roles(principal.tenant_kind, data["roles"]))


def add_user(session: Session, *, email: str, name: str, password: str | None, roles: list[str],
             external_id: str | None = None) -> User:
    """A new user of the session's tenant, announced as ``user.created``: an admin's creation, single sign-on's
    just-in-time one or SCIM's provisioning (those two without a password: ``NO_PASSWORD``). The caller has checked
    the address is free (each says so in its own words) and the roles."""
    user = User(email=email, name=name, password_hash=NO_PASSWORD if password is None else hash_secret(password),
                roles=roles, external_id=external_id)
    session.add(user)
    session.flush()
    publish(session, "user.created", {"user_id": str(user.id), "email": user.email})
    return user


def list_users(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    stmt = select(User)
    if "is_active" in args:
        stmt = stmt.where(User.is_active == args["is_active"])
    if args.get("email"):
        stmt = stmt.where(User.email == args["email"].strip().lower())
    return paginate(session, stmt, args, [User.id])


@tenancy.path_resource("user_id")
def visible_user(user_id: uuid.UUID) -> User | None:
    return db.session.get(User, user_id)


def update_user(session: Session, user: User, changes: dict[str, Any]) -> User:
    """Change name, roles, password or activity; the last active admin cannot be demoted or deactivated."""
    principal = tenancy.current()
    if "roles" in changes:
        changes["roles"] = check_roles(principal.tenant_kind, changes["roles"])
    if "password" in changes:
        changes["password_hash"] = hash_secret(changes.pop("password"))
    deactivating = changes.get("is_active") is False
    if deactivating:
        del changes["is_active"]
    for key, value in changes.items():
        setattr(user, key, value)
    session.flush()
    if "roles" in changes or "is_active" in changes:
        check_admin_kept(session)
    if deactivating:
        deactivate(session, user, by=principal.actor_id)
    return user


def deactivate(session: Session, user: User, *, by: uuid.UUID | None) -> None:
    """The one way a user is deactivated (by an admin through the API, or by SCIM provisioning): access ends at once,
    every sign-in is ended, and the tenant keeps an active administrator (T1)."""
    user.is_active = False
    session.flush()
    check_admin_kept(session)
    sessions.end_all(session, user.id, reason=SessionEnd.deactivated, by=by)
    publish(session, "user.deactivated", {"user_id": str(user.id)})


def check_admin_kept(session: Session) -> None:
    """T1: a change of roles or activity may not leave the caller's tenant without an active administrator."""
    if _active_admins(session) == 0:
        raise RuleViolation("A tenant must keep at least one active administrator.", rule="T1")


def _active_admins(session: Session) -> int:
    """Counted in Python: roles are a JSON list (portable), and a tenant has tens of users, not millions."""
    role_lists = session.scalars(select(User.roles).where(User.is_active.is_(True))).all()
    return sum(1 for roles in role_lists if set(roles) & set(ADMIN_ROLES))


# --------------------------------------------------------------------------- API clients


def create_api_client(session: Session, data: dict[str, Any]) -> tuple[ApiClient, str]:
    """Returns the client and its secret; the secret is never retrievable again."""
    principal = tenancy.current()
    client_id, secret = new_client_credentials()
    client = ApiClient(
        name=data["name"],
        client_id=client_id,
        secret_hash=hash_secret(secret),
        roles=check_roles(principal.tenant_kind, data["roles"]),
        created_by=principal.actor_id,
    )
    session.add(client)
    session.flush()
    return client, secret


def list_api_clients(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    return paginate(session, select(ApiClient), args, [ApiClient.id])


@tenancy.path_resource("api_client_id")
def visible_api_client(api_client_id: uuid.UUID) -> ApiClient | None:
    return db.session.get(ApiClient, api_client_id)


def revoke_api_client(session: Session, client: ApiClient) -> ApiClient:
    client.is_active = False
    session.flush()
    return client
