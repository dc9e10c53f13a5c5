"""SCIM 2.0 provisioning of a tenant's people by its identity provider (issue 18 item 3).

A SCIM token names its tenant (a crossing, like a login's e-mail); the request is then scoped to that tenant as a
JWT request is, with the token as the actor the audit trail names. Users provisioned here have no usable password
(they sign in by single sign-on or a password reset). Deleting a user deactivates it through the one path the API
uses too (``grc.auth.users.deactivate``: every sign-in ends at once) and hides it from SCIM; the row stays for the
trail. A group grants the grc roles its tenant's admin maps to it: a user whose memberships (or whose groups'
mappings) change holds exactly the union of their groups' roles from then on.
"""
from __future__ import annotations

import secrets
import uuid
from typing import Any

from scim2_models import Group, NotFoundException, UniquenessException
from scim2_models import User as ScimUser
from sqlalchemy import ColumnElement, Select, bindparam, func, select
from sqlalchemy.orm import Session

from grc import tenancy
from grc.api import paginate
from grc.auth import users
from grc.auth.models import ADMIN_ROLES, User
from grc.auth.passwords import lookup_digest
from grc.db import utcnow
from grc.errors import InvalidField, Unauthorized
from grc.extensions import db
from grc.scim.models import ScimGroup, ScimGroupMember, ScimToken
from grc.tenants.models import Tenant

ACTOR_TYPE = "scim_token"
TOKEN_PREFIX = "grc_scim_"
BAD_TOKEN = "The SCIM token is unknown or revoked."
SCIM_TOKEN = tenancy.Crossing(
    "grc_tenant_of_scim_token",
    select(ScimToken.tenant_id).where(ScimToken.token_hash == bindparam("key"), ScimToken.revoked_at.is_(None)),
)


# --------------------------------------------------------------------------- tokens (the tenant admin's API)


def create_token(session: Session, data: dict[str, Any], *, caller: tenancy.Principal) -> tuple[ScimToken, str]:
    """A new token of the caller's tenant and its secret, which is shown this once and kept only as a digest."""
    tenancy.check_roles(caller, *ADMIN_ROLES)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ScimToken(name=data["name"], token_hash=lookup_digest(secret), created_by=caller.actor_id)
    session.add(token)
    session.flush()
    return token, secret


def list_tokens(session: Session, args: dict[str, Any], *, caller: tenancy.Principal) -> dict[str, Any]:
    tenancy.check_roles(caller, *ADMIN_ROLES)
    return paginate(session, select(ScimToken), args, [ScimToken.id])


@tenancy.path_resource("scim_token_id")
def visible_token(scim_token_id: uuid.UUID) -> ScimToken | None:
    return db.session.get(ScimToken, scim_token_id)


def revoke_token(session: Session, token: ScimToken, *, caller: tenancy.Principal) -> ScimToken:
    """From the next request on the token is refused (401); revoking a revoked token changes nothing."""
    tenancy.check_roles(caller, *ADMIN_ROLES)
    token.revoked_at = token.revoked_at or utcnow()
    session.flush()
    return token


def authenticate(session: Session, authorization: str | None) -> tenancy.Principal:
    """The tenant the bearer token names, entered like a JWT caller's, with the token as the actor; 401 for a missing,
    unknown or revoked token."""
    scheme, _, secret = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthorized("A SCIM token is required (Authorization: Bearer <token>).")
    digest = lookup_digest(secret.strip())
    tenant_id = tenancy.tenant_of(session, SCIM_TOKEN, digest)
    if tenant_id is None:
        raise Unauthorized(BAD_TOKEN)
    tenancy.scope_to(session, tenant_id)
    token = session.scalars(select(ScimToken).where(ScimToken.token_hash == digest)).one_or_none()
    if token is None or token.revoked_at is not None:
        raise Unauthorized(BAD_TOKEN)
    tenant = session.get_one(Tenant, tenant_id)
    principal = tenancy.Principal(tenant_id=tenant_id, tenant_kind=tenant.kind.value, actor_type=ACTOR_TYPE,
                                  actor_id=token.id, roles=frozenset())
    tenancy.enter(session, principal)
    return principal


# --------------------------------------------------------------------------- group -> role mapping (the admin's API)


def list_groups(session: Session, args: dict[str, Any], *, caller: tenancy.Principal) -> dict[str, Any]:
    tenancy.check_roles(caller, *ADMIN_ROLES)
    return paginate(session, select(ScimGroup), args, [ScimGroup.id])


