"""A CB decides and issues certificates, suspends, restores, withdraws them; expiry and lapse (C1-C9)."""
from __future__ import annotations

import threading
import uuid
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

from grc.db import utcnow
from tests.certification import ISO_9001, Certification
from tests.test_auth import assert_problem

TODAY = utcnow().date()
SCOPE = "Online retail of consumer electronics"


class Decisions(Certification):
    def audited(self, major_open: bool = False) -> list[str]:
        """Completed stage 1 and stage 2 for ISO 9001; optionally leave a major open on the stage 2."""
        stage1 = self.run(self.plan("stage1", TODAY - timedelta(days=30)), TODAY - timedelta(days=30))
        stage2 = self.start(self.plan("stage2", TODAY - timedelta(days=2), TODAY))
        if major_open:
            self.raise_finding(stage2, "major")
        self.ok(self.http.post(f"/api/v1/audits/{stage2['id']}/complete", headers=self.as_("auditor"),
                               json={"completed_on": TODAY.isoformat()}))
        return [stage1["id"], stage2["id"]]

    def decide(self, outcome: str, who: str = "certification_manager", **body):  # type: ignore[no-untyped-def]
        payload = {"outcome": outcome, "rationale": "Audit evidence reviewed by the decision maker.", **body}
        if outcome in ("grant", "refuse"):
            payload.setdefault("client_id", self.client_id)
            payload.setdefault("scheme_id", ISO_9001)
        return self.http.post("/api/v1/certification-decisions", headers=self.as_(who), json=payload)

    def grant(self) -> dict:  # type: ignore[type-arg]
        decision = self.ok(self.decide("grant", audit_ids=self.audited(), scope=SCOPE), 201)
        url = f"/api/v1/certificates/{decision['certificate_id']}"
        return self.ok(self.http.get(url, headers=self.as_("cb_admin")))

    def act(self, certificate: dict, verb: str, status: int = 200, **body):  # type: ignore[no-untyped-def,type-arg]
        response = self.http.post(f"/api/v1/certificates/{certificate['id']}/{verb}",
                                  headers=self.as_("certification_manager"), json=body)
        return self.ok(response, status) if status < 400 else assert_problem(response, status)


def test_C4_C5_a_grant_after_a_clean_stage2_issues_a_numbered_certificate_showing_what_17021_asks(client, world):
    cert = Decisions(client, world)
    certificate = cert.grant()
    assert certificate["status"] == "active" and certificate["number"] == f"CB-A-ISO9001-{TODAY.year}-00001"
    assert certificate["issue_date"] == certificate["original_issue_date"] == TODAY.isoformat()
    assert certificate["expiry_date"] == (TODAY + relativedelta(years=3) - timedelta(days=1)).isoformat()
    current = certificate["current"]
    assert current["standard"] == "ISO 9001:2015" and current["scope"] == SCOPE and current["cb_name"] == "CB A"
    assert current["client_legal_name"] == "Client client-a Ltd" and current["sites"][0]["scope"] == SCOPE
    seen_by_client = cert.ok(client.get(f"/api/v1/certificates/{certificate['id']}", headers=cert.as_("client_viewer")))
    assert seen_by_client["number"] == certificate["number"]
    programme = cert.ok(client.get(f"/api/v1/clients/{cert.client_id}/programme", headers=cert.as_("cb_viewer")))
    assert programme["schemes"][0]["provisional"] is False


def test_C1_a_grant_without_completed_stage1_and_stage2_is_refused(client, world):
    cert = Decisions(client, world)
    stage1 = cert.run(cert.plan("stage1", TODAY - timedelta(days=5)), TODAY - timedelta(days=5))
    refused = assert_problem(cert.decide("grant", audit_ids=[stage1["id"]], scope=SCOPE), 409)
    assert refused["rule"] == "C1" and "stage2" in refused["detail"]


