"""A CB plans and runs stage 1 and stage 2, raises findings, and the client works through them (C1, C6, F1-F4)."""
from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import event
from sqlalchemy.orm import Session

from grc.db import utcnow
from grc.findings.models import Finding
from tests.certification import ISO_9001, ISO_27001, Certification
from tests.conftest import on_postgresql
from tests.test_auth import assert_problem

TODAY = utcnow().date()


def test_a_cb_certifies_a_client_from_stage1_to_verified_major(client, world):
    cert = Certification(client, world)
    stage1 = cert.run(cert.plan("stage1", TODAY - timedelta(days=40)), TODAY - timedelta(days=40))
    stage2 = cert.start(cert.plan("stage2", TODAY - timedelta(days=2), TODAY))
    major = cert.raise_finding(stage2, "major", "8.5")
    minor_a = cert.raise_finding(stage2, "minor", "7.5")
    minor_b = cert.raise_finding(stage2, "minor", "9.2")
    assert major["number"] != minor_a["number"] != minor_b["number"]
    assert major["response_due"] == (TODAY + timedelta(days=14)).isoformat()
    assert major["closure_due"] == (TODAY + timedelta(days=90)).isoformat()
    assert minor_a["closure_due"] is None  # F3 default: due by the next audit, none planned yet
    cert.ok(client.post(f"/api/v1/audits/{stage2['id']}/complete", headers=cert.as_("auditor"),
                        json={"completed_on": TODAY.isoformat()}))

    for finding in (major, minor_a, minor_b):
        assert cert.respond(finding)["status"] == "response_submitted"
    rejected = cert.review(minor_b, accepted=False, comment="Root cause is a symptom; dig deeper.")
    assert rejected["status"] == "plan_rejected"
    assert cert.respond(minor_b)["status"] == "response_submitted"
    for finding in (major, minor_a, minor_b):
        assert cert.review(finding, accepted=True)["status"] == "plan_accepted"

    implemented = cert.ok(client.post(f"/api/v1/findings/{major['id']}/implementation",
                                      headers=cert.as_("client_admin"),
                                      json={"implementation_evidence": "Checklist in use since 1 Dec."}))
    assert implemented["status"] == "implemented"
    verified = cert.ok(client.post(f"/api/v1/findings/{major['id']}/verification", headers=cert.as_("auditor"),
                                   json={"effective": True}))
    assert verified["status"] == "verified" and verified["verified_on"] == TODAY.isoformat()
    assert [step["action"] for step in verified["history"]] == [
        "raised", "respond", "accept_plan", "implement", "verify_effective"]
    history_b = cert.ok(client.get(f"/api/v1/findings/{minor_b['id']}", headers=cert.as_("client_admin")))["history"]
    assert [s["to_status"] for s in history_b] == [
        "open", "response_submitted", "plan_rejected", "response_submitted", "plan_accepted"]
    assert history_b[2]["comment"] == "Root cause is a symptom; dig deeper."

    programme = cert.ok(client.get(f"/api/v1/clients/{cert.client_id}/programme", headers=cert.as_("cb_viewer")))
    [iso9001] = programme["schemes"]
    assert iso9001["stage1"]["id"] == stage1["id"] and iso9001["stage2"]["id"] == stage2["id"]
    assert iso9001["initial_decision_date"] == TODAY.isoformat()
    due = {m["name"]: (m["due"], m["state"]) for m in iso9001["milestones"]}
    assert due == {
        "surveillance_1": ((TODAY + relativedelta(months=12)).isoformat(), "due"),
        "surveillance_2": ((TODAY + relativedelta(months=24)).isoformat(), "due"),
        "recertification": ((TODAY + relativedelta(months=36) - timedelta(days=1)).isoformat(), "due"),
    }
    assert iso9001["expiry"] == (TODAY + relativedelta(months=36) - timedelta(days=1)).isoformat()

    for outsider in ("auditor@cb-b.test", "client_admin@client-b.test"):
        headers = world.headers(outsider)
        assert client.get("/api/v1/findings", headers=headers).get_json()["items"] == []
        assert client.get("/api/v1/audits", headers=headers).get_json()["items"] == []
        assert_problem(client.get(f"/api/v1/findings/{major['id']}", headers=headers), 404)
        assert_problem(client.get(f"/api/v1/audits/{stage2['id']}", headers=headers), 404)


