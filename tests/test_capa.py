"""Corrective actions (F6), a client's own nonconformities (F5), evidence files and the schemes catalogue."""
from __future__ import annotations

import hashlib
import io
from datetime import timedelta

from grc.db import utcnow
from tests.certification import Certification
from tests.test_auth import assert_problem

TODAY = utcnow().date()
PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def open_major(cert: Certification) -> dict:  # type: ignore[type-arg]
    audit = cert.start(cert.plan("stage1", TODAY))
    return cert.raise_finding(audit, "major")


def plan_action(cert: Certification, finding: dict, owner_role: str = "member", due: int = 30) -> dict:  # type: ignore[type-arg]
    body = {"title": "Introduce release checklist", "owner_id": cert.user_id(owner_role),
            "due_date": (TODAY + timedelta(days=due)).isoformat()}
    return cert.ok(cert.http.post(f"/api/v1/findings/{finding['id']}/actions", headers=cert.as_("risk_manager"),
                                  json=body), 201)


def test_F6_a_member_works_only_on_the_actions_assigned_to_them(client, world):
    cert = Certification(client, world)
    finding = open_major(cert)
    mine, theirs = plan_action(cert, finding, "member"), plan_action(cert, finding, "risk_manager")
    member = cert.as_("member")
    etag = client.get(f"/api/v1/actions/{mine['id']}", headers=member).headers["ETag"]
    done = cert.ok(client.patch(f"/api/v1/actions/{mine['id']}", headers={**member, "If-Match": etag},
                                json={"status": "done"}))
    assert done["status"] == "done" and done["completed_on"] == TODAY.isoformat()
    etag = client.get(f"/api/v1/actions/{theirs['id']}", headers=member).headers["ETag"]
    assert_problem(client.patch(f"/api/v1/actions/{theirs['id']}", headers={**member, "If-Match": etag},
                                json={"status": "done"}), 403)
    assert_problem(client.post(f"/api/v1/actions/{theirs['id']}/notes", headers=member, json={"text": "x"}), 403)
    noted = cert.ok(client.post(f"/api/v1/actions/{theirs['id']}/notes", headers=cert.as_("risk_manager"),
                                json={"text": "Draft checklist circulated", "progress_percent": 40}), 201)
    assert noted["status"] == "in_progress" and noted["notes"][0]["progress_percent"] == 40


def test_F6_a_done_action_gets_an_effectiveness_review_by_whom_and_when(client, world):
    cert = Certification(client, world)
    action = plan_action(cert, open_major(cert), "risk_manager")
    review_url = f"/api/v1/actions/{action['id']}/effectiveness-review"
    assert assert_problem(client.post(review_url, headers=cert.as_("client_admin"),
                                      json={"effectiveness": "effective"}), 409)["rule"] == "F6"
    etag = client.get(f"/api/v1/actions/{action['id']}", headers=cert.as_("risk_manager")).headers["ETag"]
    cert.ok(client.patch(f"/api/v1/actions/{action['id']}", headers={**cert.as_("risk_manager"), "If-Match": etag},
                         json={"status": "done"}))
    reviewed = cert.ok(client.post(review_url, headers=cert.as_("client_admin"),
                                   json={"effectiveness": "not_effective", "comment": "Errors recurred in week 2"}))
    assert reviewed["effectiveness"] == "not_effective"
    assert reviewed["effectiveness_reviewed_by"] == cert.user_id("client_admin")
    assert reviewed["effectiveness_reviewed_at"] is not None


def test_F6_the_cb_reads_the_clients_corrective_actions_but_cannot_change_them(client, world):
    cert = Certification(client, world)
    action = plan_action(cert, open_major(cert))
    seen = cert.ok(client.get("/api/v1/actions", headers=cert.as_("auditor")))["items"]
    assert [a["id"] for a in seen] == [action["id"]]
    etag = client.get(f"/api/v1/actions/{action['id']}", headers=cert.as_("cb_admin")).headers["ETag"]
    assert_problem(client.patch(f"/api/v1/actions/{action['id']}", headers={**cert.as_("cb_admin"), "If-Match": etag},
                                json={"title": "CB rewrite"}), 403)
    assert client.get("/api/v1/actions", headers=world.headers("auditor@cb-b.test")).get_json()["items"] == []


def test_F6_overdue_actions_are_listed(client, world):
    cert = Certification(client, world)
    finding = open_major(cert)
    late, later = plan_action(cert, finding, due=-1), plan_action(cert, finding, due=10)
    overdue = cert.ok(client.get("/api/v1/actions?overdue=true", headers=cert.as_("risk_manager")))["items"]
    assert [a["id"] for a in overdue] == [late["id"]] and overdue[0]["overdue"] is True and later["overdue"] is False


