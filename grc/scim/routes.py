"""The tenant admin's SCIM endpoints: the tokens an identity provider provisions with, and the grc roles each
provisioned group grants. The SCIM protocol itself is served at /scim/v2 (grc.scim.protocol_routes)."""
from __future__ import annotations

import uuid
from typing import Any

from grc import tenancy
from grc.api import Blueprint
from grc.auth.models import ADMIN_ROLES
from grc.extensions import db
from grc.guard import requires
from grc.schemas import ListArgs, page_of
from grc.scim import service
from grc.scim.models import ScimGroup, ScimToken
from grc.scim.schemas import (
    ScimGroupRolesSchema,
    ScimGroupSchema,
    ScimTokenCreatedSchema,
    ScimTokenCreateSchema,
    ScimTokenSchema,
)

tokens = Blueprint("scim_tokens", __name__, url_prefix="/api/v1/scim-tokens",
                   description="Bearer tokens for SCIM 2.0 provisioning at /scim/v2")
groups = Blueprint("scim_groups", __name__, url_prefix="/api/v1/scim-groups",
                   description="Groups provisioned by SCIM, and the grc roles each grants")


@tokens.route("", methods=["POST"])
@requires(*ADMIN_ROLES)
@tokens.arguments(ScimTokenCreateSchema)
@tokens.response(201, ScimTokenCreatedSchema)
def create_token(data: dict[str, Any]) -> dict[str, Any]:
    """Create a SCIM token for the tenant's identity provider; the token is in this response only."""
    token, secret = service.create_token(db.session, data, caller=tenancy.current())
    return {**{name: getattr(token, name) for name in ScimTokenSchema().fields}, "token": secret}


@tokens.route("", methods=["GET"])
@requires(*ADMIN_ROLES)
@tokens.arguments(ListArgs, location="query")
@tokens.response(200, page_of(ScimTokenSchema))
def list_tokens(args: dict[str, Any]) -> dict[str, Any]:
    """The tenant's SCIM tokens (never their secrets)."""
    return service.list_tokens(db.session, args, caller=tenancy.current())


@tokens.route("/<uuid:scim_token_id>/revoke", methods=["POST"])
@requires(*ADMIN_ROLES)
@tokens.response(200, ScimTokenSchema)
def revoke_token(scim_token_id: uuid.UUID) -> ScimToken:
    """Revoke the token: the next SCIM request with it is refused (401)."""
    token = tenancy.resolved(service.visible_token, scim_token_id)
    return service.revoke_token(db.session, token, caller=tenancy.current())


@groups.route("", methods=["GET"])
@requires(*ADMIN_ROLES)
@groups.arguments(ListArgs, location="query")
@groups.response(200, page_of(ScimGroupSchema))
def list_groups(args: dict[str, Any]) -> dict[str, Any]:
    """The groups the identity provider pushed, with the roles each grants."""
    return service.list_groups(db.session, args, caller=tenancy.current())


@groups.route("/<uuid:scim_group_id>/roles", methods=["PUT"])
@requires(*ADMIN_ROLES)
@groups.arguments(ScimGroupRolesSchema)
@groups.response(200, ScimGroupSchema)
def map_roles(data: dict[str, Any], scim_group_id: uuid.UUID) -> ScimGroup:
    """Set the grc roles the group grants (roles of the tenant's kind); every member then holds the union of their
    groups' roles."""
    group = tenancy.resolved(service.visible_group, scim_group_id)
    return service.map_roles(db.session, group, data["roles"], caller=tenancy.current())
