"""Isolation victims of single sign-on (I1): an identity provider of cb-a and one of client-a (any kind of tenant has
its own), each addressable by its own tenant only; their client ids are markers."""
from __future__ import annotations

from typing import Any

from flask import Flask

from grc import tenancy
from grc.extensions import db
from tests.isolation.registry import CB_ONLY, CLIENT_ONLY, Marker, Victim, Victims, markers, valid_body, victims
from tests.world import World, act_as

ISSUER = "https://93.184.215.14/idp"  # public: the SSRF guard lets it through without a DNS lookup
OWNERS = (("cb-a", "cb_admin", CB_ONLY), ("client-a", "client_admin", CLIENT_ONLY))


def _client_id(tenant: str) -> str:
    return f"victim-sso-client-of-{tenant}"


@victims("provider_id", marked=True)
def identity_provider_victims(app: Flask, _world: World) -> list[Victim]:
    from grc.sso.service import create_provider

    found = []
    with app.app_context():
        for tenant, admin, entitled in OWNERS:
            act_as(f"{admin}@{tenant}.test")
            provider = create_provider(db.session, {
                "name": f"{tenant}'s identity provider", "issuer": ISSUER, "client_id": _client_id(tenant),
                "client_secret": "victim secret", "allowed_email_domains": [f"{tenant}.test"]},
                caller=tenancy.current())
            db.session.commit()
            found.append(Victim("provider_id", f"{tenant}'s identity provider", provider.id, entitled))
    return found


@markers
def identity_provider_markers(_app: Flask, _world: World, _victims: Victims) -> list[Marker]:
    return [Marker(_client_id(tenant), f"{tenant}'s identity provider client id", entitled)
            for tenant, _admin, entitled in OWNERS]


@valid_body("POST /api/v1/identity-providers")
def new_identity_provider(_victims: Victims, _caller: Any, n: int) -> dict[str, Any]:
    return {"name": f"stranger idp {n}", "issuer": ISSUER, "client_id": f"stranger-{n}", "client_secret": "s",
            "allowed_email_domains": ["stranger.test"]}