@tenancy.path_resource("scim_group_id")
def visible_group(scim_group_id: uuid.UUID) -> ScimGroup | None:
    return db.session.get(ScimGroup, scim_group_id)


def map_roles(session: Session, group: ScimGroup, roles: list[str], *, caller: tenancy.Principal) -> ScimGroup:
    """The grc roles ``group`` grants (none is allowed: a group that grants nothing); its members' roles follow."""
    tenancy.check_roles(caller, *ADMIN_ROLES)
    group.roles = users.check_roles(caller.tenant_kind, roles) if roles else []
    session.flush()
    _settle_roles(session, set(_member_ids(session, group.id)))
    return group


def _settle_roles(session: Session, user_ids: set[uuid.UUID]) -> None:
    """Each of ``user_ids`` holds exactly the union of their groups' roles; the tenant keeps an admin (T1)."""
    if not user_ids:
        return
    granted: dict[uuid.UUID, set[str]] = {user_id: set() for user_id in user_ids}
    rows = session.execute(select(ScimGroupMember.user_id, ScimGroup.roles)
                           .join(ScimGroup, ScimGroup.id == ScimGroupMember.group_id)
                           .where(ScimGroupMember.user_id.in_(user_ids)))
    for user_id, roles in rows:
        granted[user_id].update(roles)
    for user in session.scalars(select(User).where(User.id.in_(user_ids))):
        if sorted(granted[user.id]) != sorted(user.roles):
            user.roles = sorted(granted[user.id])
    session.flush()
    users.check_admin_kept(session)


# --------------------------------------------------------------------------- SCIM Users


def _provisioned() -> Select[User]:
    """The users SCIM sees: all of the tenant's but those it deleted."""
    return select(User).where(User.deprovisioned_at.is_(None))


def find_user(session: Session, user_id: str) -> User:
    user = session.scalars(_provisioned().where(User.id == _uuid(user_id))).one_or_none()
    if user is None:
        raise NotFoundException(detail=f"No user {user_id}.")
    return user


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def list_users(session: Session, criteria: ColumnElement[bool] | None, start: int,
               count: int) -> tuple[int, list[User]]:
    return _page(session, _provisioned(), User.id, criteria, start, count)


def _page(session: Session, stmt: Select[Any], order: Any, criteria: ColumnElement[bool] | None, start: int,
          count: int) -> tuple[int, list[Any]]:
    """SCIM's index pagination: the total and ``count`` rows from the 1-based ``start``."""
    if criteria is not None:
        stmt = stmt.where(criteria)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = list(session.scalars(stmt.order_by(order).offset(start - 1).limit(count))) if count else []
    return total, rows


def create_user(session: Session, resource: ScimUser[Any], *, caller: tenancy.Principal) -> User:
    """A new user of the caller's tenant with no roles (a group grants them) and no usable password."""
    user = users.add_user(session, email=_free_user_name(session, resource.user_name or ""),
                          name=_display_name(resource), password=None, roles=[], external_id=resource.external_id)
    if resource.active is False:
        users.deactivate(session, user, by=caller.actor_id)
    return user


def replace_user(session: Session, user: User, resource: ScimUser[Any], *, caller: tenancy.Principal) -> User:
    """PUT (and PATCH, once applied): the user takes the resource's userName, name, externalId and activity (a
    resource without ``active`` leaves it as it is)."""
    email = (resource.user_name or "").strip().lower()
    if email != user.email:
        user.email = _free_user_name(session, email)
    user.name, user.external_id = _display_name(resource), resource.external_id
    session.flush()
    if resource.active is False and user.is_active:
        users.deactivate(session, user, by=caller.actor_id)
    elif resource.active is True and not user.is_active:
        user.is_active = True
        session.flush()
    return user


def delete_user(session: Session, user: User, *, caller: tenancy.Principal) -> None:
    """Deprovision: deactivated (every sign-in ended), left out of SCIM from now on, kept for the trail."""
    if user.is_active:
        users.deactivate(session, user, by=caller.actor_id)
    user.deprovisioned_at = utcnow()
    session.flush()


def _free_user_name(session: Session, email: str) -> str:
    """userName is the e-mail address, unique across tenants: a clash says so, not which tenant holds it."""
    if not email:
        raise InvalidField("userName", "is required")
    try:
        return users.check_email_free(session, email)
    except InvalidField as exc:
        raise UniquenessException(detail="userName is already in use.") from exc


