"""A CB prepares its certificates for IAF CertSearch (G1): structured addresses, its registry profile, the upload
bodies with the rules they break (dry run), and the exports in the registry's own formats."""
from __future__ import annotations

import io
import json
import uuid
from datetime import date
from typing import Any

import sqlalchemy as sa
from openpyxl import load_workbook

from grc import tenancy
from grc.dbmigrate import downgrade, upgrade
from grc.extensions import db
from grc.registry import certsearch
from grc.schemes.catalogue import scheme_id
from tests.certificates import issue_certificate
from tests.test_auth import assert_problem
from tests.test_migrations import empty_database

ISO_9001 = str(scheme_id("ISO 9001", "2015"))
REGISTERED = {"street": "1 rue du Test", "city": "Paris", "postcode": "75001", "state": "Île-de-France"}
LYON = {"name": "Lyon plant", "address": "7 quai Secret, 69002 Lyon", "street": "7 quai Secret", "city": "Lyon",
        "postcode": "69002", "state": "Auvergne-Rhône-Alpes", "country": "FR"}
PROFILE = {"accreditation_body": "Comité français d'accréditation", "accreditation_body_acronym": "COFRAC",
           "accreditation_number": "4-0001", "accredited_schemes": [ISO_9001]}


def admin(world: Any, cb: str = "cb-a") -> dict[str, str]:
    return world.headers(f"cb_admin@{cb}.test")


def patch_client(client, world, changes: dict[str, Any]) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    url = f"/api/v1/clients/{world.tenants['client-a']}"
    etag = client.get(url, headers=admin(world)).headers["ETag"]
    response = client.patch(url, headers={**admin(world), "If-Match": etag}, json=changes)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()  # type: ignore[no-any-return]


def put_policy(client, world, profile: dict[str, Any]):  # type: ignore[no-untyped-def]
    etag = client.get("/api/v1/policy", headers=admin(world)).headers["ETag"]
    return client.put("/api/v1/policy", headers={**admin(world), "If-Match": etag}, json={
        "response_due_days": 14, "major_closure_days": 90, "minor_closure_days": None,
        "surveillance_tolerance_days": 0, **profile})


def dry_run(client, world, cb: str = "cb-a") -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/registry-connections/certsearch/dry-run", headers=admin(world, cb))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()  # type: ignore[no-any-return]


def described_client(client, world) -> None:  # type: ignore[no-untyped-def]
    """client-a with its registered address in lines and a Lyon plant; cb-a with its full registry profile."""
    patch_client(client, world, {**REGISTERED, "sites": [LYON]})
    assert put_policy(client, world, PROFILE).status_code == 200


def test_G1_a_described_client_and_profile_give_the_body_the_registry_documents_and_no_problem(app, client, world):
    described_client(client, world)
    registered_site = {"name": "Client A", "address": "1 rue du Test, Paris", "country": "FR"}
    issued = issue_certificate(app, world, sites=[registered_site, {**LYON, "scope": "Manufacture of valves"}],
                               issued_on=date(2026, 3, 2), expiry_date=date(2029, 3, 1), number="CB-A-9001-00042")
    [record] = dry_run(client, world)["records"]
    assert record["problems"] == [] and record["certificate_ids"] == [str(issued.id)]
    assert record["body"] == {
        "certificate_number": "CB-A-9001-00042",
        "certificate_identity_number": str(issued.id),
        "certification_status": "active",
        "certificate_accreditation_status": "Accredited",
        "certification_type": "Management System",
        "certification_scope": "Design and manufacture of precision valves",
        "certification_original_issue_date": "20260302",
        "certification_issue_date": "20260302",
        "certification_expiry_date": "20290301",
        "certified_entity_name": "Client client-a Ltd",
        "certified_entity_trading_name": "Client A",
        "certified_entity_unique_id": str(world.tenants["client-a"]),
        "certified_entity_street_address": "1 rue du Test",
        "certified_entity_street_city": "Paris",
        "certified_entity_state": "Île-de-France",
        "certified_entity_post_code": "75001",
        "certified_entity_country": "France",
        "accreditation_body_name": "Comité français d'accréditation",
        "accreditation_body_acronym_name": "COFRAC",
        "schemes": [{"scheme_name": "ISO 9001", "standard_list": [{"standards_name": "ISO 9001:2015"}]}],
        "sites": [{"street": "7 quai Secret", "city": "Lyon", "state": "Auvergne-Rhône-Alpes", "country": "France",
                   "postcode": "69002", "scope_description": "Manufacture of valves"}],
    }  # the registered address is the entity's own address, not an additional site