def test_C1_a_stage2_cannot_start_before_stage1_is_completed(client, world):
    cert = Certification(client, world)
    cert.plan("stage1", TODAY)
    stage2 = cert.plan("stage2", TODAY + timedelta(days=30))
    refused = assert_problem(client.post(f"/api/v1/audits/{stage2['id']}/start", headers=cert.as_("auditor")), 409)
    assert refused["rule"] == "C1" and "ISO 9001:2015" in refused["detail"]


def test_C1_stage1_for_one_scheme_does_not_open_stage2_for_another(client, world):
    cert = Certification(client, world)
    cert.run(cert.plan("stage1", TODAY - timedelta(days=10)), TODAY - timedelta(days=10))
    stage2 = cert.plan("stage2", TODAY, schemes=[ISO_9001, ISO_27001])
    refused = assert_problem(client.post(f"/api/v1/audits/{stage2['id']}/start", headers=cert.as_("auditor")), 409)
    assert "ISO/IEC 27001:2022" in refused["detail"] and "ISO 9001:2015" not in refused["detail"]


def test_only_the_cbs_auditors_can_be_on_a_team(client, world):
    cert = Certification(client, world)
    body = {"client_id": cert.client_id, "scheme_ids": [ISO_9001], "type": "stage1",
            "planned_start": TODAY.isoformat(), "planned_end": TODAY.isoformat(),
            "lead_auditor_id": cert.user_id("certification_manager")}
    errors = assert_problem(client.post("/api/v1/audits", headers=cert.as_("cb_admin"), json=body), 422)["errors"]
    assert "team_ids" in errors
    foreign = {**body, "lead_auditor_id": str(world.users["auditor@cb-b.test"])}
    response = client.post("/api/v1/audits", headers=cert.as_("cb_admin"), json=foreign)
    assert "team_ids" in assert_problem(response, 422)["errors"]
    other_client = {**body, "lead_auditor_id": cert.user_id("auditor"), "client_id": str(world.tenants["client-b"])}
    response = client.post("/api/v1/audits", headers=cert.as_("cb_admin"), json=other_client)
    assert "client_id" in assert_problem(response, 422)["errors"]


def test_the_client_reads_its_audits_but_cannot_run_them(client, world):
    cert = Certification(client, world)
    audit = cert.plan("stage1", TODAY)
    seen = cert.ok(client.get(f"/api/v1/audits/{audit['id']}", headers=cert.as_("client_viewer")))
    assert seen["team"][0]["is_lead"] is True and seen["team"][0]["name"] == "auditor"
    assert_problem(client.post(f"/api/v1/audits/{audit['id']}/start", headers=cert.as_("client_admin")), 403)
    assert_problem(client.post("/api/v1/audits", headers=cert.as_("client_admin"), json={}), 403)


def test_F1_findings_cite_a_clause_of_the_scheme_on_an_audit_in_progress(client, world):
    cert = Certification(client, world)
    planned = cert.plan("stage1", TODAY)
    body = {"grade": "minor", "clause": "8.5", "requirement": "r", "evidence": "e", "statement": "s"}
    url = f"/api/v1/audits/{planned['id']}/findings"
    assert assert_problem(client.post(url, headers=cert.as_("auditor"), json=body), 409)["rule"] == "F1"
    cert.start(planned)
    wrong_clause = assert_problem(client.post(url, headers=cert.as_("auditor"), json={**body, "clause": "A.5"}), 422)
    assert "clause" in wrong_clause["errors"]
    assert_problem(client.post(url, headers=cert.as_("certification_manager"), json=body), 403)