def _display_name(resource: ScimUser[Any]) -> str:
    """displayName, else the name's parts, else the e-mail (a user always has a name in grc)."""
    name = resource.name
    parts = [name.given_name, name.family_name] if name else []
    text = resource.display_name or (name.formatted if name else None) or " ".join(p for p in parts if p)
    return (text or (resource.user_name or "").strip().lower())[:200]


# --------------------------------------------------------------------------- SCIM Groups


def find_group(session: Session, group_id: str) -> ScimGroup:
    group = session.scalars(select(ScimGroup).where(ScimGroup.id == _uuid(group_id))).one_or_none()
    if group is None:
        raise NotFoundException(detail=f"No group {group_id}.")
    return group


def list_scim_groups(session: Session, criteria: ColumnElement[bool] | None, start: int,
                     count: int) -> tuple[int, list[ScimGroup]]:
    return _page(session, select(ScimGroup), ScimGroup.id, criteria, start, count)


def members_of(session: Session, groups: list[ScimGroup]) -> dict[uuid.UUID, list[User]]:
    """The provisioned members of each group, in one query."""
    found: dict[uuid.UUID, list[User]] = {group.id: [] for group in groups}
    rows = session.execute(select(ScimGroupMember.group_id, User)
                           .join(User, User.id == ScimGroupMember.user_id)
                           .where(ScimGroupMember.group_id.in_(found), User.deprovisioned_at.is_(None))
                           .order_by(User.id))
    for group_id, user in rows:
        found[group_id].append(user)
    return found


def create_group(session: Session, resource: Group, *, caller: tenancy.Principal) -> ScimGroup:
    """A new group granting no roles until the tenant admin maps it."""
    group = ScimGroup(display_name=_free_display_name(session, resource.display_name or "", None),
                      external_id=resource.external_id, roles=[])
    session.add(group)
    session.flush()
    _set_members(session, group, resource)
    return group


def replace_group(session: Session, group: ScimGroup, resource: Group, *, caller: tenancy.Principal) -> ScimGroup:
    """PUT (and PATCH, once applied): name, externalId and the whole member list; the mapped roles stay."""
    group.display_name = _free_display_name(session, resource.display_name or "", group.id)
    group.external_id = resource.external_id
    session.flush()
    _set_members(session, group, resource)
    return group


def delete_group(session: Session, group: ScimGroup, *, caller: tenancy.Principal) -> None:
    """The group and its memberships go; its former members lose the roles it granted."""
    former = set(_member_ids(session, group.id))
    session.delete(group)
    session.flush()
    _settle_roles(session, former)


def _member_ids(session: Session, group_id: uuid.UUID) -> list[uuid.UUID]:
    return list(session.scalars(select(ScimGroupMember.user_id).where(ScimGroupMember.group_id == group_id)))


def _set_members(session: Session, group: ScimGroup, resource: Group) -> None:
    """The group's members become those of ``resource`` (users of this tenant SCIM sees, else 400); the users who
    joined or left hold their groups' roles."""
    wanted = {_member_id(member.value) for member in resource.members or []}
    found = set(session.scalars(select(User.id).where(User.id.in_(wanted), User.deprovisioned_at.is_(None))))
    if found != wanted:
        raise InvalidField("members", "name users of this tenant by their id")
    current = {row.user_id: row for row in session.scalars(
        select(ScimGroupMember).where(ScimGroupMember.group_id == group.id))}
    for user_id in current.keys() - wanted:
        session.delete(current[user_id])
    for user_id in wanted - current.keys():
        session.add(ScimGroupMember(group_id=group.id, user_id=user_id))
    session.flush()
    _settle_roles(session, wanted ^ current.keys())


def _member_id(value: str | None) -> uuid.UUID:
    member = _uuid(value or "")
    if member is None:
        raise InvalidField("members", "name users of this tenant by their id")
    return member


def _free_display_name(session: Session, name: str, group_id: uuid.UUID | None) -> str:
    """displayName is unique within the tenant (case-insensitively, as SCIM compares it)."""
    if not name.strip():
        raise InvalidField("displayName", "is required")
    clash = session.scalar(select(ScimGroup.id).where(func.lower(ScimGroup.display_name) == name.lower()))
    if clash is not None and clash != group_id:
        raise UniquenessException(detail="A group with this displayName exists.")
    return name[:200]
