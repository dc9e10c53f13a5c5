"""Isolation markers of the registry (G1, G2): client-a's registered address lines, which cb-a's registry records
carry (dry run, CertSearch exports), seen only by client-a and cb-a; and cb-a's IAF CertSearch connection (its
address and the last error the registry gave it), cb-a's alone. The strangers' dry runs carry their own CB's records
only, and a stranger's PUT makes or changes only the stranger's own connection."""
from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from grc import tenancy
from grc.extensions import db
from grc.tenants.models import Tenant
from tests.isolation.registry import CB_ONLY, Marker, Victims, markers, valid_body
from tests.world import World, act_as

STREET, CITY = "12 Victim Registry Street", "Victimcity-on-Registry"
VICTIM_URL = "https://93.184.215.14/cb-a-registry-victim"
VICTIM_ERROR = "HTTP 500: cb-a's registry victim error"


@markers
def registry_address_markers(app: Flask, world: World, _victims: Victims) -> list[Marker]:
    with app.app_context(), tenancy.system_scope(db.session):
        client = db.session.get_one(Tenant, world.tenants["client-a"])
        client.street, client.city = STREET, CITY
        db.session.commit()
    seen_by = frozenset({"client-a", "cb-a"})
    return [Marker(STREET, "client-a's street line", seen_by), Marker(CITY, "client-a's city", seen_by)]


@markers
def registry_connection_markers(app: Flask, world: World, _victims: Victims) -> list[Marker]:
    """cb-a's connection (made once per world through the service, the push off so nothing is called)."""
    from grc.registry.models import RegistryConnection
    from grc.registry.service import save_connection

    with app.app_context():
        with tenancy.system_scope(db.session):
            made = db.session.scalars(select(RegistryConnection).where(
                RegistryConnection.tenant_id == world.tenants["cb-a"])).one_or_none()
        if made is None:
            act_as("cb_admin@cb-a.test")
            made = save_connection(db.session, {"api_key": "cb-a-victim-key-0123456789", "base_url": VICTIM_URL,
                                                "enabled": False}, caller=tenancy.current())
            made.last_error = VICTIM_ERROR
            db.session.commit()
    return [Marker(VICTIM_URL, "cb-a's registry address", CB_ONLY),
            Marker(VICTIM_ERROR, "cb-a's registry error", CB_ONLY)]


@valid_body("PUT /api/v1/registry-connections/certsearch")
def stranger_connection(_victims: Victims, _caller: Any, n: int) -> dict[str, Any]:
    return {"api_key": f"stranger-key-{n}-0123456789", "base_url": "https://93.184.215.14/stranger", "enabled": False}
