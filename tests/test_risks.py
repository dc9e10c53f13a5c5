"""An online shop keeps its ISO 31000 risk register (R1-R3) and shares it with its certification body."""
from __future__ import annotations

from datetime import timedelta

from grc.db import utcnow
from grc.risks.criteria import DEFAULT
from tests.certification import Certification
from tests.test_auth import assert_problem

TODAY = utcnow().date()


class Shop(Certification):
    def register(self) -> dict:  # type: ignore[type-arg]
        return self.ok(self.http.post("/api/v1/risk-registers", headers=self.as_("client_admin"), json={
            "name": "E-commerce risks", "scope": "Online shop, payments, fulfilment",
            "internal_context": "12 staff, Shopify-like platform", "external_context": "PSD2, GDPR, carrier market",
            "owner_id": self.user_id("risk_manager")}), 201)

    def risk(self, register: dict, title: str, category: str) -> dict:  # type: ignore[type-arg]
        url = f"/api/v1/risk-registers/{register['id']}/risks"
        body = {"title": title, "category": category, "owner_id": self.user_id("risk_manager"),
                "causes": "c", "consequences": "q"}
        return self.ok(self.http.post(url, headers=self.as_("risk_manager"), json=body), 201)

    def assess(self, risk: dict, inherent: tuple[int, int], current: tuple[int, int], target: tuple[int, int],
               status: int = 201) -> dict:  # type: ignore[type-arg]
        ratings = (("inherent", inherent), ("current", current), ("target", target))
        body = {basis: {"likelihood": likelihood, "consequence": consequence}
                for basis, (likelihood, consequence) in ratings}
        response = self.http.post(f"/api/v1/risks/{risk['id']}/assessments", headers=self.as_("risk_manager"),
                                  json={**body, "rationale": "Workshop with the payments team"})
        return self.ok(response, status) if status < 400 else assert_problem(response, status)


def test_R1_a_new_tenant_starts_with_a_5x5_default(client, world):
    headers = world.headers("member@client-a.test")
    criteria = Shop(client, world).ok(client.get("/api/v1/risk-criteria", headers=headers))
    assert len(criteria["likelihood_scale"]) == 5 and len(criteria["consequence_scale"]) == 5
    assert criteria["matrix"][4][4] == "critical" and criteria["matrix"][0][0] == "low"
    assert criteria["appetite"] == "medium"


def test_R1_criteria_are_validated_one_level_per_cell_and_monotone(client, world):
    shop = Shop(client, world)
    headers = shop.as_("client_admin")
    url = "/api/v1/risk-criteria"
    falling = [row[:] for row in DEFAULT["matrix"]]
    falling[4][4] = "low"
    errors = assert_problem(client.put(url, headers=headers, json={**DEFAULT, "matrix": falling}), 422)["errors"]
    assert "matrix" in errors
    unknown = [row[:] for row in DEFAULT["matrix"]]
    unknown[0][0] = "tiny"
    errors = assert_problem(client.put(url, headers=headers, json={**DEFAULT, "matrix": unknown}), 422)["errors"]
    assert "matrix" in errors
    two = {**DEFAULT, "likelihood_scale": DEFAULT["likelihood_scale"][:2], "matrix": DEFAULT["matrix"][:2]}
    assert "likelihood_scale" in assert_problem(client.put(url, headers=headers, json=two), 422)["errors"]
    errors = assert_problem(client.put(url, headers=headers, json={**DEFAULT, "appetite": "x"}), 422)["errors"]
    assert "appetite" in errors
    assert_problem(client.put(url, headers=shop.as_("member"), json=DEFAULT), 403)


