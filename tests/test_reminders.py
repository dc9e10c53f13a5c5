"""Reminders travel in time (J2, J3, C6, C7, M2): a certificate is granted today, then the days go by.

Each reminder fires once, on its own day; surveillance escalates at month 12, the certificate expires at
month 36 and its licence badge follows. Sweeps run twice, concurrently and after a crash without sending
anything twice, for one tenant on demand, on each tenant's local date, and in a real RQ worker process.
"""
from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from dateutil.relativedelta import relativedelta
from flask import Flask
from flask.testing import FlaskClient
from rq import Queue
from sqlalchemy import func, select

from grc import tenancy
from grc.extensions import db
from grc.jobs import daily_sweeps as sweeps
from grc.jobs.job_functions import daily_sweeps, relay_outbox
from grc.notifications.models import Notification, Reminder
from grc.redis_connection import redis_connection
from tests.servers import app_on_redis
from tests.test_certification import Decisions
from tests.test_jobs import needs_redis, worker_env

TODAY = datetime.now(UTC).date()


class Calendar:
    """Runs the daily sweeps on chosen days and reads what each person was told."""

    def __init__(self, app: Flask, client: FlaskClient, world: Any) -> None:
        self.app, self.client, self.world = app, client, world

    def day(self, day: date, **kwargs: Any) -> dict[str, int]:
        with self.app.app_context():
            counts = daily_sweeps(day.isoformat(), **kwargs)
            relay_outbox()  # as the job enqueued after the sweep's commit would
        return counts

    def told(self, email: str, topic: str) -> list[dict[str, Any]]:
        response = self.client.get(f"/api/v1/notifications?topic={topic}&limit=100", headers=self.world.headers(email))
        assert response.status_code == 200, response.get_json()
        return response.get_json()["items"]

    def reminders(self, kind: str) -> list[Reminder]:
        with self.app.app_context(), tenancy.system_scope(db.session):
            return list(db.session.scalars(select(Reminder).where(Reminder.kind == kind)))


@pytest.fixture
def calendar(app: Flask, client: FlaskClient, world: Any) -> Calendar:
    return Calendar(app, client, world)


MANAGER, CLIENT_ADMIN = "certification_manager@cb-a.test", "client_admin@client-a.test"


def test_J2_C6_C7_M2_a_certificate_granted_today_is_reminded_escalated_and_expired_each_on_its_day(
        calendar, client, world):
    cert = Decisions(client, world)
    certificate = cert.grant()
    cert.ok(client.post("/api/v1/mark-licences", headers=cert.as_("certification_manager"), json={
        "client_id": cert.client_id, "certificate_ids": [certificate["id"]], "permitted_uses": ["stationery"]}), 201)
    surveillance_due = TODAY + relativedelta(months=12)
    expiry = date.fromisoformat(certificate["expiry_date"])
    assert certificate["surveillance_due"] == surveillance_due.isoformat()

    for days in (60, 30, 7):  # C6: surveillance due in 60, 30, 7 days; each once, on its day
        calendar.day(surveillance_due - timedelta(days=days + 1))
        assert len(calendar.told(MANAGER, "surveillance.due")) == (60, 30, 7).index(days)
        calendar.day(surveillance_due - timedelta(days=days))
        calendar.day(surveillance_due - timedelta(days=days))  # the same day again: nothing new
        told = calendar.told(CLIENT_ADMIN, "surveillance.due")
        assert len(told) == (60, 30, 7).index(days) + 1 and told[0]["data"]["threshold"] == days
    assert calendar.told("cb_admin@cb-a.test", "surveillance.due") == []  # planning is the managers' job

    calendar.day(surveillance_due)  # due today: not overdue yet
    assert calendar.told(MANAGER, "surveillance.overdue") == []
    calendar.day(surveillance_due + timedelta(days=1))  # month 12 has passed without a surveillance audit
    calendar.day(surveillance_due + timedelta(days=2))
    [escalation] = calendar.told("cb_admin@cb-a.test", "surveillance.overdue")
    assert escalation["data"]["number"] == certificate["number"]
    assert calendar.told(CLIENT_ADMIN, "surveillance.overdue") == []  # the escalation is internal to the CB

    for days in (90, 60, 30, 7):  # J2: expiry in 90, 60, 30, 7 days
        calendar.day(expiry - timedelta(days=days))
        calendar.day(expiry - timedelta(days=days))
    expiry_told = calendar.told(CLIENT_ADMIN, "certificate.expiry_reminder")
    assert sorted(n["data"]["threshold"] for n in expiry_told) == [7, 30, 60, 90]
    assert len(calendar.reminders("certificate.expiry_reminder")) == 4
    assert len(calendar.told(CLIENT_ADMIN, "recertification.due")) == 3  # 60, 30, 7: no recertification audit

    assert calendar.day(expiry)["certificate-expiry"] == 0
    assert calendar.day(expiry + timedelta(days=1))["certificate-expiry"] == 1  # month 36
    [expired] = calendar.told(CLIENT_ADMIN, "certificate.expired")
    assert expired["data"]["number"] == certificate["number"]
    assert len(calendar.told(CLIENT_ADMIN, "mark_licence.withdrawn")) == 1  # M2: the licence followed
    status = client.get(f"/api/v1/certificates/{certificate['id']}", headers=cert.as_("cb_viewer")).get_json()
    assert status["status"] == "expired"


