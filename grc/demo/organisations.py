"""The demo's organisations: Acme Certification with its staff, policy and (disabled) registry connection, and the
three client organisations it certifies, each with its first admin."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from marshmallow import Schema
from sqlalchemy.orm import Session

from grc.auth.onboarding import create_certification_body, create_client
from grc.auth.users import create_user
from grc.demo import people
from grc.demo.people import DEMO_PASSWORD, Cast
from grc.registry import service as registry
from grc.registry.schemas import ConnectionWriteSchema
from grc.schemes.catalogue import scheme_id
from grc.tenants import service as tenants
from grc.tenants.schemas import PolicyUpdateSchema

CB_SLUG = "acme-cert"
E_COMMERCE = scheme_id("GPEC", "2024")  # good practices in e-commerce (the shipped catalogue)
ISO_9001 = scheme_id("ISO 9001", "2015")
ISO_27001 = scheme_id("ISO/IEC 27001", "2022")
SHOP, OUTDOOR, LOGISTICS = "Example Shop", "Bergwerk Outdoor", "Nordsee Logistik"


def load(schema: type[Schema], payload: dict[str, Any]) -> dict[str, Any]:
    """A request body as its route would hand it to the service: parsed and validated by the route's schema."""
    data: dict[str, Any] = schema().load(payload)
    return data


@dataclass(frozen=True)
class Organisations:
    cb_id: uuid.UUID
    clients: dict[str, uuid.UUID]  # client name -> tenant id


def onboard(session: Session, cast: Cast) -> Organisations:
    """The platform admin creates the CB; its admin adds the staff, the policy and the registry connection, and
    onboards the clients, whose admins add their own people."""
    cast.act(people.PLATFORM_ADMIN)
    cb = create_certification_body(session, {
        "kind": "certification_body", "name": "Acme Certification", "slug": CB_SLUG,
        "legal_name": "Acme Certification GmbH", "country": "DE", "address": "Zertifizierungsweg 1, 10115 Berlin",
        "admin": {"email": people.CB_ADMIN, "name": "Carla Admin", "password": DEMO_PASSWORD},
    })
    session.flush()
    caller = cast.act(people.CB_ADMIN)
    for email, name, role in ((people.MANAGER, "Martin Manager", "certification_manager"),
                              (people.AUDITOR, "Anna Auditor", "auditor")):
        create_user(session, {"email": email, "name": name, "password": DEMO_PASSWORD, "roles": [role]})
    tenants.save_policy(session, load(PolicyUpdateSchema, {
        "response_due_days": 30, "major_closure_days": 90, "minor_closure_days": None,
        "surveillance_tolerance_days": 30, "numbering_template": "ACME-{scheme}-{yyyy}-{seq:05}",
        "accreditation_body": "Deutsche Akkreditierungsstelle", "accreditation_body_acronym": "DAkkS",
        "accreditation_number": "D-ZM-99999-01-00",
        "accredited_schemes": [str(ISO_9001), str(ISO_27001), str(E_COMMERCE)],
    }))
    # G2 without a live registry: the key is a placeholder and the push stays off (switch it on with a real key).
    registry.save_connection(session, load(ConnectionWriteSchema, {
        "api_key": "demo-placeholder-not-a-registry-key", "enabled": False, "dry_run": True,
    }), caller=caller)
    clients = {name: _client(session, cast, name, details) for name, details in CLIENTS.items()}
    cast.act(people.SHOP_ADMIN)
    create_user(session, {"email": people.SHOP_RISK, "name": "Rita Risk", "password": DEMO_PASSWORD,
                          "roles": ["risk_manager"]})
    return Organisations(cb.id, clients)


CLIENTS: dict[str, dict[str, Any]] = {
    SHOP: {
        "legal_name": "Example Shop GmbH", "address": "Handelsstrasse 5, 20095 Hamburg",
        "sites": [("Head office", "Handelsstrasse 5, 20095 Hamburg"), ("Warehouse", "Lagerweg 2, 21079 Hamburg")],
        "admin": (people.SHOP_ADMIN, "Sven Shop"),
    },
    OUTDOOR: {
        "legal_name": "Bergwerk Outdoor GmbH", "address": "Gipfelstrasse 12, 80331 München",
        "sites": [("Head office and workshop", "Gipfelstrasse 12, 80331 München")],
        "admin": (people.OUTDOOR_ADMIN, "Berta Berg"),
    },
    LOGISTICS: {
        "legal_name": "Nordsee Logistik GmbH", "address": "Kaiweg 7, 27568 Bremerhaven",
        "sites": [("Terminal", "Kaiweg 7, 27568 Bremerhaven"), ("Data centre", "Hafenring 3, 28217 Bremen")],
        "admin": (people.LOGISTICS_ADMIN, "Niklas Nord"),
    },
}


def _client(session: Session, cast: Cast, name: str, details: dict[str, Any]) -> uuid.UUID:
    cast.act(people.CB_ADMIN)
    email, admin_name = details["admin"]
    view = create_client(session, {
        "name": name, "legal_name": details["legal_name"], "country": "DE", "address": details["address"],
        "sites": [{"name": site, "address": address, "country": "DE"} for site, address in details["sites"]],
        "admin": {"email": email, "name": admin_name, "password": DEMO_PASSWORD},
    })
    session.flush()
    return view.tenant.id