def test_C2_a_decider_who_audited_is_refused_and_only_certification_managers_decide(client, world, app):
    from tests.world import act_as

    cert = Decisions(client, world)
    audits = cert.audited()
    # the certification manager also joins the stage 2 team (an experienced auditor often holds both roles)
    with app.app_context():
        from grc.audits.models import AuditTeamMember
        from grc.extensions import db
        from grc.tenancy import system_scope

        act_as("cb_admin@cb-a.test")
        with system_scope(db.session):
            db.session.add(AuditTeamMember(audit_id=uuid.UUID(audits[1]),
                                           user_id=world.users["certification_manager@cb-a.test"],
                                           name="certification_manager", tenant_id=world.tenants["cb-a"],
                                           client_tenant_id=world.tenants["client-a"]))
            db.session.commit()
    refused = assert_problem(cert.decide("grant", audit_ids=audits, scope=SCOPE), 409)
    assert refused["rule"] == "C2"
    assert_problem(cert.decide("grant", who="auditor", audit_ids=audits, scope=SCOPE), 403)
    assert_problem(cert.decide("grant", who="cb_admin", audit_ids=audits, scope=SCOPE), 403)


def test_C3_a_grant_is_refused_while_a_major_is_unverified(client, world):
    cert = Decisions(client, world)
    refused = assert_problem(cert.decide("grant", audit_ids=cert.audited(major_open=True), scope=SCOPE), 409)
    assert refused["rule"] == "C3" and "major" in refused["detail"]


def test_C7_suspend_then_restore_keeps_the_history(client, world):
    cert = Decisions(client, world)
    certificate = cert.grant()
    until = (TODAY + timedelta(days=60)).isoformat()
    suspended = cert.act(certificate, "suspend", reason="Surveillance audit refused by the client", until=until)
    assert suspended["status"] == "suspended" and suspended["suspended_until"] == until
    restored = cert.act(certificate, "restore", reason="Surveillance audit performed")
    assert restored["status"] == "active" and restored["suspended_until"] is None
    assert [(e["action"], e["to_status"]) for e in restored["history"]] == [
        ("granted", "active"), ("suspended", "suspended"), ("restored", "active")]
    url = f"/api/v1/certification-decisions?certificate_id={certificate['id']}"
    decisions = cert.ok(client.get(url, headers=cert.as_("cb_admin")))["items"]
    outcomes = [d["outcome"] for d in decisions]
    assert outcomes == ["grant", "suspend", "restore"]


def test_C8_a_suspension_is_limited_and_a_lapsed_one_is_flagged_for_withdrawal(app, client, world):
    from grc.certification import service
    from grc.certification.models import Certificate
    from grc.extensions import db
    from tests.world import act_as

    cert = Decisions(client, world)
    certificate = cert.grant()
    too_long = cert.act(certificate, "suspend", 422, reason="r", until=(TODAY + timedelta(days=200)).isoformat())
    assert "until" in too_long["errors"]
    cert.act(certificate, "suspend", reason="Overdue major", until=(TODAY + timedelta(days=30)).isoformat())
    with app.app_context():
        act_as("certification_manager@cb-a.test")
        row = db.session.get(Certificate, uuid.UUID(certificate["id"]))
        assert service.lapse_suspension(db.session, row, TODAY + timedelta(days=30)) is False
        assert service.lapse_suspension(db.session, row, TODAY + timedelta(days=31)) is True
        db.session.commit()
    flagged = cert.ok(client.get(f"/api/v1/certificates/{certificate['id']}", headers=cert.as_("cb_admin")))
    assert flagged["status"] == "suspended" and flagged["flagged_for_withdrawal"] is True


def test_C7_withdrawn_is_terminal(client, world):
    cert = Decisions(client, world)
    certificate = cert.grant()
    assert cert.act(certificate, "withdraw", reason="Misuse of the certification mark")["status"] == "withdrawn"
    assert cert.act(certificate, "restore", 409, reason="Changed our mind")["rule"] == "C7"
    until = (TODAY + timedelta(days=5)).isoformat()
    assert cert.act(certificate, "suspend", 409, reason="x", until=until)["rule"] == "C7"


def test_C7_an_expired_certificate_is_restored_within_six_months_after_recertification(app, client, world):
    from grc.certification import service
    from grc.certification.models import Certificate
    from grc.extensions import db
    from tests.world import act_as

    cert = Decisions(client, world)
    certificate = cert.grant()
    expiry = date.fromisoformat(certificate["expiry_date"])
    with app.app_context():
        act_as("certification_manager@cb-a.test")
        row = db.session.get(Certificate, uuid.UUID(certificate["id"]))
        assert service.expire(db.session, row, expiry) is False
        assert service.expire(db.session, row, expiry + timedelta(days=1)) is True
        db.session.commit()
    seen = cert.ok(client.get(f"/api/v1/certificates/{certificate['id']}", headers=cert.as_("cb_admin")))
    assert seen["status"] == "expired"
    assert cert.act(certificate, "restore", 409, reason="Recertified")["rule"] == "C7"  # no recertification audit yet
    recert = cert.run(cert.plan("recertification", TODAY), TODAY)
    restored = cert.act(certificate, "restore", reason="Recertification audit completed", audit_ids=[recert["id"]])
    assert restored["status"] == "active"
    assert restored["expiry_date"] == (expiry + relativedelta(years=3)).isoformat()