def test_F5_a_client_records_its_own_nonconformity_which_its_cb_never_sees(client, world):
    cert = Certification(client, world)
    body = {"source": "complaint", "grade": "minor", "clause": "8.2.1", "requirement": "Customer communication",
            "evidence": "Complaint #4411: no reply within 10 days", "statement": "Complaints not answered in time",
            "verifier_id": cert.user_id("client_admin"), "closure_due": (TODAY + timedelta(days=30)).isoformat()}
    own = cert.ok(client.post("/api/v1/findings", headers=cert.as_("risk_manager"), json=body), 201)
    assert own["source"] == "complaint" and own["closure_due"] == body["closure_due"]
    cert.ok(client.post(f"/api/v1/findings/{own['id']}/response", headers=cert.as_("risk_manager"), json={
        "correction": "Replied", "root_cause": "Shared inbox unowned", "corrective_action_plan": "Assign owner",
        "target_date": "2027-01-15"}))
    assert_problem(client.post(f"/api/v1/findings/{own['id']}/plan-review", headers=cert.as_("risk_manager"),
                               json={"accepted": True}), 403)  # only the named verifier reviews
    accepted = cert.ok(client.post(f"/api/v1/findings/{own['id']}/plan-review", headers=cert.as_("client_admin"),
                                   json={"accepted": True}))
    assert accepted["status"] == "plan_accepted"
    for cb_user in ("auditor", "cb_admin"):
        headers = cert.as_(cb_user)
        assert own["id"] not in [f["id"] for f in client.get("/api/v1/findings", headers=headers).get_json()["items"]]
        assert_problem(client.get(f"/api/v1/findings/{own['id']}", headers=headers), 404)
    assert "verifier_id" in assert_problem(client.post("/api/v1/findings", headers=cert.as_("risk_manager"), json={
        **body, "verifier_id": cert.user_id("member")}), 422)["errors"]
    assert_problem(client.post("/api/v1/findings", headers=cert.as_("auditor"), json=body), 403)


def upload(client, url: str, headers: dict, name: str, data: bytes):  # type: ignore[no-untyped-def,type-arg]
    form = {"file": (io.BytesIO(data), name)}
    return client.post(url, headers=headers, data=form, content_type="multipart/form-data")


def test_evidence_is_type_checked_hashed_and_served_only_to_both_parties(client, world):
    cert = Certification(client, world)
    finding = open_major(cert)
    url = f"/api/v1/findings/{finding['id']}/evidence"
    stored = cert.ok(upload(client, url, cert.as_("client_admin"), "release-checklist.pdf", PDF), 201)
    assert stored["content_type"] == "application/pdf" and stored["size_bytes"] == len(PDF)
    assert stored["sha256"] == hashlib.sha256(PDF).hexdigest()
    for reader in ("auditor", "client_viewer"):
        listed = cert.ok(client.get(url, headers=cert.as_(reader)))["items"]
        assert [e["id"] for e in listed] == [stored["id"]]
        download = client.get(stored["download_url"], headers=cert.as_(reader))
        assert download.status_code == 200 and download.data == PDF
        assert download.headers["Content-Disposition"].startswith("attachment")
        assert download.headers["X-Content-Type-Options"] == "nosniff"
    for outsider in ("auditor@cb-b.test", "client_admin@client-b.test"):
        assert_problem(client.get(stored["download_url"], headers=world.headers(outsider)), 404)
        assert_problem(client.get(url, headers=world.headers(outsider)), 404)


def test_evidence_whose_content_does_not_match_its_name_or_the_allowlist_is_refused(client, world):
    cert = Certification(client, world)
    url = f"/api/v1/findings/{open_major(cert)['id']}/evidence"
    headers = cert.as_("client_admin")
    for name, data in (("invoice.pdf", b"MZ\x90\x00 not a pdf"), ("tool.exe", b"MZ\x90\x00"),
                       ("notes.txt", b"\x00\x01\x02binary"), ("empty.pdf", b"")):
        assert "file" in assert_problem(upload(client, url, headers, name, data), 422)["errors"], name
    no_file = client.post(url, headers=headers, data={}, content_type="multipart/form-data")
    assert "file" in assert_problem(no_file, 422)["errors"]


def test_evidence_above_the_size_limit_is_refused(app, client, world):
    from dataclasses import replace

    cert = Certification(client, world)
    url = f"/api/v1/findings/{open_major(cert)['id']}/evidence"
    settings = app.config["GRC_SETTINGS"]
    app.config["GRC_SETTINGS"] = replace(settings, evidence_max_bytes=2048)
    try:
        assert upload(client, url, cert.as_("client_admin"), "small.txt", b"a" * 2000).status_code == 201
        too_big = upload(client, url, cert.as_("client_admin"), "big.txt", b"a" * 4000)
        assert "file" in assert_problem(too_big, 422)["errors"]
        assert_problem(upload(client, url, cert.as_("client_admin"), "huge.txt", b"a" * 200_000), 413)
    finally:
        app.config["GRC_SETTINGS"] = settings
    assert upload(client, url, cert.as_("client_viewer"), "x.txt", b"hello").status_code == 403


def test_the_catalogue_ships_the_standards_and_a_cbs_own_scheme_stays_its_own(client, world):
    cert = Certification(client, world)
    schemes = cert.ok(client.get("/api/v1/schemes?limit=100", headers=cert.as_("client_viewer")))["items"]
    standards = {s["standard"] for s in schemes}
    assert standards >= {"ISO 9001:2015", "ISO/IEC 27001:2022", "ISO 14001:2015", "ISO 22301:2019",
                         "ISO/IEC 20000-1:2018", "ISO 50001:2018", "ISO/IEC 27701:2019", "ISO 45001:2018", "GPEC:2024"}
    body = {"code": "SECTOR-X", "edition": "2026", "title": "Sector scheme",
            "clauses": [{"number": "1", "title": "Scope"}]}
    own = cert.ok(client.post("/api/v1/schemes", headers=cert.as_("cb_admin"), json=body), 201)
    assert own["owner"] == "cb" and own["cycle_months"] == 36
    assert_problem(client.get(f"/api/v1/schemes/{own['id']}", headers=world.headers("cb_admin@cb-b.test")), 404)
    duplicate = client.post("/api/v1/schemes", headers=cert.as_("cb_admin"), json=body)
    assert "code" in assert_problem(duplicate, 422)["errors"]
