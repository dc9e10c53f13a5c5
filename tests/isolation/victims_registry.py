"""Isolation markers of the registry data (G1, G2): client-a's registered address lines, which cb-a's registry
records carry (dry run, CertSearch exports). Only client-a and cb-a may ever see them; the strangers' dry runs
(the walk calls POST /registry-connections/certsearch/dry-run as each of them) carry their own CB's records only."""
from __future__ import annotations

from flask import Flask

from grc import tenancy
from grc.extensions import db
from grc.tenants.models import Tenant
from tests.isolation.registry import Marker, Victims, markers
from tests.world import World

STREET, CITY = "12 Victim Registry Street", "Victimcity-on-Registry"


@markers
def registry_address_markers(app: Flask, world: World, _victims: Victims) -> list[Marker]:
    with app.app_context(), tenancy.system_scope(db.session):
        client = db.session.get_one(Tenant, world.tenants["client-a"])
        client.street, client.city = STREET, CITY
        db.session.commit()
    seen_by = frozenset({"client-a", "cb-a"})
    return [Marker(STREET, "client-a's street line", seen_by), Marker(CITY, "client-a's city", seen_by)]
