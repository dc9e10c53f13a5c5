"""The load runner's data set (bench/dataset/ through ``python -m bench.seed``): a small set in a fresh migrated
database has the sizes asked for, keeps every index and constraint, looks like the app wrote it (levels from the
criteria matrix, one audit event per change, chains that verify) and gives the load runner a summary it can use:
the users log in with the benchmark password and every id, number and e-mail in it works over the API."""
from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from bench.dataset.build import PASSWORD
from bench.dataset.database import libpq_url
from bench.dataset.sizes import SMALL
from bench.seed import main as seed_main
from bench.sweep import SECRET_KEY
from grc.auditlog.service import verify_chain
from grc.risks.criteria import DEFAULT
from grc.risks.models import RiskCriteria
from grc.tenancy import system_scope
from tests import servers

pytestmark = pytest.mark.skipif(os.environ.get("GRC_TEST_BACKEND") == "sqlite" or servers.pg_bin_dir() is None,
                                reason="COPY and row-level security need PostgreSQL (initdb, pg_ctl)")
TODAY = "2026-11-23"
VERSIONED = ("tenants", "users", "audits", "certificates", "findings", "risks", "risk_registers", "mark_licences")
SCHEMA = """SELECT indexname FROM pg_indexes WHERE schemaname = 'public'
            UNION ALL SELECT conname FROM pg_constraint WHERE connamespace = 'public'::regnamespace"""


@contextmanager
def migrated_databases(*names: str) -> Iterator[list[str]]:
    """Fresh migrated databases owned by the app's unprivileged role: on the session's server when conftest
    started one, else on a throwaway server of our own."""
    from grc.dbmigrate import upgrade

    base, started = os.environ.get("GRC_TEST_PG_URL"), None
    if not base:
        started = servers.start_servers()
        base = started.pg_url
    try:
        urls = [servers.create_database(base, name) for name in names]
        for url in urls:
            upgrade(url, secret_key=SECRET_KEY)
        yield urls
    finally:
        if started is not None:
            started.stop()


def superuser(url: str) -> str:
    return make_url(url).set(username="postgres", password=None).render_as_string(hide_password=False)


