"""Daily sweeps travel in time: expiry (C7), suspension lapse (C8) and their licences (M2), run twice safely."""
from __future__ import annotations

from datetime import date, timedelta

from grc.db import utcnow
from grc.jobs.job_functions import daily_sweeps
from tests.test_certification import Decisions

TODAY = utcnow().date()


def sweep(app, day: date) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return daily_sweeps(day.isoformat())


def test_C7_the_daily_sweep_expires_a_certificate_the_day_after_its_expiry_and_the_licence_follows(app, client, world):
    cert = Decisions(client, world)
    certificate = cert.grant()
    licence = cert.ok(client.post("/api/v1/mark-licences", headers=cert.as_("certification_manager"), json={
        "client_id": cert.client_id, "certificate_ids": [certificate["id"]], "permitted_uses": ["stationery"]}), 201)
    expiry = date.fromisoformat(certificate["expiry_date"])
    assert sweep(app, expiry)["certificate-expiry"] == 0
    assert sweep(app, expiry + timedelta(days=1))["certificate-expiry"] == 1
    assert sweep(app, expiry + timedelta(days=1))["certificate-expiry"] == 0  # a re-run changes nothing
    after = cert.ok(client.get(f"/api/v1/certificates/{certificate['id']}", headers=cert.as_("cb_admin")))
    assert after["status"] == "expired" and after["history"][-1]["action"] == "expired"
    assert "WITHDRAWN" in client.get(f"/badges/{licence['number']}.svg").get_data(as_text=True)


def test_C8_the_daily_sweep_flags_a_lapsed_suspension_once(app, client, world):
    cert = Decisions(client, world)
    certificate = cert.grant()
    until = TODAY + timedelta(days=10)
    cert.act(certificate, "suspend", reason="Surveillance overdue", until=until.isoformat())
    assert sweep(app, until)["suspension-lapse"] == 0
    assert sweep(app, until + timedelta(days=1))["suspension-lapse"] == 1
    assert sweep(app, until + timedelta(days=2))["suspension-lapse"] == 0
    flagged = cert.ok(client.get(f"/api/v1/certificates/{certificate['id']}", headers=cert.as_("cb_admin")))
    assert flagged["flagged_for_withdrawal"] is True and flagged["status"] == "suspended"


def test_C8_a_cb_whose_policy_says_so_has_lapsed_suspensions_withdrawn(app, client, world):
    cert = Decisions(client, world)
    certificate = cert.grant()
    etag = client.get("/api/v1/policy", headers=cert.as_("cb_admin")).headers["ETag"]
    cert.ok(client.put("/api/v1/policy", headers={**cert.as_("cb_admin"), "If-Match": etag}, json={
        "response_due_days": 14, "major_closure_days": 90, "minor_closure_days": None,
        "surveillance_tolerance_days": 0, "withdraw_on_lapse": True}))
    until = TODAY + timedelta(days=5)
    cert.act(certificate, "suspend", reason="Overdue major", until=until.isoformat())
    assert sweep(app, until + timedelta(days=1))["suspension-lapse"] == 1
    seen = cert.ok(client.get(f"/api/v1/certificates/{certificate['id']}", headers=cert.as_("cb_admin")))
    assert seen["status"] == "withdrawn"
