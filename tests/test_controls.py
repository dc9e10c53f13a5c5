"""An online shop's risk manager builds an ISO 31000 control library, links it to risks and tests it (R6)."""
from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from grc import tenancy
from grc.auditlog.models import AuditEvent
from grc.db import utcnow
from grc.events import OutboxMessage
from grc.extensions import db
from tests.certification import ISO_27001
from tests.test_auth import assert_problem
from tests.test_risks import Shop

TODAY = utcnow().date()


class Library(Shop):
    def control(self, name: str, type_: str, nature: str, days: int, status: int = 201,
                **extra: object) -> dict:  # type: ignore[type-arg]
        body = {"name": name, "type": type_, "nature": nature, "owner_id": self.user_id("risk_manager"),
                "test_frequency_days": days, **extra}
        response = self.http.post("/api/v1/controls", headers=self.as_("risk_manager"), json=body)
        return self.ok(response, status) if status < 400 else assert_problem(response, status)

    def test(self, control: dict, result: str, status: int = 201, **extra: object) -> dict:  # type: ignore[type-arg]
        response = self.http.post(f"/api/v1/controls/{control['id']}/tests", headers=self.as_("risk_manager"),
                                  json={"result": result, **extra})
        return self.ok(response, status) if status < 400 else assert_problem(response, status)

    def library(self) -> tuple[dict, dict, dict]:  # type: ignore[type-arg]
        secure = self.control("3D Secure on every card payment", "preventive", "automated", 90,
                              mapped_clauses=[{"scheme_id": ISO_27001, "clause": "A.8"},
                                              {"scheme_id": ISO_27001, "clause": "A.8.24"}])
        sla = self.control("Quarterly carrier SLA review", "detective", "manual", 90)
        backups = self.control("Encrypted nightly backups, restore drill", "corrective", "automated", 30,
                               reference="BCK-1")
        return secure, sla, backups

    def references(self, query: str = "") -> list[str]:
        items = self.ok(self.http.get(f"/api/v1/controls{query}", headers=self.as_("member")))["items"]
        return sorted(control["reference"] for control in items)


def test_R6_an_online_shop_builds_its_control_library(client, world):
    shop = Library(client, world)
    secure, sla, backups = shop.library()
    assert [secure["reference"], sla["reference"], backups["reference"]] == ["C-001", "C-002", "BCK-1"]
    assert secure["mapped_clauses"] == [{"scheme_id": ISO_27001, "clause": "A.8"},
                                        {"scheme_id": ISO_27001, "clause": "A.8.24"}]
    assert secure["next_test_due"] == (TODAY + timedelta(days=90)).isoformat()  # created + frequency
    assert backups["next_test_due"] == (TODAY + timedelta(days=30)).isoformat()
    assert secure["last_tested_on"] is None and secure["last_result"] is None and secure["test_overdue"] is False
    assert shop.references() == ["BCK-1", "C-001", "C-002"]
    assert shop.references("?type=detective") == ["C-002"]
    assert shop.references("?nature=automated") == ["BCK-1", "C-001"]
    assert shop.references(f"?owner_id={shop.user_id('risk_manager')}") == ["BCK-1", "C-001", "C-002"]
    assert shop.references(f"?owner_id={shop.user_id('client_admin')}") == []
    one = shop.ok(client.get(f"/api/v1/controls/{sla['id']}", headers=shop.as_("member")))
    assert one["name"] == "Quarterly carrier SLA review" and one["type"] == "detective"


def test_R6_controls_are_validated_and_errors_name_the_field(client, world):
    shop = Library(client, world)
    secure, _sla, _backups = shop.library()
    unknown = shop.control("Key rotation", "preventive", "manual", 365, status=422,
                           mapped_clauses=[{"scheme_id": ISO_27001, "clause": "B.1"}])
    assert "mapped_clauses" in unknown["errors"]
    no_scheme = shop.control("Key rotation", "preventive", "manual", 365, status=422,
                             mapped_clauses=[{"scheme_id": str(uuid.uuid4()), "clause": "A.8"}])
    assert "mapped_clauses" in no_scheme["errors"]
    assert "reference" in shop.control("Dup", "preventive", "manual", 30, status=422, reference="C-001")["errors"]
    assert "type" in shop.control("Odd", "deterrent", "manual", 30, status=422)["errors"]
    assert "test_frequency_days" in shop.control("Never", "preventive", "manual", 0, status=422)["errors"]
    assert "test_frequency_days" in shop.control("Rare", "preventive", "manual", 3651, status=422)["errors"]
    foreign_owner = shop.control("Other's", "preventive", "manual", 30, status=422,
                                 owner_id=str(world.users["client_admin@client-b.test"]))
    assert "owner_id" in foreign_owner["errors"]
    future = shop.test(secure, "effective", status=422, tested_on=(TODAY + timedelta(days=1)).isoformat())
    assert "tested_on" in future["errors"]
    assert "result" in shop.test(secure, "great", status=422)["errors"]
    assert shop.references() == ["BCK-1", "C-001", "C-002"]  # nothing half-created


