"""An online shop reports on its ISO 31000 risk register (R7): heat maps, KPIs, CSV and XLSX exports."""
from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta

from openpyxl import load_workbook
from sqlalchemy import update

from grc.db import utcnow
from grc.risks.criteria import CONSEQUENCE, LIKELIHOOD
from tests.certificates import issue_certificate
from tests.test_auth import assert_problem
from tests.test_risks import Shop

TODAY = utcnow().date()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def three_assessed_risks(shop: Shop) -> tuple[dict, dict, dict, dict]:  # type: ignore[type-arg]
    """Fraud (current high), carrier failure (current medium) and a data breach (current high)."""
    register = shop.register()
    fraud = shop.risk(register, "Card-not-present fraud", "fraud")
    carrier = shop.risk(register, "Carrier fails during peak season", "supply chain")
    gdpr = shop.risk(register, "Customer data breach (GDPR)", "privacy")
    shop.assess(fraud, inherent=(4, 4), current=(3, 4), target=(2, 3))
    shop.assess(carrier, inherent=(3, 3), current=(2, 3), target=(2, 2))
    shop.assess(gdpr, inherent=(3, 5), current=(2, 5), target=(1, 5))
    return register, fraud, carrier, gdpr


def counted(heatmap: dict) -> dict[tuple[int, int], int]:  # type: ignore[type-arg]
    return {(cell["likelihood"], cell["consequence"]): cell["count"] for cell in heatmap["cells"] if cell["count"]}


def in_system_scope(app, statement) -> None:  # type: ignore[no-untyped-def]
    from grc import tenancy
    from grc.extensions import db

    with app.app_context(), tenancy.system_scope(db.session):
        db.session.execute(statement)
        db.session.commit()


def test_R7_the_heat_map_counts_the_shops_risks_per_cell_for_each_basis(client, world):
    shop = Shop(client, world)
    register, *_ = three_assessed_risks(shop)
    url = f"/api/v1/risk-registers/{register['id']}/heatmap"
    current = shop.ok(client.get(url, headers=shop.as_("member")))
    assert current["basis"] == "current" and current["criteria_version"] == 1
    assert current["likelihood_labels"] == LIKELIHOOD and current["consequence_labels"] == CONSEQUENCE
    assert len(current["cells"]) == 25  # the full 5x5 grid, empty cells included
    assert counted(current) == {(3, 4): 1, (2, 3): 1, (2, 5): 1}
    cell = next(c for c in current["cells"] if (c["likelihood"], c["consequence"]) == (3, 4))
    assert cell["level"] == "high"
    inherent = shop.ok(client.get(f"{url}?basis=inherent", headers=shop.as_("member")))
    assert inherent["basis"] == "inherent" and counted(inherent) == {(4, 4): 1, (3, 3): 1, (3, 5): 1}
    target = shop.ok(client.get(f"{url}?basis=target", headers=shop.as_("member")))
    assert counted(target) == {(2, 3): 1, (2, 2): 1, (1, 5): 1}
    assert "basis" in assert_problem(client.get(f"{url}?basis=residual", headers=shop.as_("member")), 422)["errors"]