def test_R2_R3_an_online_shop_records_and_assesses_its_risks(client, world):
    shop = Shop(client, world)
    register = shop.register()
    fraud = shop.risk(register, "Card-not-present fraud", "fraud")
    carrier = shop.risk(register, "Carrier fails during peak season", "supply chain")
    gdpr = shop.risk(register, "Customer data breach (GDPR)", "privacy")
    assert [fraud["reference"], carrier["reference"], gdpr["reference"]] == ["R-001", "R-002", "R-003"]
    assessed = shop.assess(fraud, inherent=(4, 4), current=(3, 4), target=(2, 3))
    assert assessed["criteria_version"] == 1
    assert assessed["ratings"]["inherent"] == {"likelihood": 4, "consequence": 4, "score": 16, "level": "high"}
    assert assessed["ratings"]["current"]["level"] == "high" and assessed["ratings"]["target"]["level"] == "medium"
    shop.assess(carrier, inherent=(3, 3), current=(2, 3), target=(2, 2))
    shop.assess(gdpr, inherent=(3, 5), current=(2, 5), target=(1, 5))
    fraud_now = shop.ok(client.get(f"/api/v1/risks/{fraud['id']}", headers=shop.as_("member")))
    assert fraud_now["status"] == "assessed" and fraud_now["above_appetite"] is True
    assert fraud_now["next_review_on"] == (TODAY + timedelta(days=90)).isoformat()  # R5: from the level
    above = shop.ok(client.get("/api/v1/risks?above_appetite=true", headers=shop.as_("member")))["items"]
    assert sorted(r["reference"] for r in above) == ["R-001", "R-003"]
    found = shop.ok(client.get("/api/v1/risks?q=carrier", headers=shop.as_("member")))["items"]
    assert [r["reference"] for r in found] == ["R-002"]
    out_of_scale = shop.assess(fraud, inherent=(6, 1), current=(6, 1), target=(1, 1), status=422)
    assert "inherent.likelihood" in out_of_scale["errors"]


def test_R1_a_criteria_change_leaves_past_assessments_as_they_were(client, world):
    shop = Shop(client, world)
    register = shop.register()
    fraud = shop.risk(register, "Card-not-present fraud", "fraud")
    first = shop.assess(fraud, inherent=(3, 3), current=(3, 3), target=(2, 2))
    stricter = {**DEFAULT, "matrix": [["low", "medium", "high", "high", "critical"]] +
                [["medium", "high", "high", "critical", "critical"]] * 4, "appetite": "low"}
    saved = shop.ok(client.put("/api/v1/risk-criteria", headers=shop.as_("client_admin"), json=stricter))
    assert saved["version"] == 2
    second = shop.assess(fraud, inherent=(3, 3), current=(3, 3), target=(2, 2))
    assert first["criteria_version"] == 1 and first["ratings"]["current"]["level"] == "medium"
    assert second["criteria_version"] == 2 and second["ratings"]["current"]["level"] == "high"
    history = shop.ok(client.get(f"/api/v1/risks/{fraud['id']}", headers=shop.as_("member")))["assessments"]
    assert [(a["criteria_version"], a["ratings"]["current"]["level"]) for a in history] == [(1, "medium"), (2, "high")]
    versions = shop.ok(client.get("/api/v1/risk-criteria/versions", headers=shop.as_("member")))["items"]
    assert [v["version"] for v in versions] == [1, 2]


