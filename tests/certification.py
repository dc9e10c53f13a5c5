"""Helpers for certification scenarios: plan and run audits, raise findings, through the real API."""
from __future__ import annotations

from datetime import date
from typing import Any

from flask.testing import FlaskClient

from grc.schemes.catalogue import scheme_id

ISO_9001 = str(scheme_id("ISO 9001", "2015"))
ISO_27001 = str(scheme_id("ISO/IEC 27001", "2022"))


class Certification:
    """A CB (``cb``) working with its client (``client``) in the test world."""

    def __init__(self, client: FlaskClient, world: Any, cb: str = "cb-a", client_slug: str = "client-a"):
        self.http, self.world, self.cb, self.client_slug = client, world, cb, client_slug
        self.client_id = str(world.tenants[client_slug])

    def as_(self, role: str) -> dict[str, str]:
        tenant = self.cb if role in ("cb_admin", "certification_manager", "auditor", "cb_viewer") else self.client_slug
        return self.world.headers(f"{role}@{tenant}.test")

    def user_id(self, role: str) -> str:
        tenant = self.cb if role in ("cb_admin", "certification_manager", "auditor", "cb_viewer") else self.client_slug
        return str(self.world.users[f"{role}@{tenant}.test"])

    def ok(self, response, status: int = 200) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        assert response.status_code == status, response.get_data(as_text=True)
        return response.get_json()

    def plan(self, kind: str, start: date, end: date | None = None, schemes: list[str] | None = None) -> dict[str, Any]:
        body = {"client_id": self.client_id, "scheme_ids": schemes or [ISO_9001], "type": kind,
                "planned_start": start.isoformat(), "planned_end": (end or start).isoformat(),
                "lead_auditor_id": self.user_id("auditor")}
        return self.ok(self.http.post("/api/v1/audits", headers=self.as_("certification_manager"), json=body), 201)

    def run(self, audit: dict[str, Any], last_day: date) -> dict[str, Any]:
        self.ok(self.http.post(f"/api/v1/audits/{audit['id']}/start", headers=self.as_("auditor")))
        return self.ok(self.http.post(f"/api/v1/audits/{audit['id']}/complete", headers=self.as_("auditor"),
                                      json={"completed_on": last_day.isoformat()}))

    def start(self, audit: dict[str, Any]) -> dict[str, Any]:
        return self.ok(self.http.post(f"/api/v1/audits/{audit['id']}/start", headers=self.as_("auditor")))

    def raise_finding(self, audit: dict[str, Any], grade: str, clause: str = "8.5") -> dict[str, Any]:
        body = {"grade": grade, "clause": clause, "requirement": f"ISO 9001 {clause}",
                "evidence": "Sampled 5 orders; 2 lacked release records.", "statement": "Release not documented."}
        url = f"/api/v1/audits/{audit['id']}/findings"
        return self.ok(self.http.post(url, headers=self.as_("auditor"), json=body), 201)

    def respond(self, finding: dict[str, Any]) -> dict[str, Any]:
        body = {"correction": "Records completed.", "root_cause": "No checklist.",
                "corrective_action_plan": "Introduce release checklist.", "target_date": "2027-01-31"}
        url = f"/api/v1/findings/{finding['id']}/response"
        return self.ok(self.http.post(url, headers=self.as_("client_admin"), json=body))

    def review(self, finding: dict[str, Any], accepted: bool, comment: str | None = None) -> dict[str, Any]:
        body = {"accepted": accepted, **({"comment": comment} if comment else {})}
        url = f"/api/v1/findings/{finding['id']}/plan-review"
        return self.ok(self.http.post(url, headers=self.as_("auditor"), json=body))
