"""The demo's enterprise sign-in (issue 18): the CB's own identity provider configured (switched off: its address is
a placeholder), the shop's SCIM token for its identity provider, and the shop's security officer, who signs in with
a second factor. The token and the factor's secret are shown once, when the world is built, as the API shows them.
"""
from __future__ import annotations

from dataclasses import dataclass

import pyotp
from sqlalchemy.orm import Session

from grc.auth import mfa
from grc.auth.users import create_user
from grc.demo import people
from grc.demo.organisations import load
from grc.demo.people import DEMO_PASSWORD, Cast
from grc.scim import service as scim
from grc.scim.schemas import ScimTokenCreateSchema
from grc.sso import service as sso
from grc.sso.schemas import IdentityProviderCreateSchema

IDENTITY_PROVIDER_HOST = "login.acme-cert.invalid"  # RFC 6761: resolves nowhere (allowed by name while seeding)
CB_IDENTITY_PROVIDER = {
    "name": "Acme staff directory (Keycloak)", "issuer": f"https://{IDENTITY_PROVIDER_HOST}/realms/staff",
    "client_id": "grc", "client_secret": "placeholder: the operator's real secret replaces it",
    "allowed_email_domains": ["acme-cert.example"], "role_claim": "groups",
    "role_mapping": {"grc-auditors": ["auditor"], "grc-decision-makers": ["certification_manager"]},
    "default_role": "cb_viewer", "create_users": True,
    "enabled": False,  # the issuer is a placeholder: switched on, a sign-in would fail at discovery
}


@dataclass(frozen=True)
class ShownOnce:
    """What the demo shows only when it builds the world: the shop's SCIM token and its officer's TOTP URI."""

    scim_token: str
    officer: str
    totp_uri: str


def secure_sign_in(session: Session, cast: Cast) -> ShownOnce:
    caller = cast.act(people.CB_ADMIN)
    sso.create_provider(session, load(IdentityProviderCreateSchema, CB_IDENTITY_PROVIDER), caller=caller)
    caller = cast.act(people.SHOP_ADMIN)
    _token, secret = scim.create_token(session, load(ScimTokenCreateSchema, {"name": "Entra ID (demo)"}),
                                       caller=caller)
    create_user(session, {"email": people.SHOP_SECURITY, "name": "Sami Security", "password": DEMO_PASSWORD,
                          "roles": ["client_viewer"]})
    cast.act(people.SHOP_SECURITY)
    officer = cast.user(people.SHOP_SECURITY)
    enrolment = mfa.enrol(session, officer)
    mfa.confirm(session, officer, pyotp.TOTP(enrolment.secret).now())
    return ShownOnce(scim_token=secret, officer=officer.email, totp_uri=enrolment.otpauth_uri)