def test_C6_a_completed_surveillance_moves_the_due_date_to_the_next_one(calendar, client, world):
    cert = Decisions(client, world)
    certificate = cert.grant()
    first = TODAY + relativedelta(months=12)
    cert.run(cert.plan("surveillance", first - timedelta(days=20)), first - timedelta(days=19))
    moved = cert.ok(client.get(f"/api/v1/certificates/{certificate['id']}", headers=cert.as_("cb_viewer")))
    assert moved["surveillance_due"] == (TODAY + relativedelta(months=24)).isoformat()
    calendar.day(first + timedelta(days=1))
    assert calendar.told(MANAGER, "surveillance.overdue") == []  # done in time: no escalation


def test_J3_a_sweep_that_missed_days_catches_up_once(calendar, client, world):
    cert = Decisions(client, world)
    certificate = cert.grant()
    expiry = date.fromisoformat(certificate["expiry_date"])
    calendar.day(expiry - timedelta(days=27))  # the scheduler was down on day -30: sent late, once
    calendar.day(expiry - timedelta(days=26))
    [late] = calendar.told(CLIENT_ADMIN, "certificate.expiry_reminder")
    assert late["data"]["threshold"] == 30


def test_J3_two_sweeps_running_at_once_send_each_reminder_once(app, calendar, client, world):
    cert = Decisions(client, world)
    certificate = cert.grant()
    day = date.fromisoformat(certificate["expiry_date"]) - timedelta(days=90)
    barrier, errors = threading.Barrier(3), []

    def scheduler() -> None:
        try:
            with app.app_context():
                barrier.wait()
                daily_sweeps(day.isoformat())
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=scheduler) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    calendar.day(day)  # and a retried job on top
    assert len(calendar.reminders("certificate.expiry_reminder")) == 1
    assert len(calendar.told(CLIENT_ADMIN, "certificate.expiry_reminder")) == 1
    with app.app_context(), tenancy.system_scope(db.session):
        per_user = db.session.execute(select(Notification.user_id, func.count()).where(
            Notification.topic == "certificate.expiry_reminder").group_by(Notification.user_id)).all()
    assert per_user and all(count == 1 for _user, count in per_user)


def test_J3_a_sweep_that_crashed_half_way_and_is_retried_sends_nothing_twice(calendar, client, world, monkeypatch):
    cert = Decisions(client, world)
    certificate = cert.grant()
    day = date.fromisoformat(certificate["expiry_date"]) - timedelta(days=60)
    broken = dict(sweeps.SWEEPS)

    def crash(*_args: Any) -> int:
        raise RuntimeError("worker killed")

    broken["recertification-reminders"] = sweeps.Sweep("recertification-reminders", crash, "crashes")
    monkeypatch.setattr(sweeps, "SWEEPS", broken)
    with pytest.raises(RuntimeError):
        calendar.day(day)  # expiry reminder committed, then the job died
    monkeypatch.undo()
    calendar.day(day)  # RQ retries the job
    assert len(calendar.told(CLIENT_ADMIN, "certificate.expiry_reminder")) == 1
    assert len(calendar.told(CLIENT_ADMIN, "recertification.due")) == 1


