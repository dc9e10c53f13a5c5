"""Isolation victims of certification: an audit of client-a by cb-a with its finding, action and evidence;
client-a's own nonconformity (F5); and a certificate cb-a granted to client-a, its decision and a transfer."""
from __future__ import annotations

import uuid
from datetime import timedelta

from flask import Flask

from grc import tenancy
from grc.extensions import db
from tests.isolation.registry import BOTH, CB_ONLY, CLIENT_ONLY, Victim, victims
from tests.world import World, act_as


@victims("scheme_id", "audit_id", "finding_id", "action_id", "evidence_id", marked=True)
def certification_graph(app: Flask, world: World) -> dict[str, list[Victim]]:
    """cb-a's own scheme, an audit of client-a with a finding, an action and evidence on it; and client-a's own
    nonconformity (F5) with its action and evidence, which cb-a must never reach."""
    from grc.actions.service import create_for_finding
    from grc.audits.service import create_audit, start
    from grc.db import utcnow
    from grc.evidence.service import attach
    from grc.findings.service import raise_on_audit, raise_own
    from grc.schemes.catalogue import scheme_id
    from grc.schemes.service import create_scheme

    today = utcnow().date()
    with app.app_context():
        act_as("cb_admin@cb-a.test")
        scheme = create_scheme(db.session, {"code": "CB-A SECTOR", "edition": "2026", "title": "cb-a's own scheme",
                                            "clauses": [{"number": "1", "title": "Scope"}]})
        audit = create_audit(db.session, {
            "client_id": world.tenants["client-a"], "scheme_ids": [scheme_id("ISO 9001", "2015")], "type": "stage1",
            "planned_start": today, "planned_end": today + timedelta(days=1), "sites": [],
            "lead_auditor_id": world.users["auditor@cb-a.test"]})
        db.session.commit()
        act_as("auditor@cb-a.test")
        start(db.session, audit, caller=tenancy.current())
        finding = raise_on_audit(db.session, audit, {"grade": "major", "clause": "8.5", "requirement": "r",
                                                     "evidence": "victim evidence", "statement": "s"})
        cb_file = attach(db.session, finding, "victim-report.txt", b"cb-a audit notes")
        db.session.commit()
        act_as("client_admin@client-a.test")
        action = create_for_finding(db.session, finding, {"title": "victim action", "owner_id":
                                                          world.users["client_admin@client-a.test"], "due_date": today},
                                    caller=tenancy.current())
        own = raise_own(db.session, {"source": "complaint", "grade": "minor", "clause": "7.1", "requirement": "r",
                                     "evidence": "private", "statement": "s",
                                     "verifier_id": world.users["client_admin@client-a.test"]})
        own_action = create_for_finding(db.session, own, {"title": "private action", "owner_id":
                                                          world.users["client_admin@client-a.test"], "due_date": today},
                                        caller=tenancy.current())
        own_file = attach(db.session, own, "private.txt", b"client-a private notes")
        db.session.commit()
        return {
            "scheme_id": [Victim("scheme_id", "cb-a's own scheme", scheme.id, CB_ONLY)],
            "audit_id": [Victim("audit_id", "cb-a's audit of client-a", audit.id, BOTH)],
            "finding_id": [Victim("finding_id", "cb-a's finding on client-a", finding.id, BOTH),
                           Victim("finding_id", "client-a's own nonconformity", own.id, CLIENT_ONLY)],
            "action_id": [Victim("action_id", "client-a's action on cb-a's finding", action.id, BOTH),
                          Victim("action_id", "client-a's private action", own_action.id, CLIENT_ONLY)],
            "evidence_id": [Victim("evidence_id", "evidence on cb-a's finding", cb_file.id, BOTH),
                            Victim("evidence_id", "client-a's private evidence", own_file.id, CLIENT_ONLY)],
        }


@victims("certificate_id", "decision_id", "transfer_id", marked=True)
def issued_certificate(app: Flask, world: World) -> dict[str, list[Victim]]:
    """A certificate cb-a granted to client-a (and the grant decision), through the real decision service."""
    from grc.audits.service import complete, create_audit, start
    from grc.certification.service import decide
    from grc.db import utcnow
    from grc.schemes.catalogue import scheme_id

    today, iso14001 = utcnow().date(), scheme_id("ISO 14001", "2015")  # the licence victim holds ISO 9001
    with app.app_context():
        act_as("auditor@cb-a.test")
        audits = []
        for kind in ("stage1", "stage2"):
            audit = create_audit(db.session, {
                "client_id": world.tenants["client-a"], "scheme_ids": [iso14001], "type": kind, "planned_start": today,
                "planned_end": today, "sites": [], "lead_auditor_id": world.users["auditor@cb-a.test"]})
            start(db.session, audit, caller=tenancy.current())
            complete(db.session, audit, today, caller=tenancy.current())
            audits.append(audit.id)
        db.session.commit()
        act_as("certification_manager@cb-a.test")
        decision = decide(db.session, {"outcome": "grant", "client_id": world.tenants["client-a"],
                                       "scheme_id": iso14001, "audit_ids": audits, "scope": "victim scope",
                                       "rationale": "clean"}, caller=tenancy.current())
        db.session.commit()
        transfer = _transfer_row(world, decision.certificate_id)
        return {
            "certificate_id": [Victim("certificate_id", "cb-a's certificate of client-a", decision.certificate_id,
                                      BOTH)],
            "decision_id": [Victim("decision_id", "cb-a's grant decision for client-a", decision.id, BOTH)],
            "transfer_id": [Victim("transfer_id", "a transfer client-a asked of cb-a", transfer, BOTH)],
        }


def _transfer_row(world: World, certificate_id: uuid.UUID) -> uuid.UUID:
    """A transfer request owned by cb-a about client-a (a row, not a real move: only who may address it matters)."""
    from grc.certification.models import CertificateTransfer, TransferStatus

    with tenancy.system_scope(db.session):
        row = CertificateTransfer(
            tenant_id=world.tenants["cb-a"], client_tenant_id=world.tenants["client-a"],
            source_certificate_id=certificate_id, source_number="VICTIM", source_cb_name="CB A",
            status=TransferStatus.requested, requested_by=world.users["client_admin@client-a.test"])
        db.session.add(row)
        db.session.commit()
        return row.id
