"""A tenant's sign-in policy (I1, I2): whether password users need a second factor, whether password login is
refused in favour of the tenant's identity provider, and the break-glass admins who keep their password then."""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from grc import tenancy
from grc.auth.models import ADMIN_ROLES, SignInPolicy, User
from grc.errors import InvalidField
from grc.tenants.models import Tenant

SSO_START = "GET /api/v1/auth/sso/{tenant_slug}/start"


def policy_of(session: Session, tenant_id: uuid.UUID) -> SignInPolicy:
    """The tenant's policy; a tenant that never set one gets the defaults (an unsaved row: password alone)."""
    found = session.scalars(select(SignInPolicy).where(SignInPolicy.tenant_id == tenant_id)).one_or_none()
    return found or SignInPolicy(tenant_id=tenant_id, require_mfa=False, require_sso=False, break_glass_user_ids=[])


def update_policy(session: Session, data: dict[str, Any], *, caller: tenancy.Principal) -> SignInPolicy:
    """Replace the caller's tenant's policy. Break-glass accounts must be active admins of the tenant: anyone else
    keeping a password while SSO is required would be a hole, not a safety net."""
    tenancy.check_roles(caller, *ADMIN_ROLES)
    ids = sorted({str(user_id) for user_id in data["break_glass_user_ids"]})
    _check_break_glass(session, caller.tenant_id, ids)
    policy = policy_of(session, caller.tenant_id)
    policy.require_mfa, policy.require_sso, policy.break_glass_user_ids = (
        data["require_mfa"], data["require_sso"], ids)
    session.add(policy)
    session.flush()
    return policy


def _check_break_glass(session: Session, tenant_id: uuid.UUID, ids: list[str]) -> None:
    users = {str(user.id): user for user in session.scalars(
        select(User).where(User.tenant_id == tenant_id, User.id.in_([uuid.UUID(i) for i in ids])))}
    for user_id in ids:
        user = users.get(user_id)
        if user is None or not user.is_active or not set(user.roles) & set(ADMIN_ROLES):
            raise InvalidField("break_glass_user_ids",
                               f"{user_id} is not an active admin of this tenant")


def password_refused(policy: SignInPolicy, user: User, tenant: Tenant) -> str | None:
    """Why ``policy`` refuses ``user`` a password sign-in (the problem's detail), or None when it allows it."""
    if not policy.require_sso or str(user.id) in policy.break_glass_user_ids:
        return None
    start = SSO_START.replace("{tenant_slug}", tenant.slug)
    return (f"{tenant.name} requires single sign-on: sign in through your organisation's identity provider "
            f"({start}); password login is refused for its users.")


def needs_second_factor(policy: SignInPolicy, has_factor: bool) -> bool:
    """A password sign-in goes on to a second step when the user has a factor or the tenant requires one."""
    return has_factor or policy.require_mfa