def test_F2_wrong_side_is_403_and_wrong_state_is_409(client, world):
    cert = Certification(client, world)
    audit = cert.start(cert.plan("stage1", TODAY))
    finding = cert.raise_finding(audit, "minor")
    assert_problem(client.post(f"/api/v1/findings/{finding['id']}/response", headers=cert.as_("auditor"), json={
        "correction": "c", "root_cause": "r", "corrective_action_plan": "p", "target_date": "2027-01-01"}), 403)
    assert assert_problem(client.post(f"/api/v1/findings/{finding['id']}/plan-review", headers=cert.as_("auditor"),
                                      json={"accepted": True}), 409)["rule"] == "F2"
    rejection = client.post(f"/api/v1/findings/{finding['id']}/plan-review", headers=cert.as_("auditor"),
                            json={"accepted": False})
    assert "comment" in assert_problem(rejection, 422)["errors"]
    observation = cert.raise_finding(audit, "observation")
    assert observation["response_due"] is None
    closed = cert.ok(client.post(f"/api/v1/findings/{observation['id']}/close", headers=cert.as_("auditor"), json={}))
    assert closed["status"] == "closed"


def test_F3_deadlines_follow_the_cb_policy_and_minors_fall_due_at_the_next_audit(client, world):
    cert = Certification(client, world)
    url = "/api/v1/policy"
    etag = client.get(url, headers=cert.as_("cb_admin")).headers["ETag"]
    policy = {"response_due_days": 7, "major_closure_days": 30, "minor_closure_days": None,
              "surveillance_tolerance_days": 0}
    cert.ok(client.put(url, headers={**cert.as_("cb_admin"), "If-Match": etag}, json=policy))
    audit = cert.start(cert.plan("stage1", TODAY))
    major, minor = cert.raise_finding(audit, "major"), cert.raise_finding(audit, "minor")
    assert major["response_due"] == (TODAY + timedelta(days=7)).isoformat()
    assert major["closure_due"] == (TODAY + timedelta(days=30)).isoformat()
    next_audit = cert.plan("stage2", TODAY + timedelta(days=50))
    refreshed = cert.ok(client.get(f"/api/v1/findings/{minor['id']}", headers=cert.as_("auditor")))
    assert refreshed["closure_due"] == next_audit["planned_start"]
    assert_problem(client.put(url, headers=cert.as_("certification_manager"), json=policy), 403)


def test_F3_overdue_findings_are_listed(app, client, world):
    from sqlalchemy import update

    from grc import tenancy
    from grc.extensions import db
    from grc.findings.models import Finding

    cert = Certification(client, world)
    audit = cert.start(cert.plan("stage1", TODAY))
    late, on_time = cert.raise_finding(audit, "major"), cert.raise_finding(audit, "major")
    with app.app_context(), tenancy.system_scope(db.session):
        db.session.execute(update(Finding).where(Finding.number == late["number"])
                           .values(response_due=TODAY - timedelta(days=1)))
        db.session.commit()
    overdue = cert.ok(client.get("/api/v1/findings?overdue=true", headers=cert.as_("auditor")))["items"]
    assert [f["id"] for f in overdue] == [late["id"]] and overdue[0]["overdue"] is True
    not_overdue = cert.ok(client.get("/api/v1/findings?overdue=false", headers=cert.as_("auditor")))["items"]
    assert on_time["id"] in [f["id"] for f in not_overdue]


def test_F4_an_unverified_stage2_major_after_six_months_forces_a_repeat_stage2(app, client, world):
    from grc.certification import programme
    from grc.extensions import db
    from tests.world import act_as

    cert = Certification(client, world)
    cert.run(cert.plan("stage1", TODAY - timedelta(days=20)), TODAY - timedelta(days=20))
    stage2 = cert.start(cert.plan("stage2", TODAY - timedelta(days=1)))
    cert.raise_finding(stage2, "major")
    cert.ok(client.post(f"/api/v1/audits/{stage2['id']}/complete", headers=cert.as_("auditor"),
                        json={"completed_on": TODAY.isoformat()}))
    with app.app_context():
        act_as("auditor@cb-a.test")
        client_id = world.tenants["client-a"]
        within = programme.programme(db.session, client_id, today=TODAY + relativedelta(months=6))
        after = programme.programme(db.session, client_id, today=TODAY + relativedelta(months=6, days=1))
    assert within[0]["repeat_stage2_required"] is False
    assert after[0]["repeat_stage2_required"] is True


