"""Schemas of single sign-on (I1): a tenant's identity providers (the client secret is write-only: no response
schema here has one) and the provider's answer at the callback."""
from __future__ import annotations

from typing import Any

import marshmallow as ma

from grc.schemas import Schema, StrictSchema, text

ISSUER_DESCRIPTION = ("The provider's issuer, exactly as its discovery document "
                      "(`{issuer}/.well-known/openid-configuration`) names it: https (plain http only to a host the "
                      "operator allowed, outside production)")
DOMAINS_DESCRIPTION = "Only verified e-mail addresses of these domains sign in (e.g. `example.com`)"
MAPPING_DESCRIPTION = ("Claim value -> grc roles of the tenant's kind, e.g. `{\"grc-admins\": [\"cb_admin\"]}`; when "
                       "set, a user's roles follow the claim at each sign-in")


def _domains(**kwargs: Any) -> ma.fields.List[str]:
    return ma.fields.List(ma.fields.String(validate=ma.validate.Regexp(r"^@?[A-Za-z0-9.-]{1,253}$")),
                          validate=ma.validate.Length(min=1, max=50),
                          metadata={"description": DOMAINS_DESCRIPTION}, **kwargs)


def _mapping(**kwargs: Any) -> ma.fields.Dict:
    return ma.fields.Dict(keys=ma.fields.String(validate=ma.validate.Length(min=1, max=200)),
                          values=ma.fields.List(ma.fields.String(validate=ma.validate.Length(min=1, max=40)),
                                                validate=ma.validate.Length(min=1, max=10)),
                          validate=ma.validate.Length(max=100), metadata={"description": MAPPING_DESCRIPTION},
                          **kwargs)


class IdentityProviderCreateSchema(StrictSchema):
    name = text(200, required=True)
    issuer = ma.fields.Url(required=True, require_tld=False, schemes={"http", "https"},
                           validate=ma.validate.Length(max=500), metadata={"description": ISSUER_DESCRIPTION})
    client_id = text(255, required=True)
    client_secret = text(1000, required=True, load_only=True, metadata={
        "description": "The client secret the provider issued; stored sealed, never returned"})
    allowed_email_domains = _domains(required=True)
    role_claim = text(100, allow_none=True, metadata={"description": "The ID token claim read for roles (e.g. "
                                                                     "`groups`, `roles`)"})
    role_mapping = _mapping()
    default_role = text(40, allow_none=True, metadata={"description": "The role of a just-in-time user whose claim "
                                                                      "maps to none"})
    create_users = ma.fields.Boolean(load_default=False, metadata={
        "description": "Create a user at the first sign-in of an allowed address (just in time)"})
    enabled = ma.fields.Boolean(load_default=True)


class IdentityProviderUpdateSchema(IdentityProviderCreateSchema):
    """Every field optional (nothing defaults); a client_secret given replaces the sealed one."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("partial", True)
        super().__init__(**kwargs)


class IdentityProviderSchema(Schema):
    id = ma.fields.UUID()
    name = ma.fields.String()
    issuer = ma.fields.String()
    client_id = ma.fields.String()
    allowed_email_domains = ma.fields.List(ma.fields.String())
    role_claim = ma.fields.String(allow_none=True)
    role_mapping = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.List(ma.fields.String()))
    default_role = ma.fields.String(allow_none=True)
    create_users = ma.fields.Boolean()
    enabled = ma.fields.Boolean()
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class SsoStartArgs(StrictSchema):
    provider = ma.fields.UUID(metadata={"description": "The identity provider; needed when the tenant has several"})


class SsoCallbackArgs(StrictSchema):
    """What the provider appends to the redirect URI; parameters it adds beyond these (``iss``, ``session_state``,
    ``scope``) are ignored."""

    class Meta:
        unknown = ma.EXCLUDE

    code = ma.fields.String(validate=ma.validate.Length(min=1, max=4096))
    state = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=512))
    error = ma.fields.String(validate=ma.validate.Length(max=200))
    error_description = ma.fields.String(validate=ma.validate.Length(max=2000))
