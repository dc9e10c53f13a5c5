"""Isolation victims of certification marks: cb-a's mark licence for client-a, and a domain of it (V4)."""
from __future__ import annotations

from flask import Flask

from grc import tenancy
from grc.extensions import db
from tests.isolation.registry import BOTH, Victim, victims
from tests.world import World, act_as


@victims("licence_id", "domain", marked=True)
def licence_victims(app: Flask, world: World) -> dict[str, list[Victim]]:
    """cb-a's mark licence for client-a, on an active certificate (made through the ORM), and its domain, which
    client-a's admin asked to prove (so a proof row exists to be reached)."""
    from grc.marks.domain_proofs import new_challenge
    from grc.marks.models import ProofMethod
    from grc.marks.service import grant
    from tests.marks_factory import make_certificate

    certificate_id = make_certificate(app, world, number="VICTIM-LICENCE-CERT")
    with app.app_context():
        act_as("certification_manager@cb-a.test")
        licence = grant(db.session, {"client_id": world.tenants["client-a"], "certificate_ids": [certificate_id],
                                     "permitted_uses": ["website"], "domains": ["victim.example"]},
                        caller=tenancy.current())
        db.session.commit()
        act_as("client_admin@client-a.test")
        new_challenge(db.session, licence, "victim.example", ProofMethod.dns, caller=tenancy.current())
        db.session.commit()
        return {"licence_id": [Victim("licence_id", "cb-a's mark licence for client-a", licence.id, BOTH)],
                "domain": [Victim("domain", "a domain of cb-a's mark licence for client-a", "victim.example", BOTH)]}
