"""Statement-count growers of audit work: audits, findings, corrective actions and their evidence."""
from __future__ import annotations

import uuid
from datetime import timedelta

from grc import tenancy
from grc.actions import service as actions
from grc.actions.models import Action
from grc.audits import service as audits
from grc.audits.models import Audit
from grc.auth import users
from grc.evidence import service as evidence
from grc.findings import service as findings
from grc.findings.models import Finding
from grc.schemes.catalogue import scheme_id
from tests.query_counts.registry import grows_list
from tests.query_counts.scene import AUDITOR, CB_ADMIN, CB_MANAGER, CLIENT_ADMIN, PASSWORD, TODAY, Read, Scene

# --------------------------------------------------------------------------- parents


def audit(scene: Scene) -> uuid.UUID:
    """cb-a's ISO 9001 audit of client-a, in progress."""

    def build() -> uuid.UUID:
        audit_id = plan_audits(scene, 1)[0]
        with scene.acting(AUDITOR) as session:
            audits.start(session, session.get_one(Audit, audit_id), caller=tenancy.current())
        return audit_id

    return scene.once("audit", build)


def plan_audits(scene: Scene, count: int) -> list[uuid.UUID]:
    """cb-a's ISO 9001 and ISO/IEC 27001 audits of client-a, each with a second auditor on the team."""
    standards = [scheme_id("ISO 9001", "2015"), scheme_id("ISO/IEC 27001", "2022")]
    team = [second_auditor(scene)]
    with scene.acting(CB_MANAGER) as session:
        return [audits.create_audit(session, {
            "client_id": scene.tenant("client-a"), "scheme_ids": standards, "type": "stage1", "planned_start": TODAY,
            "planned_end": TODAY, "sites": [], "lead_auditor_id": scene.user(AUDITOR), "team_ids": team}).id
            for _ in range(count)]


def second_auditor(scene: Scene) -> uuid.UUID:
    def build() -> uuid.UUID:
        with scene.acting(CB_ADMIN) as session:
            return users.create_user(session, {"email": "second.auditor@cb-a.test", "name": "Second auditor",
                                               "password": PASSWORD, "roles": ["auditor"]}).id

    return scene.once("second auditor", build)


def finding(scene: Scene) -> uuid.UUID:
    return scene.once("finding", lambda: raise_findings(scene, 1)[0])


def raise_findings(scene: Scene, count: int) -> list[uuid.UUID]:
    audit_id = audit(scene)
    with scene.acting(AUDITOR) as session:
        on = session.get(Audit, audit_id)
        nonconformity = {"grade": "major", "clause": "8.5", "scheme_id": on.schemes[0].id, "requirement": "r",
                         "evidence": "e", "statement": "s"}
        return [findings.raise_on_audit(session, on, dict(nonconformity)).id for _ in range(count)]


def action(scene: Scene) -> uuid.UUID:
    return scene.once("action", lambda: plan_actions(scene, 1)[0])


def plan_actions(scene: Scene, count: int) -> list[uuid.UUID]:
    """Corrective actions of client-a on cb-a's finding, each with two progress notes."""
    finding_id = finding(scene)
    with scene.acting(CLIENT_ADMIN) as session:
        on = session.get(Finding, finding_id)
        planned = []
        for _ in range(count):
            made = actions.create_for_finding(session, on, {
                "title": "fix", "owner_id": scene.user(CLIENT_ADMIN), "due_date": TODAY + timedelta(days=30)},
                caller=tenancy.current())
            for percent in (10, 50):
                actions.add_note(session, made, {"text": "progress", "progress_percent": percent},
                                 caller=tenancy.current())
            planned.append(made.id)
        return planned


def attach(scene: Scene, model: type, parent_id: uuid.UUID, count: int) -> None:
    with scene.acting(CLIENT_ADMIN) as session:
        parent = session.get(model, parent_id)
        for _ in range(count):
            evidence.attach(session, parent, f"note-{scene.serial('file')}.txt", b"evidence")


# --------------------------------------------------------------------------- growers


@grows_list("GET /api/v1/audits")
def grow_audits(scene: Scene, count: int) -> Read:
    plan_audits(scene, count)
    return Read(CLIENT_ADMIN, "/api/v1/audits")


@grows_list("GET /api/v1/findings")
def grow_findings(scene: Scene, count: int) -> Read:
    raise_findings(scene, count)
    return Read(CLIENT_ADMIN, "/api/v1/findings")


@grows_list("GET /api/v1/findings/{finding_id}/evidence")
def grow_finding_evidence(scene: Scene, count: int) -> Read:
    finding_id = finding(scene)
    attach(scene, Finding, finding_id, count)
    return Read(CLIENT_ADMIN, f"/api/v1/findings/{finding_id}/evidence")


@grows_list("GET /api/v1/actions")
def grow_actions(scene: Scene, count: int) -> Read:
    plan_actions(scene, count)
    return Read(CLIENT_ADMIN, "/api/v1/actions")


@grows_list("GET /api/v1/actions/{action_id}/evidence")
def grow_action_evidence(scene: Scene, count: int) -> Read:
    action_id = action(scene)
    attach(scene, Action, action_id, count)
    return Read(CLIENT_ADMIN, f"/api/v1/actions/{action_id}/evidence")