def test_R2_a_shared_register_is_visible_to_that_cb_only_and_read_only(client, world):
    shop = Shop(client, world)
    register = shop.register()
    risk = shop.risk(register, "Payment provider outage", "continuity")
    cb_a = str(world.tenants["cb-a"])
    assert "cb_id" in assert_problem(client.post(f"/api/v1/risk-registers/{register['id']}/shares",
                                                 headers=shop.as_("client_admin"),
                                                 json={"cb_id": str(world.tenants["cb-b"])}), 422)["errors"]
    assert_problem(client.get(f"/api/v1/risks/{risk['id']}", headers=world.headers("auditor@cb-a.test")), 404)
    shared = shop.ok(client.post(f"/api/v1/risk-registers/{register['id']}/shares", headers=shop.as_("client_admin"),
                                 json={"cb_id": cb_a}))
    assert shared["shared_with"] == [cb_a]
    auditor = world.headers("auditor@cb-a.test")
    assert shop.ok(client.get(f"/api/v1/risks/{risk['id']}", headers=auditor))["title"] == "Payment provider outage"
    registers = shop.ok(client.get("/api/v1/risk-registers", headers=auditor))["items"]
    assert [r["id"] for r in registers] == [register["id"]]
    ratings = {b: {"likelihood": 1, "consequence": 1} for b in ("inherent", "current", "target")}
    assessment = ratings | {"rationale": "x"}
    manager = world.headers("certification_manager@cb-a.test")
    assert_problem(client.post(f"/api/v1/risks/{risk['id']}/assessments", headers=manager, json=assessment), 403)
    assert_problem(client.get(f"/api/v1/risks/{risk['id']}", headers=world.headers("auditor@cb-b.test")), 404)
    url = f"/api/v1/risk-registers/{register['id']}/unshare"
    shop.ok(client.post(url, headers=shop.as_("client_admin"), json={"cb_id": cb_a}))
    assert_problem(client.get(f"/api/v1/risks/{risk['id']}", headers=auditor), 404)


def test_R2_an_archived_register_takes_no_new_risks(client, world):
    shop = Shop(client, world)
    register = shop.register()
    url = f"/api/v1/risk-registers/{register['id']}"
    etag = client.get(url, headers=shop.as_("client_admin")).headers["ETag"]
    shop.ok(client.patch(url, headers={**shop.as_("client_admin"), "If-Match": etag}, json={"archived": True}))
    refused = assert_problem(client.post(f"{url}/risks", headers=shop.as_("risk_manager"), json={
        "title": "x", "owner_id": shop.user_id("risk_manager")}), 409)
    assert refused["rule"] == "R2"
    assert shop.ok(client.get("/api/v1/risk-registers", headers=shop.as_("client_admin")))["items"] == []


def monitor(shop: Shop, risk: dict):  # type: ignore[no-untyped-def,type-arg]
    url = f"/api/v1/risks/{risk['id']}"
    etag = shop.http.get(url, headers=shop.as_("risk_manager")).headers["ETag"]
    return shop.http.patch(url, headers={**shop.as_("risk_manager"), "If-Match": etag}, json={"status": "monitored"})


def test_R4_above_appetite_needs_a_treatment_decision_before_it_is_monitored(client, world):
    shop = Shop(client, world)
    fraud = shop.risk(shop.register(), "Card-not-present fraud", "fraud")
    shop.assess(fraud, inherent=(4, 4), current=(4, 4), target=(2, 2))
    assert assert_problem(monitor(shop, fraud), 409)["rule"] == "R4"
    treated = shop.ok(client.put(f"/api/v1/risks/{fraud['id']}/treatment", headers=shop.as_("risk_manager"),
                                 json={"options": ["change_likelihood", "share"]}))
    assert treated["status"] == "treatment_planned" and treated["treatment_options"] == ["change_likelihood", "share"]
    action = shop.ok(client.post(f"/api/v1/risks/{fraud['id']}/actions", headers=shop.as_("risk_manager"), json={
        "title": "Enable 3-D Secure on all card payments", "owner_id": shop.user_id("member"),
        "due_date": (TODAY + timedelta(days=30)).isoformat()}), 201)
    assert action["kind"] == "treatment" and action["risk_id"] == fraud["id"]
    assert shop.ok(client.get(f"/api/v1/risks/{fraud['id']}", headers=shop.as_("member")))["status"] == "in_treatment"
    assert monitor(shop, fraud).status_code == 200


