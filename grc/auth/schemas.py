from __future__ import annotations

from typing import Any

import marshmallow as ma

from grc.auth.models import ALL_ROLES, SessionEnd
from grc.dumping import OMITTED_WHEN
from grc.schemas import ListArgs, Schema, StrictSchema, password, text
from grc.tenants.models import TenantKind

ROLE = ma.fields.String(validate=ma.validate.OneOf(ALL_ROLES))


class LoginSchema(StrictSchema):
    email = ma.fields.Email(required=True, validate=ma.validate.Length(max=320))
    password = ma.fields.String(required=True, load_only=True, validate=ma.validate.Length(min=1, max=256))


class TokenPairSchema(Schema):
    access_token = ma.fields.String(required=True)
    refresh_token = ma.fields.String(metadata={
        OMITTED_WHEN: "for an API client's token (client credentials: it asks again instead of refreshing)"})
    token_type = ma.fields.String(required=True, metadata={"example": "Bearer"})
    expires_in = ma.fields.Integer(required=True, metadata={"description": "Access token lifetime in seconds"})


class LogoutSchema(StrictSchema):
    refresh_token = ma.fields.String(
        validate=ma.validate.Length(max=4096), metadata={"description": "Also revoke this refresh token"}
    )


class ClientCredentialsSchema(StrictSchema):
    client_id = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))
    client_secret = ma.fields.String(required=True, load_only=True, validate=ma.validate.Length(min=1, max=256))


class TenantRefSchema(Schema):
    id = ma.fields.UUID()
    name = ma.fields.String()
    slug = ma.fields.String()
    kind = ma.fields.Enum(TenantKind, by_value=True)


class UserSchema(Schema):
    id = ma.fields.UUID()
    email = ma.fields.String()
    name = ma.fields.String()
    roles = ma.fields.List(ma.fields.String())
    is_active = ma.fields.Boolean()
    last_login_at = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class MeSchema(Schema):
    principal_type = ma.fields.String(metadata={"description": "user or api_client"})
    id = ma.fields.UUID()
    name = ma.fields.String()
    email = ma.fields.String(allow_none=True)
    roles = ma.fields.List(ma.fields.String())
    tenant = ma.fields.Nested(TenantRefSchema)


class UserCreateSchema(StrictSchema):
    email = ma.fields.Email(required=True, validate=ma.validate.Length(max=320))
    name = text(200, required=True)
    password = password(required=True)
    roles = ma.fields.List(ROLE, required=True, validate=ma.validate.Length(min=1, max=8))


class UserUpdateSchema(StrictSchema):
    name = text(200)
    password = password()
    roles = ma.fields.List(ROLE, validate=ma.validate.Length(min=1, max=8))
    is_active = ma.fields.Boolean(metadata={"description": "false revokes the user's tokens at once"})


class UserListArgs(ListArgs):
    is_active = ma.fields.Boolean()
    email = ma.fields.String(validate=ma.validate.Length(min=1, max=320))


class SignInSessionSchema(Schema):
    id = ma.fields.UUID(metadata={"description": "The sign-in's id, carried by its tokens as the sid claim"})
    user_id = ma.fields.UUID()
    active = ma.fields.Boolean(metadata={"description": "Its tokens still work: not ended, not expired"})
    created_at = ma.fields.DateTime(metadata={"description": "When the user signed in"})
    last_refreshed_at = ma.fields.DateTime(allow_none=True)
    valid_until = ma.fields.DateTime(metadata={
        "description": "When it stops working unless refreshed (its last refresh token's expiry); when it ended, "
                       "if it was ended"})
    ended_at = ma.fields.DateTime(allow_none=True)
    ended_by = ma.fields.UUID(allow_none=True, metadata={"description": "Who ended it: the user, or an admin"})
    end_reason = ma.fields.Enum(SessionEnd, by_value=True, allow_none=True, metadata={
        "description": "logout; ended (through this API, by the user or an admin); deactivated (the user was)"})
    ip_address = ma.fields.String(allow_none=True, metadata={"description": "The client's address at sign-in"})
    user_agent = ma.fields.String(allow_none=True, metadata={
        "description": "The client's User-Agent at sign-in (its first 200 characters)"})