def test_J1_each_tenant_sweeps_on_its_own_local_date(app, world):
    with app.app_context(), tenancy.system_scope(db.session):
        from grc.tenants.models import Tenant

        db.session.get(Tenant, world.tenants["cb-a"]).timezone = "Pacific/Auckland"  # UTC+13 in November
        db.session.get(Tenant, world.tenants["cb-b"]).timezone = "America/Los_Angeles"
        db.session.commit()
        groups = dict(sweeps.tenant_days(db.session, datetime(2026, 11, 23, 12, 30, tzinfo=UTC)))
    assert world.tenants["cb-a"] in groups[date(2026, 11, 24)]
    assert world.tenants["cb-b"] in groups[date(2026, 11, 23)]
    assert world.tenants["cb-a"] not in groups[date(2026, 11, 23)]


def expiring_in(app: Flask, certificate: dict[str, Any], days: int) -> None:
    """Age a certificate granted today so that it expires ``days`` from now (as if granted long ago)."""
    from grc.certification.models import Certificate

    with app.app_context(), tenancy.system_scope(db.session):
        db.session.get(Certificate, uuid.UUID(certificate["id"])).expiry_date = TODAY + timedelta(days=days)
        db.session.commit()


def test_J1_an_admin_runs_a_sweep_now_for_their_own_tenant_only_in_process_in_the_embedded_mode(app, calendar, client,
                                                                                              world):
    cert_a, cert_b = Decisions(client, world), Decisions(client, world, cb="cb-b", client_slug="client-b")
    expiring_in(app, cert_a.grant(), 90)
    expiring_in(app, cert_b.grant(), 90)
    headers = world.headers("cb_admin@cb-a.test")
    with app_on_redis(app, ""):  # the embedded default: the queue runs the sweep, then the relay, in-process
        response = client.post("/api/v1/jobs/expiry-reminders/run", headers=headers, json={})
        assert response.status_code == 202, response.get_json()
        run = response.get_json()
        assert run["name"] == "expiry-reminders" and run["tenant_id"] == str(world.tenants["cb-a"])
        assert run["status"] == "finished" and run["result"] == {"expiry-reminders": 1}
        assert client.get(f"/api/v1/jobs/runs/{run['id']}", headers=headers).get_json()["result"] == run["result"]
        other_cb = client.get(f"/api/v1/jobs/runs/{run['id']}", headers=world.headers("cb_admin@cb-b.test"))
        assert other_cb.status_code == 404
    assert len(calendar.told(CLIENT_ADMIN, "certificate.expiry_reminder")) == 1  # relayed in-process too
    assert calendar.told("client_admin@client-b.test", "certificate.expiry_reminder") == []  # cb-b's not swept
    assert client.post("/api/v1/jobs/no-such-sweep/run", headers=headers, json={}).status_code == 404
    assert client.post("/api/v1/jobs/expiry-reminders/run", headers=world.headers(MANAGER), json={}).status_code == 403
    future = client.post("/api/v1/jobs/certificate-expiry/run", headers=headers,
                         json={"today": (TODAY + timedelta(days=2)).isoformat()})
    assert future.status_code == 422 and "today" in future.get_json()["errors"]  # no expiring ahead of time


@needs_redis
def test_J1_a_real_rq_worker_process_runs_the_sweep_enqueued_through_the_api(app, calendar, client, world, redis_url):
    expiring_in(app, Decisions(client, world).grant(), 60)
    response = client.post("/api/v1/jobs/expiry-reminders/run", headers=world.headers("cb_admin@cb-a.test"), json={})
    assert response.get_json()["status"] == "queued"
    subprocess.run([sys.executable, "-m", "grc.cli", "worker", "--burst"], env=worker_env(app, redis_url), check=True,
                   timeout=120)
    run = client.get(f"/api/v1/jobs/runs/{response.get_json()['id']}", headers=world.headers("cb_admin@cb-a.test"))
    assert run.get_json()["status"] == "finished" and run.get_json()["result"] == {"expiry-reminders": 1}
    assert len(calendar.told(CLIENT_ADMIN, "certificate.expiry_reminder")) == 1  # the worker relayed it too
    assert Queue(app.config["GRC_SETTINGS"].queue_name, connection=redis_connection(app)).count == 0