def seed_small(url: str, summary: Path) -> dict[str, Any]:
    seed_main(["--database-url", superuser(url), "--small", "--seed", "3", "--today", TODAY, "--summary", str(summary)])
    return json.loads(summary.read_text())


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The small set seeded twice with the same seed, into two fresh databases; the schema before seeding."""
    out = tmp_path_factory.mktemp("bench-seed")
    suffix = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    with migrated_databases(f"grc_bench_seed_{suffix}", f"grc_bench_seed_again_{suffix}") as (url, again):
        with psycopg.connect(libpq_url(superuser(url))) as conn:
            schema = sorted(row[0] for row in conn.execute(SCHEMA))
        yield {"url": url, "schema": schema, "summary": seed_small(url, out / "one.json"),
               "again": seed_small(again, out / "two.json")}


def query(seeded: dict[str, Any], sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(libpq_url(superuser(seeded["url"]))) as conn:
        return conn.execute(sql, params).fetchall()


def scalar(seeded: dict[str, Any], sql: str, *params: Any) -> Any:
    return query(seeded, sql, *params)[0][0]


@pytest.fixture(scope="module")
def bench_app(seeded: dict[str, Any]) -> Iterator[Flask]:
    """The app on the seeded database, as its unprivileged role: row-level security applies."""
    from grc.app import create_app

    app = create_app(env="test", database_url=seeded["url"], redis_url="", secret_key=SECRET_KEY,
                     login_rate_limit_ip="1000 per minute", login_rate_limit_account="1000 per minute",
                     log_level="WARNING")
    yield app
    app.extensions["grc.db"][0].dispose()


def login(client: FlaskClient, email: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


# --------------------------------------------------------------------------- what was written


def test_row_counts_follow_the_size_flags(seeded: dict[str, Any]) -> None:
    summary = seeded["summary"]
    kinds = dict(query(seeded, "SELECT kind, count(*) FROM tenants GROUP BY kind"))
    assert kinds == {"platform": 1, "certification_body": SMALL.cbs, "client_organisation": SMALL.clients}
    for table, size in (("certificates", SMALL.certificates), ("findings", SMALL.findings),
                        ("risks", SMALL.risks), ("mark_licences", SMALL.licences),
                        ("client_relationships", SMALL.clients)):
        assert scalar(seeded, f"SELECT count(*) FROM {table}") == size == summary["rows"][table], table
    assert scalar(seeded, "SELECT count(*) FROM certificates WHERE tenant_id = %s",
                  summary["big_cb"]["id"]) == SMALL.big_cb_certificates
    assert scalar(seeded, "SELECT count(*) FROM certificates WHERE tenant_id = %s",
                  summary["small_cb"]["id"]) == SMALL.small_cb_certificates
    assert scalar(seeded, "SELECT count(*) FROM risks WHERE register_id = %s",
                  summary["big_register"]["id"]) == SMALL.big_register_risks
    for table in ("audits", "audit_schemes", "certificate_revisions", "certificate_events", "certification_decisions",
                  "finding_events", "risk_criteria", "risk_registers", "risk_assessments", "licence_certificates"):
        assert scalar(seeded, f"SELECT count(*) FROM {table}") > 0, table
    for table, rows in summary["rows"].items():
        assert scalar(seeded, f"SELECT count(*) FROM {table}") == rows, table


def test_every_index_and_constraint_is_back(seeded: dict[str, Any]) -> None:
    with psycopg.connect(libpq_url(superuser(seeded["url"]))) as conn:
        assert sorted(row[0] for row in conn.execute(SCHEMA)) == seeded["schema"]


def test_the_same_seed_writes_the_same_rows(seeded: dict[str, Any]) -> None:
    timeless = ("seconds",)
    assert {k: v for k, v in seeded["summary"].items() if k not in timeless} == \
        {k: v for k, v in seeded["again"].items() if k not in timeless}


def test_rows_look_like_the_app_wrote_them(seeded: dict[str, Any]) -> None:
    criteria = RiskCriteria(version=1, **DEFAULT)
    for likelihood, consequence, level in query(seeded, """SELECT current_likelihood, current_consequence, current_level
                                                            FROM risks WHERE current_level IS NOT NULL"""):
        assert criteria.level_of(likelihood, consequence) == level
    assert scalar(seeded, """SELECT count(*) FROM certificates c JOIN tenants t ON t.id = c.tenant_id
                             WHERE t.kind <> 'certification_body'
                                OR c.client_tenant_id NOT IN (SELECT client_tenant_id FROM client_relationships
                                                              WHERE tenant_id = c.tenant_id)""") == 0
    assert scalar(seeded, """SELECT count(*) FROM client_relationships r WHERE NOT EXISTS (
                             SELECT 1 FROM users u WHERE u.tenant_id = r.client_tenant_id
                                                     AND u.roles::jsonb ? 'client_admin')""") == 0
    assert scalar(seeded, """SELECT count(*) FROM mark_licences l JOIN licence_certificates lc ON lc.licence_id = l.id
                             JOIN certificates c ON c.id = lc.certificate_id WHERE c.status <> 'active'""") == 0
    assert scalar(seeded, """SELECT count(*) FROM findings WHERE grade IN ('major', 'minor')
                             AND (response_due IS NULL OR response_due <= raised_on)""") == 0
    assert {"open", "closed"} <= {row[0] for row in query(seeded, "SELECT DISTINCT status FROM findings")}
    assert scalar(seeded, """SELECT count(*) FROM findings WHERE grade IN ('major', 'minor') AND (
                             (status = 'open') <> (correction IS NULL)
                             OR (status = 'closed') <> (closed_on IS NOT NULL)
                             OR (status = 'closed' AND NOT verified_on <= closed_on))""") == 0  # F2's order


def test_each_versioned_row_has_one_audit_event_per_change(seeded: dict[str, Any]) -> None:
    for table in VERSIONED:
        assert scalar(seeded, f"""SELECT count(*) FROM {table} t WHERE t.version <> (
                                  SELECT count(*) FROM audit_events e WHERE e.entity_id = t.id)""") == 0, table


def test_every_chain_verifies_with_the_apps_own_check(seeded: dict[str, Any]) -> None:
    """Each tenant's chain as ``grc.auditlog.service.verify_chain`` walks it: every link's hash recomputed by the
    app from the stored columns, and the chain head on the last link."""
    engine = create_engine(superuser(seeded["url"]))
    try:
        with Session(engine) as session, system_scope(session):
            chains = session.execute(text("SELECT tenant_id, count(*) FROM audit_events GROUP BY tenant_id")).all()
            assert len(chains) == scalar(seeded, "SELECT count(*) FROM tenants")
            for tenant_id, events in chains:
                assert verify_chain(session, tenant_id) == {"valid": True, "checked": events, "first_broken": None}
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- the summary, over the API


def test_the_summary_names_what_the_load_runner_needs(seeded: dict[str, Any]) -> None:
    summary = seeded["summary"]
    assert summary["password"] == PASSWORD
    for key in ("big_cb", "small_cb", "big_register", "risk", "audit_in_progress", "finding", "certificate",
                "licence"):
        assert summary[key], key
    assert summary["big_cb"]["certificates"] == SMALL.big_cb_certificates
    assert summary["finding"]["status"] == "open" and summary["finding"]["transition"] == "response"


def test_the_big_cb_admin_logs_in_and_lists_certificates(bench_app: Flask, seeded: dict[str, Any]) -> None:
    client = bench_app.test_client()
    headers = login(client, seeded["summary"]["big_cb"]["admin_email"])
    response = client.get("/api/v1/certificates?limit=20", headers=headers)
    assert response.status_code == 200
    assert len(response.get_json()["items"]) == 20 and response.get_json()["next_cursor"]


def test_sampled_audit_chains_verify(bench_app: Flask, seeded: dict[str, Any]) -> None:
    client = bench_app.test_client()
    for email in (seeded["summary"]["big_cb"]["admin_email"], seeded["summary"]["big_register"]["admin_email"]):
        report = client.get("/api/v1/audit-events/verify", headers=login(client, email)).get_json()
        assert report["valid"] is True and report["checked"] > 1, report


def test_the_load_runners_writes_succeed(bench_app: Flask, seeded: dict[str, Any]) -> None:
    summary, client = seeded["summary"], bench_app.test_client()
    audit, finding = summary["audit_in_progress"], summary["finding"]
    raised = client.post(f"/api/v1/audits/{audit['id']}/findings", headers=login(client, audit["auditor_email"]), json={
        "grade": "minor", "scheme_id": audit["scheme_id"], "clause": audit["clause"], "requirement": "r",
        "evidence": "e", "statement": "s"})
    assert raised.status_code == 201, raised.get_json()  # the finding counter goes on from the seeded numbers
    response = client.post(f"/api/v1/findings/{finding['id']}/response", headers=login(client, finding["as_email"]),
                           json={"correction": "c", "root_cause": "r", "corrective_action_plan": "p",
                                 "target_date": "2027-01-31"})
    assert response.status_code == 200, response.get_json()
    register = summary["big_register"]
    risk = client.get(f"/api/v1/risks/{summary['risk']['id']}", headers=login(client, register["admin_email"]))
    assert risk.status_code == 200 and risk.get_json()["reference"] == summary["risk"]["reference"]


def test_public_lookups_find_the_certificate_and_the_licence(bench_app: Flask, seeded: dict[str, Any]) -> None:
    summary, client = seeded["summary"], bench_app.test_client()
    certificate = summary["certificate"]
    found = client.get(f"/api/v1/public/certificates/{certificate['cb_slug']}/{certificate['number']}")
    assert found.status_code == 200 and found.get_json()["status"] == "active"
    assert client.get(f"/badges/{summary['licence']['number']}.svg").status_code == 200