def test_C6_surveillance_becomes_overdue_after_its_due_date_plus_tolerance(app, client, world):
    from grc.certification import programme
    from grc.extensions import db
    from tests.world import act_as

    cert = Certification(client, world)
    cert.run(cert.plan("stage1", TODAY - timedelta(days=20)), TODAY - timedelta(days=20))
    cert.run(cert.plan("stage2", TODAY - timedelta(days=2)), TODAY)
    s1_due = TODAY + relativedelta(months=12)
    with app.app_context():
        act_as("auditor@cb-a.test")
        [on_day] = programme.programme(db.session, world.tenants["client-a"], today=s1_due)
        [late] = programme.programme(db.session, world.tenants["client-a"], today=s1_due + timedelta(days=1))
    assert on_day["milestones"][0].state == "due" and late["milestones"][0].state == "overdue"


def test_every_transition_is_in_the_audit_trail_and_the_outbox(app, client, world):
    from sqlalchemy import select

    from grc import tenancy
    from grc.auditlog.models import AuditEvent
    from grc.events import OutboxMessage
    from grc.extensions import db

    cert = Certification(client, world)
    audit = cert.start(cert.plan("stage1", TODAY))
    finding = cert.raise_finding(audit, "minor")
    cert.respond(finding)
    cert.review(finding, accepted=False, comment="Too vague")
    with app.app_context(), tenancy.system_scope(db.session):
        ids = [uuid.UUID(audit["id"]), uuid.UUID(finding["id"])]
        actions = set(db.session.scalars(select(AuditEvent.action).where(AuditEvent.entity_id.in_(ids))))
        topics = set(db.session.scalars(select(OutboxMessage.topic)))
    assert {"audit.started", "finding.created", "finding.respond", "finding.reject_plan"} <= actions
    assert {"audit.planned", "audit.started", "finding.raised", "finding.response_submitted",
            "finding.plan_rejected"} <= topics


def test_finding_numbers_stay_unique_when_auditors_raise_them_at_once(app, client, world):
    import threading

    cert = Certification(client, world)
    audit = cert.start(cert.plan("stage1", TODAY))
    numbers: list[str] = []
    url = f"/api/v1/audits/{audit['id']}/findings"
    body = {"grade": "observation", "clause": "7", "requirement": "r", "evidence": "e", "statement": "s"}

    def raise_one() -> None:
        response = app.test_client().post(url, headers=cert.as_("auditor"), json=body)
        numbers.append(response.get_json()["number"])

    threads = [threading.Thread(target=raise_one) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(numbers) == 10 and len(set(numbers)) == 10


@pytest.mark.skipif(not on_postgresql(), reason="SQLite lets one writer in at a time: the two cannot overlap")
def test_F2_two_answers_to_the_same_finding_at_once_one_wins_the_other_gets_409(app, client, world):
    """The client's two staff report the implementation at the same moment: the second writer's version check
    fails, and it is told to read again (409), never a server error."""
    cert = Certification(client, world)
    finding = cert.raise_finding(cert.start(cert.plan("stage1", TODAY)), "minor")
    cert.respond(finding)
    cert.review(finding, accepted=True)
    url = f"/api/v1/findings/{finding['id']}/implementation"
    body = {"implementation_evidence": "Checklist in use."}
    other: list[int] = []
    fired = threading.Event()  # once: the other answer's own flush passes through here too

    def the_other_answer_commits_first(session, _context, _instances):  # type: ignore[no-untyped-def]
        if not fired.is_set() and any(isinstance(obj, Finding) for obj in session.dirty):
            fired.set()
            other.append(ThreadPoolExecutor(1).submit(
                lambda: app.test_client().post(url, headers=cert.as_("client_admin"), json=body).status_code
            ).result(timeout=30))

    event.listen(Session, "before_flush", the_other_answer_commits_first)
    try:
        response = client.post(url, headers=cert.as_("client_admin"), json=body)
    finally:
        event.remove(Session, "before_flush", the_other_answer_commits_first)
    assert other == [200]
    assert assert_problem(response, 409)["type"].endswith("/conflict")
    shown = cert.ok(client.get(f"/api/v1/findings/{finding['id']}", headers=cert.as_("client_admin")))
    assert shown["status"] == "implemented" and [s["action"] for s in shown["history"]].count("implement") == 1