def test_R7_kpis_follow_the_shops_register_through_a_missed_review_and_a_closure(app, client, world):
    from grc.risks.models import Risk

    shop = Shop(client, world)
    _, _, carrier, _ = three_assessed_risks(shop)
    kpis = shop.ok(client.get("/api/v1/kpis", headers=shop.as_("member")))
    assert kpis["open_risks"] == 3 and kpis["assessed_open_risks"] == 3
    assert kpis["open_risks_by_level"] == [{"level": "low", "count": 0}, {"level": "medium", "count": 1},
                                           {"level": "high", "count": 2}, {"level": "critical", "count": 0}]
    assert kpis["share_within_appetite"] == round(1 / 3, 4)  # only the carrier risk is within "medium"
    assert kpis["overdue_reviews"] == 0 and kpis["mean_days_to_closure"] is None
    assert kpis["overdue_treatment_actions"] == 0 and kpis["controls_total"] == 0
    assert kpis["findings_closed"] == 0 and kpis["findings_mean_days_to_closure"] is None
    assert "certificates_expiring_90_days" not in kpis

    in_system_scope(app, update(Risk).where(Risk.id == uuid.UUID(carrier["id"])).values(
        next_review_on=TODAY - timedelta(days=1), identified_on=TODAY - timedelta(days=12)))
    assert shop.ok(client.get("/api/v1/kpis", headers=shop.as_("member")))["overdue_reviews"] == 1

    url = f"/api/v1/risks/{carrier['id']}"
    etag = client.get(url, headers=shop.as_("risk_manager")).headers["ETag"]
    shop.ok(client.patch(url, headers={**shop.as_("risk_manager"), "If-Match": etag}, json={"status": "closed"}))
    kpis = shop.ok(client.get("/api/v1/kpis", headers=shop.as_("member")))
    assert kpis["open_risks"] == 2 and kpis["overdue_reviews"] == 0  # a closed risk is no longer due
    assert kpis["share_within_appetite"] == 0.0 and kpis["mean_days_to_closure"] == 12.0
    assert {e["level"]: e["count"] for e in kpis["open_risks_by_level"]}["medium"] == 0
    register_id = carrier["register_id"]
    assert (2, 3) not in counted(shop.ok(client.get(f"/api/v1/risk-registers/{register_id}/heatmap",
                                                    headers=shop.as_("member"))))
    # another organisation's KPIs do not count the shop's risks
    assert shop.ok(client.get("/api/v1/kpis", headers=world.headers("client_admin@client-b.test")))["open_risks"] == 0


def test_R7_kpis_count_overdue_treatment_actions_and_control_tests(app, client, world):
    from grc import tenancy
    from grc.actions.models import Action, ActionKind, ActionStatus
    from grc.extensions import db
    from grc.risks.models import Control, ControlNature, ControlType

    shop = Shop(client, world)
    _, fraud, _, _ = three_assessed_risks(shop)
    tenant, owner = world.tenants["client-a"], world.users["risk_manager@client-a.test"]
    with app.app_context(), tenancy.system_scope(db.session):
        for title, due, status in (("Add 3-D Secure", -3, ActionStatus.planned),
                                   ("Velocity rules", -1, ActionStatus.in_progress),
                                   ("Chargeback training", -5, ActionStatus.done),
                                   ("Device fingerprinting", 10, ActionStatus.planned)):
            db.session.add(Action(tenant_id=tenant, kind=ActionKind.treatment, risk_id=uuid.UUID(fraud["id"]),
                                  title=title, owner_id=owner, due_date=TODAY + timedelta(days=due), status=status))
        for reference, due in (("C-01", -2), ("C-02", 30), ("C-03", None)):
            db.session.add(Control(tenant_id=tenant, reference=reference, name=reference, type=ControlType.preventive,
                                   nature=ControlNature.manual, owner_id=owner, test_frequency_days=90,
                                   next_test_due=None if due is None else TODAY + timedelta(days=due)))
        db.session.commit()
    kpis = shop.ok(client.get("/api/v1/kpis", headers=shop.as_("member")))
    assert kpis["overdue_treatment_actions"] == 2
    assert kpis["controls_total"] == 3 and kpis["controls_test_overdue"] == 1


