"""Isolation markers of signing keys (V1): cb-a's key ids. Public in cb-a's JWKS, but no other tenant's
authenticated API answer names them (a CB lists and rotates only its own keys)."""
from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from grc import tenancy
from grc.extensions import db
from grc.signing.models import SigningKey
from tests.isolation.registry import CB_ONLY, Marker, Victims, markers
from tests.world import World


@markers
def signing_key_markers(app: Flask, world: World, _victims: Victims) -> list[Marker]:
    with app.app_context(), tenancy.system_scope(db.session):
        kids = db.session.scalars(select(SigningKey.kid).where(SigningKey.tenant_id == world.tenants["cb-a"])).all()
    return [Marker(kid, "cb-a's signing key id", CB_ONLY) for kid in kids]