def test_G1_the_dry_run_lists_what_blocks_each_record_before_anything_is_sent(app, client, world):
    issue_certificate(app, world)  # client-a has only its free-text address; cb-a has no registry profile
    answer = dry_run(client, world)
    assert answer["endpoint"] == "/api/client/v1/cb/upload-cert"
    assert (answer["ready"], answer["blocked"]) == (0, 1)
    [record] = answer["records"]
    assert {problem["field"] for problem in record["problems"]} == {
        "certified_entity_street_address", "certified_entity_street_city", "accreditation_body_name",
        "accreditation_body_acronym_name"}
    assert all(problem["message"] == "Missing Required Field" for problem in record["problems"])
    assert record["body"]["certificate_accreditation_status"] == "Unaccredited"  # no accredited scheme named
    described_client(client, world)
    assert (dry_run(client, world)["ready"], dry_run(client, world)["blocked"]) == (1, 0)


def test_G1_only_a_cb_admin_runs_the_dry_run(client, world):
    url = "/api/v1/registry-connections/certsearch/dry-run"
    for who in ("certification_manager@cb-a.test", "cb_viewer@cb-a.test", "client_admin@client-a.test"):
        assert_problem(client.post(url, headers=world.headers(who)), 403)


def test_G2_records_never_carry_another_cbs_certificates_even_when_asked_for_them(app, client, world):
    own = issue_certificate(app, world)
    foreign = issue_certificate(app, world, cb="cb-b", client="client-b")
    with app.app_context(), tenancy.system_scope(db.session):
        records = certsearch.records(db.session, world.tenants["cb-a"], [own.id, foreign.id])
        everything = certsearch.records(db.session, world.tenants["cb-a"])
    assert [record.certificate_ids for record in records] == [(own.id,)] == [r.certificate_ids for r in everything]
    assert dry_run(client, world, "cb-b")["records"][0]["certificate_ids"] == [str(foreign.id)]


def test_G1_the_cbs_status_mapping_decides_the_registry_status(app, client, world):
    withdrawn_as_cancelled = {"active": "active", "suspended": "suspended", "withdrawn": "cancelled",
                              "expired": "expired"}
    assert put_policy(client, world, {**PROFILE, "registry_statuses": withdrawn_as_cancelled}).status_code == 200
    issue_certificate(app, world, status="withdrawn")
    issue_certificate(app, world, status="suspended")
    statuses = sorted(r["body"]["certification_status"] for r in dry_run(client, world)["records"])
    assert statuses == ["cancelled", "suspended"]


def test_G1_the_registry_profile_is_kept_in_the_policy_and_bad_values_are_named(client, world):
    saved = put_policy(client, world, PROFILE).get_json()
    assert saved["accreditation_body_acronym"] == "COFRAC" and saved["accredited_schemes"] == [ISO_9001]
    assert saved["registry_statuses"] == {"active": "active", "suspended": "suspended", "withdrawn": "withdrawn",
                                          "expired": "expired"}  # the default mapping
    unknown = assert_problem(put_policy(client, world, {**PROFILE, "accredited_schemes": [str(uuid.uuid4())]}), 422)
    assert "accredited_schemes" in unknown["errors"]
    mapping = {"active": "valid", "suspended": "suspended", "withdrawn": "withdrawn", "expired": "expired"}
    refused = assert_problem(put_policy(client, world, {**PROFILE, "registry_statuses": mapping}), 422)
    assert "registry_statuses.active" in refused["errors"]
    assert "accreditation_body_acronym" in assert_problem(
        put_policy(client, world, {**PROFILE, "accreditation_body_acronym": "=cmd|x"}), 422)["errors"]


def test_G1_writing_the_address_lines_clears_the_review_flag_and_the_display_line_stays(client, world):
    with_lines = patch_client(client, world, REGISTERED)
    assert with_lines["address"] == "1 rue du Test, Paris" and with_lines["city"] == "Paris"
    assert with_lines["address_needs_review"] is False
    renamed = patch_client(client, world, {"name": "Client A renamed"})
    assert renamed["street"] == "1 rue du Test"