class ApiClientCreateSchema(StrictSchema):
    name = text(200, required=True)
    roles = ma.fields.List(ROLE, required=True, validate=ma.validate.Length(min=1, max=8))


class ApiClientSchema(Schema):
    id = ma.fields.UUID()
    name = ma.fields.String()
    client_id = ma.fields.String()
    roles = ma.fields.List(ma.fields.String())
    is_active = ma.fields.Boolean()
    created_at = ma.fields.DateTime()
    last_used_at = ma.fields.DateTime(allow_none=True)


class ApiClientCreatedSchema(ApiClientSchema):
    client_secret = ma.fields.String(metadata={"description": "Shown once; store it now"})


# --------------------------------------------------------------------------- second factor and sign-in policy



def totp_code(*, required: bool) -> ma.fields.String:
    return ma.fields.String(required=required, load_only=True, validate=ma.validate.Regexp(
        r"^\s*\d{6}\s*$", error="A code is 6 digits."), metadata={"description": "6 digits from the authenticator app"})

MFA_TICKET = ma.fields.String(required=True, load_only=True, validate=ma.validate.Length(min=1, max=200), metadata={
    "description": "From the 403 mfa-required / mfa-enrolment-required answer of POST /auth/login (5 minutes, once)"})


class MfaStepSchema(StrictSchema):
    mfa_ticket = MFA_TICKET
    code = totp_code(required=False)
    recovery_code = ma.fields.String(load_only=True, validate=ma.validate.Length(min=10, max=40), metadata={
        "description": "One of the ten recovery codes (each works once)"})

    @ma.validates_schema
    def _one_code(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if ("code" in data) == ("recovery_code" in data):
            raise ma.ValidationError("Give either code or recovery_code.", field_name="code")


class MfaTicketSchema(StrictSchema):
    mfa_ticket = MFA_TICKET


class MfaTicketCodeSchema(StrictSchema):
    mfa_ticket = MFA_TICKET
    code = totp_code(required=True)


class MfaCodeSchema(StrictSchema):
    code = totp_code(required=True)


class EnrolmentSchema(Schema):
    secret = ma.fields.String(metadata={"description": "The TOTP secret (base32), shown this once"})
    otpauth_uri = ma.fields.String(metadata={"description": "otpauth://totp/... for an authenticator app"})
    qr_code = ma.fields.String(metadata={"description": "The otpauth URI as a QR code: an SVG data URI"})


class RecoveryCodesSchema(Schema):
    recovery_codes = ma.fields.List(ma.fields.String(), metadata={
        "description": "Ten one-time recovery codes, shown this once (only their hashes are kept)"})


class TokenPairWithRecoveryCodesSchema(TokenPairSchema, RecoveryCodesSchema):
    pass


class MfaStatusSchema(Schema):
    enabled = ma.fields.Boolean(metadata={"description": "A confirmed second factor is on"})
    confirmed_at = ma.fields.DateTime(allow_none=True)
    recovery_codes_remaining = ma.fields.Integer()


class SignInPolicySchema(StrictSchema):
    require_mfa = ma.fields.Boolean(required=True, metadata={
        "description": "Password users must have a second factor (asked to enrol at their next login)"})
    require_sso = ma.fields.Boolean(required=True, metadata={
        "description": "Password login is refused for the tenant's users, except the break-glass accounts"})
    break_glass_user_ids = ma.fields.List(ma.fields.UUID(), required=True, validate=ma.validate.Length(max=10),
                                          metadata={"description": "Active admins of the tenant who may still use "
                                                                   "a password when SSO is required"})