def test_R6_tests_are_recorded_and_move_the_next_test_date(app, client, world):
    shop = Library(client, world)
    secure, _sla, backups = shop.library()
    first = shop.test(secure, "effective", tested_on=(TODAY - timedelta(days=10)).isoformat(), notes="Sampled 25")
    failed = shop.test(secure, "ineffective", notes="3DS bypassed for wallet payments")
    assert first["result"] == "effective" and failed["tested_on"] == TODAY.isoformat()
    assert failed["tested_by"] == shop.user_id("risk_manager")
    now = shop.ok(client.get(f"/api/v1/controls/{secure['id']}", headers=shop.as_("member")))
    assert now["last_result"] == "ineffective" and now["last_tested_on"] == TODAY.isoformat()
    assert now["next_test_due"] == (TODAY + timedelta(days=90)).isoformat()
    history = shop.ok(client.get(f"/api/v1/controls/{secure['id']}/tests", headers=shop.as_("member")))["items"]
    assert [t["result"] for t in history] == ["ineffective", "effective"]  # newest first
    page = shop.ok(client.get(f"/api/v1/controls/{secure['id']}/tests?limit=1", headers=shop.as_("member")))
    rest = shop.ok(client.get(f"/api/v1/controls/{secure['id']}/tests?limit=1&cursor={page['next_cursor']}",
                              headers=shop.as_("member")))
    paged = [t["id"] for t in page["items"] + rest["items"]]
    assert paged == [t["id"] for t in history] and rest["next_cursor"] is None
    shop.test(backups, "partially_effective")
    with app.app_context(), tenancy.system_scope(db.session):
        tested = list(db.session.scalars(select(OutboxMessage.payload).where(OutboxMessage.topic == "control.tested")))
        actions = select(AuditEvent.action).where(AuditEvent.entity_id == uuid.UUID(secure["id"]))
        trail = set(db.session.scalars(actions))
    assert sorted(p["result"] for p in tested) == ["effective", "ineffective", "partially_effective"]
    assert {"control.created", "control.updated"} <= trail


def test_R6_the_overdue_filter_lists_exactly_the_overdue_control(client, world):
    shop = Library(client, world)
    secure, sla, backups = shop.library()
    # quarterly, last done 200 days ago
    shop.test(sla, "effective", tested_on=(TODAY - timedelta(days=200)).isoformat())
    shop.test(secure, "effective", tested_on=(TODAY - timedelta(days=89)).isoformat())  # due tomorrow: not overdue
    assert shop.references("?test_overdue=true") == ["C-002"]
    assert shop.references("?test_overdue=false") == ["BCK-1", "C-001"]
    overdue = shop.ok(client.get(f"/api/v1/controls/{sla['id']}", headers=shop.as_("member")))
    assert overdue["test_overdue"] is True and overdue["next_test_due"] == (TODAY - timedelta(days=110)).isoformat()
    shop.test(sla, "effective")  # tested today: no longer overdue
    assert shop.references("?test_overdue=true") == []
    assert backups["test_overdue"] is False