def test_R4_retaining_above_appetite_needs_an_acceptance_with_an_expiry(app, client, world):
    from grc.extensions import db
    from grc.risks import service
    from tests.world import act_as

    shop = Shop(client, world)
    gdpr = shop.risk(shop.register(), "Customer data breach (GDPR)", "privacy")
    shop.assess(gdpr, inherent=(3, 5), current=(3, 5), target=(3, 5))
    url = f"/api/v1/risks/{gdpr['id']}/acceptance"
    body = {"rationale": "Cost of further controls exceeds benefit this year",
            "expires_on": (TODAY + timedelta(days=180)).isoformat()}
    assert assert_problem(client.post(url, headers=shop.as_("risk_manager"), json=body), 409)["rule"] == "R4"
    shop.ok(client.put(f"/api/v1/risks/{gdpr['id']}/treatment", headers=shop.as_("risk_manager"),
                       json={"options": ["retain"]}))
    assert assert_problem(monitor(shop, gdpr), 409)["rule"] == "R4"
    assert_problem(client.post(url, headers=shop.as_("member"), json=body), 403)
    expiring_today = {**body, "expires_on": TODAY.isoformat()}
    past = assert_problem(client.post(url, headers=shop.as_("client_admin"), json=expiring_today), 422)
    assert "expires_on" in past["errors"]
    accepted = shop.ok(client.post(url, headers=shop.as_("client_admin"), json=body), 201)
    assert accepted["level"] == "high" and accepted["accepted_by"] == shop.user_id("client_admin")
    assert monitor(shop, gdpr).status_code == 200
    with app.app_context():
        act_as("risk_manager@client-a.test")
        assert service.expire_acceptances(db.session, TODAY + timedelta(days=180)) == 0
        assert service.expire_acceptances(db.session, TODAY + timedelta(days=181)) == 1
        db.session.commit()
    after = shop.ok(client.get(f"/api/v1/risks/{gdpr['id']}", headers=shop.as_("member")))
    assert after["status"] == "assessed" and after["next_review_on"] == (TODAY + timedelta(days=90)).isoformat()


def test_R5_a_review_sets_the_next_date_from_the_level_and_overdue_reviews_are_listed(app, client, world):
    from sqlalchemy import update

    from grc import tenancy
    from grc.extensions import db
    from grc.risks.models import Risk

    shop = Shop(client, world)
    register = shop.register()
    carrier = shop.risk(register, "Carrier fails during peak season", "supply chain")
    other = shop.risk(register, "Marketplace account suspended", "regulatory")
    shop.assess(carrier, inherent=(3, 3), current=(2, 3), target=(2, 2))  # medium: 180 days
    shop.assess(other, inherent=(1, 1), current=(1, 1), target=(1, 1))
    reviewed = shop.ok(client.post(f"/api/v1/risks/{carrier['id']}/reviews", headers=shop.as_("risk_manager"),
                                   json={"notes": "Second carrier contracted"}), 201)
    assert reviewed["next_review_on"] == (TODAY + timedelta(days=180)).isoformat()
    with app.app_context(), tenancy.system_scope(db.session):
        make_overdue = update(Risk).where(Risk.reference == "R-002").values(next_review_on=TODAY - timedelta(days=1))
        db.session.execute(make_overdue)
        db.session.commit()
    overdue = shop.ok(client.get("/api/v1/risks?review_overdue=true", headers=shop.as_("member")))["items"]
    assert [r["reference"] for r in overdue] == ["R-002"] and overdue[0]["review_overdue"] is True
    history = shop.ok(client.get(f"/api/v1/risks/{carrier['id']}/reviews", headers=shop.as_("member")))["items"]
    assert [r["notes"] for r in history] == ["Second carrier contracted"]


def export_csv(client, shop: Shop, register: dict) -> str:  # type: ignore[no-untyped-def,type-arg]
    url = f"/api/v1/risk-registers/{register['id']}/export?format=csv"
    response = client.get(url, headers=shop.as_("risk_manager"))
    assert response.status_code == 200
    return response.get_data(as_text=True)


def import_csv(client, shop: Shop, register: dict, text: str):  # type: ignore[no-untyped-def,type-arg]
    import io

    return client.post(f"/api/v1/risk-registers/{register['id']}/import", headers=shop.as_("risk_manager"),
                       data={"file": (io.BytesIO(text.encode()), "register.csv")}, content_type="multipart/form-data")


