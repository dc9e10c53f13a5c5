"""Isolation victims of the tenants domain: the victim tenants themselves, and client-a as cb-a's client."""
from __future__ import annotations

from typing import Any

from flask import Flask

from tests.isolation.registry import (
    STRANGER_PASSWORD,
    Marker,
    Victim,
    Victims,
    legitimate,
    markers,
    valid_body,
    victims,
)
from tests.world import World

# The platform operator keeps the directory of certification bodies (docs/DESIGN.md section 2).
legitimate("GET /api/v1/tenants/{tenant_id}", "platform", "cb-a's tenant")


@victims("tenant_id")
def tenant_victims(_app: Flask, world: World) -> list[Victim]:
    return [
        Victim("tenant_id", "cb-a's tenant", world.tenants["cb-a"], frozenset({"cb-a"})),
        Victim("tenant_id", "client-a's tenant", world.tenants["client-a"], frozenset({"client-a"})),
    ]


@victims("client_id")
def client_victims(_app: Flask, world: World) -> list[Victim]:
    """Clients are addressed by their tenant id, by the CBs that certify them (not by the client itself)."""
    return [Victim("client_id", "client-a (certified by cb-a)", world.tenants["client-a"], frozenset({"cb-a"}))]


@markers
def tenant_markers(_app: Flask, world: World, _victims: Victims) -> list[Marker]:
    return [
        Marker(str(world.tenants["cb-a"]), "cb-a's tenant id", frozenset({"cb-a", "client-a", "platform"})),
        Marker(str(world.tenants["client-a"]), "client-a's tenant id", frozenset({"client-a", "cb-a"})),
        Marker("Client client-a Ltd", "client-a's legal name", frozenset({"client-a", "cb-a"})),
    ]


def new_admin(n: int) -> dict[str, str]:
    return {"email": f"admin-{n}@stranger.test", "name": "Stranger admin", "password": STRANGER_PASSWORD}


@valid_body("POST /api/v1/tenants")
def new_certification_body(_victims: Victims, _caller: Any, n: int) -> dict[str, Any]:
    return {"kind": "certification_body", "name": f"Stranger CB {n}", "slug": f"stranger-{n}", "country": "DE",
            "admin": new_admin(n)}


@valid_body("POST /api/v1/clients")
def new_client(_victims: Victims, _caller: Any, n: int) -> dict[str, Any]:
    return {"name": f"Stranger client {n}", "legal_name": f"Stranger client {n} Ltd", "country": "FR",
            "address": "2 rue Ailleurs, Lyon", "admin": new_admin(n)}