def test_R7_the_register_exports_as_an_xlsx_workbook_with_a_heat_map_sheet(client, world):
    shop = Shop(client, world)
    register, *_ = three_assessed_risks(shop)
    response = client.get(f"/api/v1/risk-registers/{register['id']}/export?format=xlsx", headers=shop.as_("member"))
    assert response.status_code == 200 and response.mimetype == XLSX
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert ".xlsx" in response.headers["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(response.data))
    assert workbook.sheetnames == ["Risks", "Heat map"]
    rows = list(workbook["Risks"].iter_rows(values_only=True))
    header = rows[0]
    assert header[:3] == ("reference", "title", "description") and header[-1] == "next_review_on"
    by_reference = {row[0]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    assert sorted(by_reference) == ["R-001", "R-002", "R-003"]
    fraud = by_reference["R-001"]
    assert (fraud["current_likelihood"], fraud["current_consequence"], fraud["current_level"]) == (3, 4, "high")
    assert fraud["above_appetite"] is True and fraud["status"] == "assessed"
    heat = list(workbook["Heat map"].iter_rows(values_only=True))
    assert list(heat[0][1:]) == CONSEQUENCE
    grid = {row[0]: row[1:] for row in heat[1:]}
    assert list(grid) == LIKELIHOOD[::-1]  # most likely on top
    assert grid["Possible"][3] == 1 and grid["Unlikely"][2] == 1 and grid["Unlikely"][4] == 1
    assert sum(sum(row) for row in grid.values()) == 3


def test_R7_the_register_exports_as_csv_one_row_per_risk(client, world):
    shop = Shop(client, world)
    register, *_ = three_assessed_risks(shop)
    response = client.get(f"/api/v1/risk-registers/{register['id']}/export", headers=shop.as_("member"))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [row["reference"] for row in rows] == ["R-001", "R-002", "R-003"]
    assert rows[1]["title"] == "Carrier fails during peak season" and rows[1]["current_level"] == "medium"
    assert rows[1]["above_appetite"] == "False" and rows[0]["inherent_level"] == "high"
    assert rows[0]["next_review_on"] == (TODAY + timedelta(days=90)).isoformat()


def test_R7_another_tenant_cannot_see_the_shops_heat_map_or_export(client, world):
    shop = Shop(client, world)
    register, *_ = three_assessed_risks(shop)
    for email in ("client_admin@client-b.test", "auditor@cb-a.test", "auditor@cb-b.test"):
        for path in ("heatmap", "export", "export?format=xlsx"):
            url = f"/api/v1/risk-registers/{register['id']}/{path}"
            assert_problem(client.get(url, headers=world.headers(email)), 404)


def test_R7_a_cb_reads_the_heat_map_of_a_register_shared_with_it(client, world):
    shop = Shop(client, world)
    register, *_ = three_assessed_risks(shop)
    shop.ok(client.post(f"/api/v1/risk-registers/{register['id']}/shares", headers=shop.as_("client_admin"),
                        json={"cb_id": str(world.tenants["cb-a"])}))
    auditor = world.headers("auditor@cb-a.test")
    heatmap = shop.ok(client.get(f"/api/v1/risk-registers/{register['id']}/heatmap", headers=auditor))
    assert sum(cell["count"] for cell in heatmap["cells"]) == 3
    # ...but its own KPIs count its own risks only
    assert shop.ok(client.get("/api/v1/kpis", headers=auditor))["open_risks"] == 0


def test_R7_a_cbs_kpis_count_certificates_expiring_within_90_days(app, client, world):
    shop = Shop(client, world)
    auditor = world.headers("auditor@cb-a.test")
    kpis = shop.ok(client.get("/api/v1/kpis", headers=auditor))
    assert kpis["certificates_expiring_90_days"] == 0 and "findings_mean_days_to_closure" not in kpis
    issue_certificate(app, world, expiry_date=TODAY + timedelta(days=60))
    issue_certificate(app, world, expiry_date=TODAY + timedelta(days=200))
    issue_certificate(app, world, status="suspended", expiry_date=TODAY + timedelta(days=30))
    issue_certificate(app, world, cb="cb-b", client="client-b", expiry_date=TODAY + timedelta(days=30))
    assert shop.ok(client.get("/api/v1/kpis", headers=auditor))["certificates_expiring_90_days"] == 1


def test_R7_the_printable_register_report_draws_the_heat_map_and_lists_the_risks(client, world):
    import re

    from pypdf import PdfReader

    shop = Shop(client, world)
    register, *risks = three_assessed_risks(shop)
    url = f"/api/v1/risk-registers/{register['id']}/report.pdf"
    response = client.get(url, headers=shop.as_("member"))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF-")
    assert 'filename="E-commerce-risks-report.pdf"' in response.headers["Content-Disposition"]
    reader = PdfReader(io.BytesIO(response.data))
    text = re.sub(r"\s+", " ", " ".join(page.extract_text() or "" for page in reader.pages))
    for expected in ("E-commerce risks", "Online shop, payments, fulfilment", "PSD2, GDPR, carrier market",
                     TODAY.isoformat(), "Likelihood", "Consequence", *LIKELIHOOD, *CONSEQUENCE,
                     "low", "medium", "high", "critical"):
        assert expected in text, f"{expected!r} not in the PDF text: {text}"
    for reference, risk in zip(("R-001", "R-002", "R-003"), risks, strict=True):
        assert reference in text and risk["title"] in text
    # the heat map is drawn: filled, coloured rectangles (one per cell of the 5x5 grid at least)
    stream = reader.pages[0].get_contents().get_data().decode("latin-1")
    assert stream.count(" re f") + stream.count(" re\nf") >= 25
    # another organisation does not learn the register exists
    assert_problem(client.get(url, headers=world.headers("client_admin@client-b.test")), 404)


FORMULA_TITLES = ("+cmd|' /C calc'!A0", "@SUM(1)", "\tTabbed in from a spreadsheet")


def formula_like_risks(shop: Shop) -> dict:  # type: ignore[type-arg]
    """Three risks whose titles a spreadsheet would run as formulas, one ordinary; one formula-like category."""
    register = shop.register()
    for title in FORMULA_TITLES:
        shop.assess(shop.risk(register, title, "=HYPERLINK(\"http://evil.example\",\"x\")"),
                    inherent=(4, 4), current=(3, 4), target=(2, 3))
    shop.risk(register, "Card-not-present fraud", "fraud")
    return register


def test_R7_the_csv_export_neutralises_titles_a_spreadsheet_would_run_and_leaves_ordinary_text_alone(client, world):
    shop = Shop(client, world)
    register = formula_like_risks(shop)
    response = client.get(f"/api/v1/risk-registers/{register['id']}/export?format=csv", headers=shop.as_("member"))
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [row["title"] for row in rows] == [*("'" + title for title in FORMULA_TITLES), "Card-not-present fraud"]
    assert {row["category"] for row in rows[:3]} == {"'=HYPERLINK(\"http://evil.example\",\"x\")"}
    assert rows[3]["category"] == "fraud" and rows[0]["reference"] == "R-001"
    assert (rows[0]["current_likelihood"], rows[0]["current_level"]) == ("3", "high")
    assert rows[0]["next_review_on"] == (TODAY + timedelta(days=90)).isoformat()


def test_R7_the_xlsx_export_stores_formula_like_titles_as_neutralised_string_cells_and_numbers_as_numbers(
        client, world):
    shop = Shop(client, world)
    register = formula_like_risks(shop)
    response = client.get(f"/api/v1/risk-registers/{register['id']}/export?format=xlsx", headers=shop.as_("member"))
    sheet = load_workbook(io.BytesIO(response.data))["Risks"]
    header = [cell.value for cell in sheet[1]]
    rows = [dict(zip(header, cells, strict=True)) for cells in sheet.iter_rows(min_row=2)]
    assert [(row["title"].data_type, row["title"].value) for row in rows] == [
        *(("s", "'" + title) for title in FORMULA_TITLES), ("s", "Card-not-present fraud")]
    assert all(row["category"].data_type == "s" for row in rows)
    assert rows[0]["category"].value == "'=HYPERLINK(\"http://evil.example\",\"x\")"
    assert (rows[0]["current_likelihood"].data_type, rows[0]["current_likelihood"].value) == ("n", 3)
    assert rows[0]["above_appetite"].value is True and rows[0]["next_review_on"].is_date