def test_R7_the_export_re_imports_to_the_same_register_unchanged(client, world):
    shop = Shop(client, world)
    register = shop.register()
    for title, category, rating in (("Card-not-present fraud", "fraud", (4, 4)),
                                    ("Carrier failure", "supply chain", (2, 3)),
                                    ("GDPR breach", "privacy", (3, 5))):
        shop.assess(shop.risk(register, title, category), inherent=rating, current=rating, target=(1, 1))
    before = export_csv(client, shop, register)
    assert shop.ok(import_csv(client, shop, register, before)) == {"created": 0, "updated": 3}
    assert export_csv(client, shop, register) == before
    risks = shop.ok(client.get(f"/api/v1/risks?register_id={register['id']}", headers=shop.as_("member")))["items"]
    assessments = [shop.ok(client.get(f"/api/v1/risks/{r['id']}", headers=shop.as_("member")))["assessments"]
                   for r in risks]
    assert [len(each) for each in assessments] == [1, 1, 1]  # unchanged ratings add no assessment


def test_R7_formula_like_titles_come_back_exactly_when_the_exported_register_is_imported(client, world):
    shop = Shop(client, world)
    register = shop.register()
    titles = ("+cmd|' /C calc'!A0", "@SUM(1)", "\tTabbed in", "=1+1", "'-already quoted by its author",
              "Card-not-present fraud")
    for title in titles:
        shop.risk(register, title, "-fraud")
    exported = export_csv(client, shop, register)
    assert "'+cmd|" in exported and "'=1+1" in exported  # neutralised in the file...
    assert shop.ok(import_csv(client, shop, register, exported)) == {"created": 0, "updated": 6}
    risks = shop.ok(client.get(f"/api/v1/risks?register_id={register['id']}", headers=shop.as_("member")))["items"]
    assert sorted(risk["title"] for risk in risks) == sorted(titles)  # ...and the original text once imported
    assert {risk["category"] for risk in risks} == {"-fraud"}
    assert export_csv(client, shop, register) == exported


def test_R7_an_import_with_bad_rows_names_each_and_imports_nothing(client, world):
    import csv
    import io

    shop = Shop(client, world)
    register = shop.register()
    shop.risk(register, "Existing risk", "fraud")
    rows = list(csv.DictReader(io.StringIO(export_csv(client, shop, register))))
    good = {**rows[0], "reference": "", "title": "New supplier risk"}
    bad_owner = {**rows[0], "reference": "", "title": "x", "owner_id": str(world.users["cb_admin@cb-a.test"])}
    bad_rating = {**rows[0], "reference": "", "title": "y", "inherent_likelihood": "9", "inherent_consequence": "1",
                  "current_likelihood": "1", "current_consequence": "1",
                  "target_likelihood": "1", "target_consequence": "1"}
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows([good, bad_owner, bad_rating])
    problem = assert_problem(import_csv(client, shop, register, buffer.getvalue()), 422)
    assert set(problem["errors"]) == {"row 3.owner_id", "row 4.inherent_likelihood"}
    risks = shop.ok(client.get(f"/api/v1/risks?register_id={register['id']}", headers=shop.as_("member")))["items"]
    assert len(risks) == 1
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerow(good)
    assert shop.ok(import_csv(client, shop, register, buffer.getvalue())) == {"created": 1, "updated": 0}
    assert "file" in assert_problem(import_csv(client, shop, register, "title\nx\n"), 422)["errors"]