def test_C6_renewal_keeps_the_number_and_extends_from_the_previous_expiry(client, world):
    cert = Decisions(client, world)
    certificate = cert.grant()
    recert = cert.run(cert.plan("recertification", TODAY), TODAY)
    cert.ok(cert.decide("renew", certificate_id=certificate["id"], audit_ids=[recert["id"]]), 201)
    renewed = cert.ok(client.get(f"/api/v1/certificates/{certificate['id']}", headers=cert.as_("cb_admin")))
    assert renewed["number"] == certificate["number"] and renewed["revision"] == 2
    previous_expiry = date.fromisoformat(certificate["expiry_date"])
    assert renewed["expiry_date"] == (previous_expiry + relativedelta(years=3)).isoformat()
    assert [r["superseded"] for r in renewed["revisions"]] == [True, False]


def test_C9_scope_reduction_is_a_new_revision_and_extension_needs_an_audit(client, world):
    cert = Decisions(client, world)
    certificate = cert.grant()
    reduced = cert.act(certificate, "reduce-scope", reason="Repairs discontinued", scope="Online retail only")
    assert reduced["revision"] == 2 and reduced["current"]["scope"] == "Online retail only"
    assert reduced["revisions"][0]["content"]["scope"] == SCOPE and reduced["revisions"][0]["superseded"] is True
    assert "Repairs discontinued" in reduced["revisions"][1]["reason"]
    unaudited = cert.decide("extend_scope", certificate_id=certificate["id"], scope="Retail and repairs")
    refused = assert_problem(unaudited, 409)
    assert refused["rule"] == "C9"
    special = cert.run(cert.plan("special", TODAY), TODAY)
    cert.ok(cert.decide("extend_scope", certificate_id=certificate["id"], scope="Retail and repairs",
                        audit_ids=[special["id"]]), 201)


def fifty_audited_clients(app, world) -> list[tuple[str, list[str]]]:  # type: ignore[no-untyped-def]
    """50 clients of cb-a, each with a completed stage 1 and stage 2 for ISO 9001 (built through the services)."""
    from grc import tenancy
    from grc.audits import service as audits
    from grc.auth.onboarding import create_client
    from grc.extensions import db
    from tests.world import act_as

    ready = []
    with app.app_context():
        for n in range(50):
            act_as("cb_admin@cb-a.test")
            client = create_client(db.session, {
                "name": f"Shop {n}", "legal_name": f"Shop {n} SARL",
                "country": "FR", "address": f"{n} rue X", "sites": [],
                "admin": {"email": f"admin{n}@shop{n}.test", "name": "Admin", "password": "long enough password"}})
            ids = []
            for kind in ("stage1", "stage2"):
                audit = audits.create_audit(db.session, {
                    "client_id": client.tenant.id, "scheme_ids": [uuid.UUID(ISO_9001)], "type": kind,
                    "planned_start": TODAY, "planned_end": TODAY, "sites": [],
                    "lead_auditor_id": world.users["auditor@cb-a.test"]})
                audits.start(db.session, audit, caller=tenancy.current())
                audits.complete(db.session, audit, TODAY, caller=tenancy.current())
                ids.append(str(audit.id))
            db.session.commit()
            ready.append((str(client.tenant.id), ids))
    return ready


