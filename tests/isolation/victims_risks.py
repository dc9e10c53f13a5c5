"""Isolation victims of risk management: client-a's registers (one private, one shared with cb-a), a risk in
each, and a control of its library."""
from __future__ import annotations

from flask import Flask

from grc.extensions import db
from tests.isolation.registry import BOTH, CLIENT_ONLY, Victim, victims
from tests.world import World, act_as


@victims("register_id", "risk_id", marked=True)
def risk_registers(app: Flask, world: World) -> dict[str, list[Victim]]:
    """client-a's private register and one it shares with cb-a, each with a risk (through the services)."""
    from grc.risks.service import create_register, create_risk, share

    graph: dict[str, list[Victim]] = {"register_id": [], "risk_id": []}
    with app.app_context():
        act_as("client_admin@client-a.test")
        owner = world.users["client_admin@client-a.test"]
        for label, shared in (("client-a's private register", False), ("client-a's register shared with cb-a", True)):
            register = create_register(db.session, {"name": label, "scope": "victim scope", "owner_id": owner})
            risk = create_risk(db.session, register, {"title": f"risk in {label}", "owner_id": owner})
            if shared:
                share(db.session, register, world.tenants["cb-a"])
            readers = BOTH if shared else CLIENT_ONLY
            graph["register_id"].append(Victim("register_id", label, register.id, readers))
            graph["risk_id"].append(Victim("risk_id", f"a risk in {label}", risk.id, readers))
        db.session.commit()
    return graph


@victims("control_id", marked=True)
def control_victims(app: Flask, world: World) -> list[Victim]:
    """A control in client-a's library (R6), through the service; addressable by client-a only."""
    from grc.risks.controls import create_control

    with app.app_context():
        act_as("client_admin@client-a.test")
        control = create_control(db.session, {"name": "victim control", "type": "preventive", "nature": "manual",
                                              "owner_id": world.users["client_admin@client-a.test"],
                                              "test_frequency_days": 90})
        db.session.commit()
        return [Victim("control_id", "a control in client-a's library", control.id, CLIENT_ONLY)]