def test_G1_the_migration_moves_free_text_addresses_to_the_street_line_and_flags_them(tmp_path):
    url = empty_database(tmp_path)
    upgrade(url, "0016")
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    site = {"name": "Plant", "address": "7 quai Secret, 69002 Lyon", "country": "FR"}
    tenant_id = uuid.uuid4()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT set_config('app.rls_bypass', 'on', true)"))
        conn.execute(sa.text(
            "INSERT INTO tenants (id, kind, name, slug, country, address, sites, timezone, version, created_at, "
            "updated_at) VALUES (:id, 'client_organisation', 'Old', 'old', 'FR', '1 rue du Test, Paris', :sites, "
            "'UTC', 1, :now, :now)"), {"id": tenant_id if conn.dialect.name == "postgresql" else tenant_id.hex,
                                       "sites": json.dumps([site]), "now": "2026-01-01 00:00:00"})
    upgrade(url)
    read = ("SELECT address, street, city, address_needs_review, sites FROM tenants")
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT set_config('app.rls_bypass', 'on', true)"))
        address, street, city, flagged, sites = conn.execute(sa.text(read)).one()
    sites = json.loads(sites) if isinstance(sites, str) else sites
    assert (address, street, city, bool(flagged)) == ("1 rue du Test, Paris", "1 rue du Test, Paris", None, True)
    assert sites == [{**site, "street": site["address"], "city": None, "postcode": None, "state": None,
                      "needs_review": True}]
    downgrade(url, "0016")
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT set_config('app.rls_bypass', 'on', true)"))
        address, sites = conn.execute(sa.text("SELECT address, sites FROM tenants")).one()
    assert address == "1 rue du Test, Paris" and (json.loads(sites) if isinstance(sites, str) else sites) == [site]
    engine.dispose()


def test_G1_certsearch_json_exports_one_bulk_upload_body_per_certified_entity(app, client, world):
    described_client(client, world)
    first, second = issue_certificate(app, world), issue_certificate(app, world)
    response = client.get("/api/v1/certificates/export?format=certsearch-json",
                          headers=world.headers("cb_viewer@cb-a.test"))
    assert response.status_code == 200 and response.mimetype == "application/json"
    [bulk] = response.get_json()
    assert sorted(body["certificate_identity_number"] for body in bulk["certifications"]) == sorted(
        [str(first.id), str(second.id)])
    assert {body["certified_entity_unique_id"] for body in bulk["certifications"]} == {str(world.tenants["client-a"])}
    assert [certsearch.validate(body) for body in bulk["certifications"]] == [(), ()]


def test_G1_certsearch_xlsx_is_the_upload_template_with_formula_safe_cells(app, client, world):
    described_client(client, world)
    patch_client(client, world, {"legal_name": '=HYPERLINK("http://evil.example","x")'})
    issued = issue_certificate(app, world, status="suspended", sites=[{**LYON, "scope": "-2+3 valves"}])
    response = client.get("/api/v1/certificates/export?format=certsearch-xlsx", headers=admin(world))
    assert response.status_code == 200 and "cb_certs.xlsx" in response.headers["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(response.data))
    assert workbook.sheetnames == ["Certification", "Additional Sites"]
    header, row = ([cell.value for cell in line] for line in workbook["Certification"].iter_rows())
    assert header[:10] == ["Certification Identity Number", "Certificate Number", "Certification Status",
                           "Accreditation Status", "Certification Type", "Certification Scope",
                           "Certification Original Issue Date", "Certification Issue Date",
                           "Certification Expiry Date", "Certified Entity Name"]  # the glossary's order
    cells = dict(zip(header, row, strict=True))
    assert cells["Certification Identity Number"] == str(issued.id) and cells["Certification Status"] == "Suspended"
    assert cells["Certified Entity Name"] == "'" + '=HYPERLINK("http://evil.example","x")'
    assert cells["Certified Entity City"] == "Paris" and cells["Standard Name"] == "ISO 9001:2015"
    assert cells["Certified Entity Phone"] is None  # a client's contacts are never exported
    [_, site] = [[cell.value for cell in line] for line in workbook["Additional Sites"].iter_rows()]
    assert site == [str(issued.id), "7 quai Secret", "Lyon", "Auvergne-Rhône-Alpes", "69002", "France",
                    "'-2+3 valves"]
