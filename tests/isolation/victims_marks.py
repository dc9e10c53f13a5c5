"""Isolation victims of certification marks: cb-a's mark licence for client-a."""
from __future__ import annotations

from flask import Flask

from grc import tenancy
from grc.extensions import db
from tests.isolation.registry import BOTH, Victim, victims
from tests.world import World, act_as


@victims("licence_id", marked=True)
def licence_victims(app: Flask, world: World) -> list[Victim]:
    """cb-a's mark licence for client-a, on an active certificate (made through the ORM)."""
    from grc.marks.service import grant
    from tests.marks_factory import make_certificate

    certificate_id = make_certificate(app, world, number="VICTIM-LICENCE-CERT")
    with app.app_context():
        act_as("certification_manager@cb-a.test")
        licence = grant(db.session, {"client_id": world.tenants["client-a"], "certificate_ids": [certificate_id],
                                     "permitted_uses": ["website"], "domains": ["victim.example"]},
                        caller=tenancy.current())
        db.session.commit()
        return [Victim("licence_id", "cb-a's mark licence for client-a", licence.id, BOTH)]