def test_an_online_shop_runs_its_register_end_to_end(client, world):
    """Criteria, three risks assessed, one treated, one accepted, one reviewed; heat map, KPIs and export agree."""
    shop = Shop(client, world)
    shop.ok(client.put("/api/v1/risk-criteria", headers=shop.as_("client_admin"), json=DEFAULT))
    register = shop.register()
    fraud = shop.risk(register, "Card-not-present fraud", "fraud")
    carrier = shop.risk(register, "Carrier fails during peak season", "supply chain")
    gdpr = shop.risk(register, "Customer data breach (GDPR)", "privacy")
    shop.assess(fraud, inherent=(4, 4), current=(4, 3), target=(2, 2))  # current high
    shop.assess(carrier, inherent=(3, 3), current=(2, 3), target=(2, 2))  # current medium (within appetite)
    shop.assess(gdpr, inherent=(3, 5), current=(3, 5), target=(3, 5))  # current high
    shop.ok(client.put(f"/api/v1/risks/{fraud['id']}/treatment", headers=shop.as_("risk_manager"),
                       json={"options": ["change_likelihood"]}))
    shop.ok(client.post(f"/api/v1/risks/{fraud['id']}/actions", headers=shop.as_("risk_manager"), json={
        "title": "3-D Secure everywhere", "owner_id": shop.user_id("member"),
        "due_date": (TODAY + timedelta(days=14)).isoformat()}), 201)
    shop.ok(client.put(f"/api/v1/risks/{gdpr['id']}/treatment", headers=shop.as_("risk_manager"),
                       json={"options": ["retain"]}))
    shop.ok(client.post(f"/api/v1/risks/{gdpr['id']}/acceptance", headers=shop.as_("client_admin"), json={
        "rationale": "Residual exposure accepted for this budget year",
        "expires_on": (TODAY + timedelta(days=365)).isoformat()}), 201)
    shop.ok(client.post(f"/api/v1/risks/{carrier['id']}/reviews", headers=shop.as_("risk_manager"),
                        json={"notes": "Second carrier signed"}), 201)

    url = f"/api/v1/risk-registers/{register['id']}/heatmap?basis=current"
    heatmap = shop.ok(client.get(url, headers=shop.as_("member")))
    counts = {(c["likelihood"], c["consequence"]): c["count"] for c in heatmap["cells"] if c["count"]}
    assert counts == {(4, 3): 1, (2, 3): 1, (3, 5): 1}
    assert heatmap["likelihood_labels"][0] == "Rare" and heatmap["consequence_labels"][-1] == "Severe"
    kpis = shop.ok(client.get("/api/v1/kpis", headers=shop.as_("client_admin")))
    by_level = {entry["level"]: entry["count"] for entry in kpis["open_risks_by_level"]}
    assert kpis["open_risks"] == 3 and by_level["high"] == 2 and by_level["medium"] == 1
    assert kpis["share_within_appetite"] == 0.3333 and kpis["overdue_reviews"] == 0
    exported = export_csv(client, shop, register)
    assert shop.ok(import_csv(client, shop, register, exported)) == {"created": 0, "updated": 3}
    assert export_csv(client, shop, register) == exported


def test_an_integration_records_risks_but_a_person_answers_for_their_assessment(client, world):
    """An API client with the risk manager's role records a risk; assessing it names who assessed (R3), so the
    client is refused with a 403 that says why, and nothing is written. Before: a 500 on PostgreSQL (the assessor
    column names a user) and an assessment by nobody on SQLite."""
    shop = Shop(client, world)
    register = shop.register()
    created = shop.ok(client.post("/api/v1/api-clients", headers=shop.as_("client_admin"),
                                  json={"name": "shop ERP", "roles": ["risk_manager"]}), 201)
    token = shop.ok(client.post("/api/v1/auth/token", json={"client_id": created["client_id"],
                                                            "client_secret": created["client_secret"]}))
    erp = {"Authorization": f"Bearer {token['access_token']}"}
    risk = shop.ok(client.post(f"/api/v1/risk-registers/{register['id']}/risks", headers=erp, json={
        "title": "Payment provider outage", "category": "supply chain", "owner_id": shop.user_id("risk_manager"),
        "causes": "single PSP", "consequences": "no sales"}), 201)
    ratings = {basis: {"likelihood": 3, "consequence": 4} for basis in ("inherent", "current", "target")}
    refused = assert_problem(client.post(f"/api/v1/risks/{risk['id']}/assessments", headers=erp,
                                         json={**ratings, "rationale": "nightly sync"}), 403)
    assert "person" in refused["detail"]
    assert shop.ok(client.get(f"/api/v1/risks/{risk['id']}", headers=erp))["status"] == "identified"