def test_C4_fifty_concurrent_grants_get_fifty_distinct_numbers(app, client, world):
    cert = Decisions(client, world)
    headers = cert.as_("certification_manager")
    numbers: list[str] = []

    def grant(client_id: str, audit_ids: list[str]) -> None:
        body = {"outcome": "grant", "client_id": client_id, "scheme_id": ISO_9001, "audit_ids": audit_ids,
                "scope": SCOPE, "rationale": "Clean stage 2."}
        decision = app.test_client().post("/api/v1/certification-decisions", headers=headers, json=body)
        assert decision.status_code == 201, decision.get_data(as_text=True)
        url = f"/api/v1/certificates/{decision.get_json()['certificate_id']}"
        certificate = app.test_client().get(url, headers=headers)
        numbers.append(certificate.get_json()["number"])

    threads = [threading.Thread(target=grant, args=job) for job in fifty_audited_clients(app, world)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(numbers) == 50 and len(set(numbers)) == 50
    assert sorted(int(n.rsplit("-", 1)[1]) for n in numbers) == list(range(1, 51))


def test_another_cb_and_another_client_see_nothing_of_a_certificate(client, world):
    cert = Decisions(client, world)
    certificate = cert.grant()
    for outsider in ("certification_manager@cb-b.test", "client_admin@client-b.test"):
        assert_problem(client.get(f"/api/v1/certificates/{certificate['id']}", headers=world.headers(outsider)), 404)
        assert client.get("/api/v1/certificates", headers=world.headers(outsider)).get_json()["items"] == []


def test_the_directory_export_uses_the_iaf_certsearch_fields(app, client, world):
    import csv
    import io

    cert = Decisions(client, world)
    certificate = cert.grant()
    etag = client.get("/api/v1/policy", headers=cert.as_("cb_admin")).headers["ETag"]
    cert.ok(client.put("/api/v1/policy", headers={**cert.as_("cb_admin"), "If-Match": etag}, json={
        "response_due_days": 14, "major_closure_days": 90, "minor_closure_days": None, "surveillance_tolerance_days": 0,
        "accreditation_body": "DAkkS", "accreditation_number": "D-ZM-12345-01-00"}))
    response = client.get("/api/v1/certificates/export?format=csv", headers=cert.as_("cb_viewer"))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    [row] = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert row["certificate_number"] == certificate["number"] and row["certification_status"] == "active"
    assert row["certification_expiry_date"] == certificate["expiry_date"].replace("-", "")
    assert row["standards"] == "ISO 9001:2015" and row["accreditation_body_name"] == "DAkkS"
    assert row["certified_entity_name"] == "Client client-a Ltd" and row["certified_entity_country"] == "FR"
    [record] = client.get("/api/v1/certificates/export?format=json", headers=cert.as_("cb_admin")).get_json()
    assert record["certificate_number"] == certificate["number"] and record["sites"][0]["scope"] == SCOPE
    other_cb = client.get("/api/v1/certificates/export?format=json", headers=world.headers("cb_admin@cb-b.test"))
    assert other_cb.get_json() == []
    assert_problem(client.get("/api/v1/certificates/export", headers=cert.as_("client_admin")), 403)


def test_the_directory_csv_neutralises_a_client_legal_name_a_spreadsheet_would_run_and_the_json_keeps_it(
        client, world):
    import csv
    import io

    cert = Decisions(client, world)
    legal_name = '=HYPERLINK("http://evil.example","x")'
    url = f"/api/v1/clients/{cert.client_id}"
    etag = client.get(url, headers=cert.as_("cb_admin")).headers["ETag"]
    cert.ok(client.patch(url, headers={**cert.as_("cb_admin"), "If-Match": etag},
                         json={"legal_name": legal_name, "name": "@SUM(1)"}))
    cert.ok(cert.decide("grant", audit_ids=cert.audited(), scope="-2+3 Online retail"), 201)
    response = client.get("/api/v1/certificates/export?format=csv", headers=cert.as_("cb_viewer"))
    [row] = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert row["certified_entity_name"] == "'" + legal_name and row["certified_entity_name"].startswith("'=")
    assert row["scope"] == "'-2+3 Online retail"
    assert row["sites"] == "'@SUM(1) (FR): -2+3 Online retail"  # the cell's start is what a spreadsheet reads
    assert row["certificate_number"].startswith("CB-A-ISO9001-") and row["certified_entity_country"] == "FR"
    assert row["certification_expiry_date"].isdigit() and row["certification_body_name"] == "CB A"
    [record] = client.get("/api/v1/certificates/export?format=json", headers=cert.as_("cb_admin")).get_json()
    assert record["certified_entity_name"] == legal_name and record["scope"] == "-2+3 Online retail"
    assert record["sites"][0]["name"] == "@SUM(1)"  # JSON is not a spreadsheet: verbatim


def test_C11_a_client_moves_its_active_certificate_to_another_cb_keeping_scope_and_expiry(client, world):
    cert = Decisions(client, world)
    certificate = cert.grant()
    receiving = Decisions(client, world, cb="cb-b")  # cb-b working with client-a once the client asks
    receiving.client_id = cert.client_id
    asked = cert.ok(client.post("/api/v1/certificate-transfers", headers=cert.as_("client_admin"),
                                json={"certificate_id": certificate["id"], "to_cb_slug": "cb-b"}), 201)
    assert asked["status"] == "requested" and asked["source_number"] == certificate["number"]
    review = receiving.run(receiving.plan("transfer_review", TODAY), TODAY)
    accepted = receiving.ok(client.post(f"/api/v1/certificate-transfers/{asked['id']}/accept",
                                        headers=receiving.as_("certification_manager"),
                                        json={"audit_id": review["id"], "rationale": "Transfer review satisfactory"}))
    url = f"/api/v1/certificates/{accepted['certificate_id']}"
    new = receiving.ok(client.get(url, headers=receiving.as_("cb_admin")))
    assert new["number"].startswith("CB-B-") and new["transferred_from"] == f"CB A {certificate['number']}"
    assert new["expiry_date"] == certificate["expiry_date"] and new["current"]["scope"] == SCOPE
    assert new["original_issue_date"] == certificate["original_issue_date"]
    assert_problem(client.get(f"/api/v1/certificates/{new['id']}", headers=cert.as_("cb_admin")), 404)


def test_C11_a_suspended_certificate_cannot_be_transferred(client, world):
    cert = Decisions(client, world)
    certificate = cert.grant()
    cert.act(certificate, "suspend", reason="Overdue surveillance", until=(TODAY + timedelta(days=30)).isoformat())
    refused = assert_problem(client.post("/api/v1/certificate-transfers", headers=cert.as_("client_admin"),
                                         json={"certificate_id": certificate["id"], "to_cb_slug": "cb-b"}), 409)
    assert refused["rule"] == "C11"


def badge_state(client, number: str) -> str:  # type: ignore[no-untyped-def]
    """The licence's state as its own page's badge shows it (where the badge may say VALID is V4's matter)."""
    svg = client.get(f"/badges/{number}.svg", headers={"Referer": f"http://localhost/badges/{number}"}).get_data(
        as_text=True)
    return next(state for state in ("VALID", "SUSPENDED", "WITHDRAWN") if state in svg)


def test_M2_the_licence_badge_flips_with_every_certificate_decision(client, world):
    cert = Decisions(client, world)
    certificate = cert.grant()
    licence = cert.ok(client.post("/api/v1/mark-licences", headers=cert.as_("certification_manager"), json={
        "client_id": cert.client_id, "certificate_ids": [certificate["id"]], "permitted_uses": ["website"],
        "domains": ["shop.example"]}), 201)
    assert badge_state(client, licence["number"]) == "VALID"
    cert.act(certificate, "suspend", reason="Surveillance overdue", until=(TODAY + timedelta(days=20)).isoformat())
    assert badge_state(client, licence["number"]) == "SUSPENDED"
    cert.act(certificate, "restore", reason="Surveillance done")
    assert badge_state(client, licence["number"]) == "VALID"
    cert.act(certificate, "withdraw", reason="Client ceased trading")
    assert badge_state(client, licence["number"]) == "WITHDRAWN"
    public = client.get(f"/api/v1/public/certificates/cb-a/{certificate['number']}").get_json()
    assert public["status"] == "withdrawn"


def test_C7_an_expired_certificate_is_not_restored_more_than_six_months_after_expiry(app, client, world):
    from grc.certification.models import Certificate
    from grc.extensions import db
    from tests.world import act_as

    cert = Decisions(client, world)
    certificate = cert.grant()
    with app.app_context():
        act_as("certification_manager@cb-a.test")
        row = db.session.get(Certificate, uuid.UUID(certificate["id"]))
        row.status, row.expiry_date = row.status.__class__.expired, TODAY - relativedelta(months=6) - timedelta(days=1)
        db.session.commit()
    recert = cert.run(cert.plan("recertification", TODAY), TODAY)
    refused = cert.act(certificate, "restore", 409, reason="Late recertification", audit_ids=[recert["id"]])
    assert refused["rule"] == "C7" and "6 months" in refused["detail"]
