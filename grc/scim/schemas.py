"""The tenant admin's side of SCIM provisioning (/api/v1): tokens and the roles each group grants. The /scim/v2
bodies themselves are parsed and written by scim2-models (grc.scim.resources)."""
from __future__ import annotations

import marshmallow as ma

from grc.auth.schemas import ROLE
from grc.schemas import Schema, StrictSchema, text


class ScimTokenCreateSchema(StrictSchema):
    name = text(200, required=True)


class ScimTokenSchema(Schema):
    id = ma.fields.UUID()
    name = ma.fields.String()
    created_at = ma.fields.DateTime()
    created_by = ma.fields.UUID(allow_none=True)
    revoked_at = ma.fields.DateTime(allow_none=True, metadata={"description": "Set once revoked: refused from then"})


class ScimTokenCreatedSchema(ScimTokenSchema):
    token = ma.fields.String(metadata={"description": "The bearer token for /scim/v2; shown once, store it now"})


class ScimGroupSchema(Schema):
    id = ma.fields.UUID()
    display_name = ma.fields.String(metadata={"description": "As the identity provider names the group"})
    external_id = ma.fields.String(allow_none=True)
    roles = ma.fields.List(ma.fields.String(), metadata={"description": "The grc roles its members hold"})
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class ScimGroupRolesSchema(StrictSchema):
    roles = ma.fields.List(ROLE, required=True, validate=ma.validate.Length(max=8), metadata={
        "description": "Roles of the tenant's kind; [] grants none"})