def test_F3_F6_an_unanswered_major_and_its_late_action_are_escalated_once_each(calendar, client, world):
    cert = Decisions(client, world)
    stage1 = cert.start(cert.plan("stage1", TODAY))
    finding = cert.raise_finding(stage1, "major")
    response_due = date.fromisoformat(finding["response_due"])
    action = cert.ok(client.post(f"/api/v1/findings/{finding['id']}/actions", headers=cert.as_("client_admin"), json={
        "title": "Introduce a release checklist", "owner_id": cert.user_id("member"),
        "due_date": (TODAY + timedelta(days=10)).isoformat()}), 201)

    calendar.day(TODAY + timedelta(days=3))  # F6: 7 days before the action is due, its owner hears
    [soon] = calendar.told("member@client-a.test", "action.due")
    assert soon["data"]["action_id"] == action["id"]
    calendar.day(response_due)
    assert calendar.told(CLIENT_ADMIN, "finding.response_overdue") == []
    for late in (1, 2, 3):
        calendar.day(response_due + timedelta(days=late))
    [overdue] = calendar.told(CLIENT_ADMIN, "finding.response_overdue")
    assert overdue["data"]["number"] == finding["number"] and overdue["data"]["due_on"] == finding["response_due"]
    assert len(calendar.told(MANAGER, "finding.response_overdue")) == 1
    assert calendar.told("auditor@cb-a.test", "finding.response_overdue") == []
    assert len(calendar.told("member@client-a.test", "action.overdue")) == 1  # the owner, whatever their role
    assert calendar.told("cb_admin@cb-b.test", "finding.response_overdue") == []

    closure_due = date.fromisoformat(finding["closure_due"])
    calendar.day(closure_due + timedelta(days=1))
    assert len(calendar.told(CLIENT_ADMIN, "finding.overdue")) == 1


def test_F4_a_major_unverified_six_months_after_stage2_calls_for_a_repeat_stage2(calendar, client, world):
    cert = Decisions(client, world)
    cert.audited(major_open=True)
    six_months = TODAY + relativedelta(months=6)
    calendar.day(six_months)
    assert calendar.told(MANAGER, "audit.repeat_stage2_required") == []
    calendar.day(six_months + timedelta(days=1))
    calendar.day(six_months + timedelta(days=2))
    assert len(calendar.told(MANAGER, "audit.repeat_stage2_required")) == 1
    assert len(calendar.told(CLIENT_ADMIN, "audit.repeat_stage2_required")) == 1


def test_R5_R6_overdue_risk_reviews_and_control_tests_reach_owners_and_risk_managers(calendar, client, world):
    from tests.test_risks import Shop

    shop = Shop(client, world)
    risk = shop.risk(shop.register(), "Card data exposed by a plug-in", "security")
    assessed = shop.assess(risk, (4, 4), (3, 4), (2, 3))
    control = shop.ok(client.post("/api/v1/controls", headers=shop.as_("risk_manager"), json={
        "name": "Quarterly plug-in review", "type": "detective", "nature": "manual",
        "owner_id": shop.user_id("member"), "test_frequency_days": 30}), 201)
    review_due = date.fromisoformat(client.get(f"/api/v1/risks/{risk['id']}", headers=shop.as_("risk_manager"))
                                    .get_json()["next_review_on"])
    test_due = date.fromisoformat(control["next_test_due"])
    assert assessed

    calendar.day(test_due + timedelta(days=1))
    calendar.day(test_due + timedelta(days=1))
    [late_test] = calendar.told("member@client-a.test", "control.test_overdue")  # the control's owner
    assert late_test["data"]["reference"] == control["reference"]
    assert len(calendar.told("risk_manager@client-a.test", "control.test_overdue")) == 1
    calendar.day(review_due + timedelta(days=1))
    [late_review] = calendar.told("risk_manager@client-a.test", "risk.review_overdue")
    assert late_review["data"]["reference"] == risk["reference"]
    assert calendar.told("cb_admin@cb-a.test", "risk.review_overdue") == []  # client-a's register is its own


@needs_redis
def test_J3_two_schedulers_enqueue_the_sweep_twice_and_real_workers_send_once(app, calendar, client, world, redis_url):
    expiring_in(app, Decisions(client, world).grant(), 30)
    queue = Queue(app.config["GRC_SETTINGS"].queue_name, connection=redis_connection(app))
    for _ in range(2):  # what two `grc scheduler` processes (started by mistake) enqueue at the hour
        queue.enqueue(daily_sweeps)
    subprocess.run([sys.executable, "-m", "grc.cli", "worker", "--burst"], env=worker_env(app, redis_url), check=True,
                   timeout=120)
    assert len(calendar.reminders("certificate.expiry_reminder")) == 1
    assert len(calendar.told(CLIENT_ADMIN, "certificate.expiry_reminder")) == 1