def test_R6_a_frequency_change_needs_if_match_and_moves_the_next_test(client, world):
    shop = Library(client, world)
    _secure, sla, _backups = shop.library()
    url = f"/api/v1/controls/{sla['id']}"
    headers = shop.as_("risk_manager")
    assert_problem(client.patch(url, headers=headers, json={"test_frequency_days": 30}), 428)
    etag = client.get(url, headers=headers).headers["ETag"]
    changed = shop.ok(client.patch(url, headers={**headers, "If-Match": etag},
                                   json={"test_frequency_days": 30, "nature": "automated"}))
    assert changed["next_test_due"] == (TODAY + timedelta(days=30)).isoformat() and changed["nature"] == "automated"
    assert_problem(client.patch(url, headers={**headers, "If-Match": etag}, json={"name": "stale"}), 412)
    etag = client.get(url, headers=headers).headers["ETag"]
    bad = client.patch(url, headers={**headers, "If-Match": etag},
                       json={"mapped_clauses": [{"scheme_id": ISO_27001, "clause": "11"}]})
    assert "mapped_clauses" in assert_problem(bad, 422)["errors"]


def test_R6_a_risk_is_linked_to_the_controls_that_treat_it(app, client, world):
    shop = Library(client, world)
    secure, sla, backups = shop.library()
    register = shop.register()
    fraud = shop.risk(register, "Card-not-present fraud", "fraud")
    url = f"/api/v1/risks/{fraud['id']}/controls"
    linked = shop.ok(client.put(url, headers=shop.as_("risk_manager"), json={"control_ids": [sla["id"], secure["id"]]}))
    assert [c["reference"] for c in linked["items"]] == ["C-001", "C-002"]
    relinked = shop.ok(client.put(url, headers=shop.as_("risk_manager"), json={"control_ids": [backups["id"]]}))
    assert [c["reference"] for c in relinked["items"]] == ["BCK-1"]  # replaced, not added
    other = Library(client, world, client_slug="client-b")
    foreign = other.control("client-b's firewall", "preventive", "automated", 30)
    refused = client.put(url, headers=shop.as_("risk_manager"), json={"control_ids": [foreign["id"]]})
    assert "control_ids" in assert_problem(refused, 422)["errors"]
    unknown = client.put(url, headers=shop.as_("risk_manager"), json={"control_ids": [str(uuid.uuid4())]})
    assert "control_ids" in assert_problem(unknown, 422)["errors"]
    assert shop.ok(client.put(url, headers=shop.as_("client_admin"), json={"control_ids": []}))["items"] == []
    with app.app_context(), tenancy.system_scope(db.session):
        actions = select(AuditEvent.action).where(AuditEvent.entity_id == uuid.UUID(fraud["id"]))
        trail = list(db.session.scalars(actions))
    assert trail.count("risk.controls_linked") == 3  # every relinking is in the trail (A1)


def test_R6_a_cb_reading_a_shared_register_cannot_link_controls(client, world):
    shop = Library(client, world)
    secure, _sla, _backups = shop.library()
    register = shop.register()
    fraud = shop.risk(register, "Card-not-present fraud", "fraud")
    shop.ok(client.post(f"/api/v1/risk-registers/{register['id']}/shares", headers=shop.as_("client_admin"),
                        json={"cb_id": str(world.tenants["cb-a"])}))
    assert_problem(client.put(f"/api/v1/risks/{fraud['id']}/controls",
                              headers=world.headers("certification_manager@cb-a.test"),
                              json={"control_ids": [secure["id"]]}), 403)
    assert_problem(client.get(f"/api/v1/controls/{secure['id']}", headers=world.headers("auditor@cb-a.test")), 404)


def test_R6_a_member_reads_but_cannot_change_and_another_tenant_sees_nothing(client, world):
    shop = Library(client, world)
    secure, _sla, _backups = shop.library()
    member = shop.as_("member")
    url = f"/api/v1/controls/{secure['id']}"
    assert shop.ok(client.get(url, headers=member))["reference"] == "C-001"
    assert_problem(client.post("/api/v1/controls", headers=member, json={}), 403)
    assert_problem(client.post(f"{url}/tests", headers=member, json={"result": "effective"}), 403)
    etag = client.get(url, headers=member).headers["ETag"]
    assert_problem(client.patch(url, headers={**member, "If-Match": etag}, json={"name": "x"}), 403)
    stranger = world.headers("client_admin@client-b.test")
    assert_problem(client.get(url, headers=stranger), 404)
    assert_problem(client.get(f"{url}/tests", headers=stranger), 404)
    assert_problem(client.post(f"{url}/tests", headers=stranger, json={"result": "effective"}), 404)
    assert shop.ok(client.get("/api/v1/controls", headers=stranger))["items"] == []
