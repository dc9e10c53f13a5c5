"""The demo's risk registers (R1-R6): the shop's e-commerce register, shared with its CB, and the CB's own.

Each risk is rated before treatment (inherent), as it stands (current) and as planned (target) under the default
5x5 criteria (appetite: medium). Risks above appetite get a treatment decision and actions; one is retained with a
signed-off acceptance; two were treated and reassessed, so their history shows the level before and after. Controls
are tested, one of them overdue.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.orm import Session

from grc.actions import service as actions
from grc.actions.schemas import ActionCreateSchema, ActionUpdateSchema
from grc.demo import people
from grc.demo.organisations import E_COMMERCE, ISO_27001, load
from grc.demo.people import Cast
from grc.risks import controls as control_service
from grc.risks import service as risks
from grc.risks.control_schemas import ControlCreateSchema, ControlTestCreateSchema
from grc.risks.models import Control, Risk, RiskRegister
from grc.risks.schemas import (
    AcceptanceCreateSchema,
    AssessmentCreateSchema,
    RegisterCreateSchema,
    RiskCreateSchema,
    RiskUpdateSchema,
    TreatmentSchema,
)

Rating = tuple[int, int]  # likelihood, consequence (1-5)


@dataclass(frozen=True)
class ControlSpec:
    reference: str
    name: str
    type: str
    nature: str
    every_days: int
    tested_days_ago: int  # the last test; a test older than the frequency leaves the control overdue
    result: str = "effective"
    clauses: tuple[tuple[uuid.UUID, str], ...] = ()


@dataclass(frozen=True)
class PlannedAction:
    title: str
    due_in_days: int  # negative: overdue
    done: bool = False  # done, and the risk reassessed after it


@dataclass(frozen=True)
class RiskSpec:
    title: str
    category: str
    causes: str
    consequences: str
    inherent: Rating
    current: Rating
    target: Rating
    treatment: tuple[str, ...] = ()
    controls: tuple[str, ...] = ()
    actions: tuple[PlannedAction, ...] = ()
    treated_from: Rating | None = None  # the current rating before a finished action (assessed twice)
    accepted: str | None = None  # the rationale of retaining it above appetite (R4)
    monitored: bool = False


SHOP_CONTROLS = (
    ControlSpec("PAY-01", "3-D Secure 2 and PSP fraud screening on every card payment", "preventive", "automated",
                30, 12, clauses=((E_COMMERCE, "4"),)),
    ControlSpec("PAY-02", "Hosted payment fields: card data never touches our servers (PCI DSS SAQ A)", "preventive",
                "manual", 365, 40, clauses=((E_COMMERCE, "4"), (ISO_27001, "A.8"))),
    ControlSpec("SEC-01", "Multi-factor sign-in for shop administrators", "preventive", "automated", 90, 20,
                clauses=((ISO_27001, "A.8"),)),
    ControlSpec("SEC-02", "Encrypted nightly backups with a quarterly restore test", "corrective", "manual", 90, 120,
                clauses=((ISO_27001, "A.8"),)),
    ControlSpec("SEC-03", "CDN with web application firewall and DDoS scrubbing", "preventive", "automated", 30, 5),
    ControlSpec("SEC-04", "Bot management and a virtual queue for limited releases", "preventive", "automated", 90, 30,
                result="partially_effective"),
    ControlSpec("PRV-01", "Consent banner and tag audit against the consent records", "detective", "manual", 180, 60,
                clauses=((E_COMMERCE, "8"),)),
    ControlSpec("SUP-01", "Annual review of PSP and carrier contracts, SLAs and exit plans", "detective", "manual",
                365, 200),
    ControlSpec("OPS-01", "Weekly cycle counts reconciled with the shop's stock levels", "detective", "manual", 7, 3),
    ControlSpec("OPS-02", "Returns inspection: serial number and contents checked before refund", "detective",
                "manual", 30, 10, clauses=((E_COMMERCE, "6"),)),
)

SHOP_RISKS = (
    RiskSpec("Payment fraud with stolen card data", "Payments",
             "Card testing and stolen cards used for high-value electronics",
             "Chargebacks, fees, PSP penalties, goods lost", (4, 4), (3, 3), (2, 3),
             ("change_likelihood",), ("PAY-01",), (PlannedAction("Tune PSP fraud rules for orders over EUR 500", 20),)),
    RiskSpec("Card data compromise by e-skimming on the checkout (PCI DSS)", "Information security",
             "Malicious script injected through a third-party tag on the checkout page",
             "Card data of customers stolen, PCI DSS breach, fines, loss of card acceptance", (3, 5), (2, 5), (1, 5),
             ("change_likelihood",), ("PAY-02", "SEC-03"),
             (PlannedAction("Script integrity monitoring (CSP and SRI) on the checkout", -7),)),
    RiskSpec("Personal data breach of the customer database", "Data protection",
             "Stolen administrator credentials, unpatched shop plugin, misconfigured cloud storage",
             "Notification to authority and customers (GDPR Art. 33/34), fines, loss of trust", (3, 5), (3, 4), (2, 4),
             ("change_likelihood", "change_consequence"), ("SEC-01", "SEC-02"),
             (PlannedAction("Encrypt customer address and phone fields at rest", 45),)),
    RiskSpec("Platform outage during peak sales (Black Friday)", "Operations",
             "Traffic peak beyond capacity, failed deployment, hosting incident",
             "Lost sales, SLA penalties of marketplace channels", (3, 4), (2, 4), (2, 3),
             controls=("SEC-02", "SEC-03"), monitored=True),
    RiskSpec("Payment service provider failure", "Suppliers",
             "Outage or insolvency of the single PSP", "No card or wallet payments until switched", (2, 5), (2, 5),
             (2, 3), ("share", "change_consequence"), ("SUP-01",),
             (PlannedAction("Contract a second PSP as failover", 60),)),
    RiskSpec("Chargebacks and friendly fraud", "Payments",
             "Customers dispute genuine orders (item not received, not recognised)",
             "Revenue lost, chargeback fees, PSP monitoring programme", (4, 3), (3, 3), (3, 2),
             controls=("PAY-01",), monitored=True),
    RiskSpec("Customer account takeover by credential stuffing", "Information security",
             "Password reuse, automated login attempts from botnets",
             "Orders with stored payment methods, loyalty points stolen, complaints", (4, 4), (3, 4), (2, 3),
             ("change_likelihood",), ("SEC-04",),
             (PlannedAction("Second factor for customer accounts with stored cards", 30),)),
    RiskSpec("Bot scalping of limited releases", "Operations",
             "Bots buy limited consoles and graphics cards within seconds",
             "Genuine customers miss out, resale at inflated prices, reputation", (4, 3), (3, 3), (2, 2),
             controls=("SEC-04",), monitored=True),
    RiskSpec("Inventory record errors (overselling)", "Operations",
             "Stock levels out of sync between warehouse system and shop",
             "Cancelled orders, delivery delays, complaints", (3, 3), (2, 3), (2, 2),
             controls=("OPS-01",), monitored=True),
    RiskSpec("Returns fraud", "Fraud", "Empty boxes, swapped serial numbers, wardrobing",
             "Refunds paid for goods not returned", (3, 3), (2, 3), (2, 2), controls=("OPS-02",), monitored=True),
    RiskSpec("DDoS attack and extortion", "Information security",
             "Ransom DDoS against the shop before peak season", "Shop unreachable, lost sales", (3, 4), (2, 3),
             (2, 3), ("change_likelihood",), ("SEC-03",),
             (PlannedAction("Move the shop behind a DDoS-protected CDN", -20, done=True),), treated_from=(3, 4)),
    RiskSpec("Invalid consent for marketing cookies (GDPR, TTDSG)", "Compliance",
             "Tags firing before consent, consent records incomplete", "Warnings, fines, claims by competitors",
             (3, 4), (2, 3), (1, 3), ("change_likelihood",), ("PRV-01",),
             (PlannedAction("Block all marketing tags until consent is given", -40, done=True),), treated_from=(3, 4)),
    RiskSpec("VAT one-stop-shop (OSS) filing errors", "Tax",
             "Wrong VAT rates for EU destination countries, late quarterly filing",
             "Back taxes, interest and penalties in several member states", (2, 4), (2, 3), (1, 3)),
    RiskSpec("Logistics partner failure (strike or insolvency)", "Suppliers",
             "Single parcel carrier for 90 % of shipments", "Deliveries late or lost, cancellations, complaints",
             (3, 4), (3, 4), (3, 4), ("retain",), ("SUP-01",),
             accepted="A second carrier costs more than the expected loss; delays are announced in the shop and "
                      "customers may cancel free of charge. Reviewed at the next contract renewal.",
             monitored=True),
    RiskSpec("Affiliate and marketing fraud (cookie stuffing)", "Marketing",
             "Affiliates claim commissions for orders they did not bring", "Commissions paid for nothing", (3, 2),
             (2, 2), (2, 2), monitored=True),
    RiskSpec("Pricing errors published in the shop", "Operations",
             "Wrong price feed import, decimal errors", "Orders at a loss, disputes about contract formation",
             (2, 3), (2, 2), (1, 2)),
    RiskSpec("Misleading trust marks or fake reviews", "Compliance",
             "Reviews not verified, marks shown without a licence (GPEC 10)", "Warnings under unfair competition law",
             (2, 3), (1, 3), (1, 3), monitored=True),
)

CB_RISKS = (
    RiskSpec("Impartiality threat from a related consultancy", "Impartiality",
             "An auditor consulted a client within the last two years (ISO/IEC 17021-1 5.2)",
             "Certification decisions challenged, accreditation findings", (3, 4), (2, 4), (1, 4)),
    RiskSpec("Too few competent GPEC auditors", "Competence",
             "Fast growth of e-commerce clients, two qualified auditors only",
             "Surveillance audits late (C6), suspensions", (3, 3), (3, 3), (2, 3)),
    RiskSpec("Accreditation scope suspended", "Accreditation", "Findings of the accreditation body not closed",
             "Certificates issued as non-accredited", (2, 5), (1, 5), (1, 5)),
)


def build_registers(session: Session, cast: Cast, cb_id: uuid.UUID, today: date) -> None:
    """The shop's risk manager builds the register with its controls and shares it with the CB; the CB's admin keeps
    the CB's own register."""
    cast.act(people.SHOP_RISK)
    owner = cast.id(people.SHOP_RISK)
    register = risks.create_register(session, load(RegisterCreateSchema, {
        "name": "Example Shop: e-commerce risks",
        "scope": "The online shop shop.example: checkout and payments, customer data, fulfilment and returns, "
                 "marketing, suppliers (PSP, carriers, hosting)",
        "owner_id": str(owner)}))
    library = {spec.reference: _control(session, spec, owner, today) for spec in SHOP_CONTROLS}
    for spec in SHOP_RISKS:
        _risk(session, cast, people.SHOP_RISK, register, spec, library, today)
    risks.share(session, register, cb_id)
    cast.act(people.CB_ADMIN)
    cb_owner = cast.id(people.CB_ADMIN)
    cb_register = risks.create_register(session, load(RegisterCreateSchema, {
        "name": "Acme Certification: certification body risks",
        "scope": "Impartiality, competence and accreditation of the certification body (ISO/IEC 17021-1 5.2, 10)",
        "owner_id": str(cb_owner)}))
    for spec in CB_RISKS:
        _risk(session, cast, people.CB_ADMIN, cb_register, spec, {}, today)


def _control(session: Session, spec: ControlSpec, owner: uuid.UUID, today: date) -> Control:
    control = control_service.create_control(session, load(ControlCreateSchema, {
        "reference": spec.reference, "name": spec.name, "type": spec.type, "nature": spec.nature,
        "owner_id": str(owner), "test_frequency_days": spec.every_days,
        "mapped_clauses": [{"scheme_id": str(scheme), "clause": clause} for scheme, clause in spec.clauses]}))
    control_service.record_test(session, control, load(ControlTestCreateSchema, {
        "tested_on": (today - timedelta(days=spec.tested_days_ago)).isoformat(), "result": spec.result,
        "notes": "Sampled and documented in the control file."}))
    return control


def _risk(session: Session, cast: Cast, manager: str, register: RiskRegister, spec: RiskSpec,
          library: dict[str, Control], today: date) -> Risk:
    caller = cast.act(manager)
    risk = risks.create_risk(session, register, load(RiskCreateSchema, {
        "title": spec.title, "category": spec.category, "causes": spec.causes, "consequences": spec.consequences,
        "owner_id": str(caller.actor_id)}))
    _assess(session, risk, spec.inherent, spec.treated_from or spec.current, spec.target,
            "Rated in the risk workshop with the shop's management.")
    if spec.controls:
        control_service.link_controls(session, risk, [library[reference].id for reference in spec.controls])
    if spec.treatment:
        risks.decide_treatment(session, risk, load(TreatmentSchema, {"options": list(spec.treatment)})["options"])
    for planned in spec.actions:
        action = actions.create_for_risk(session, risk, load(ActionCreateSchema, {
            "title": planned.title, "owner_id": str(caller.actor_id),
            "due_date": (today + timedelta(days=planned.due_in_days)).isoformat()}), caller=caller)
        if planned.done:
            actions.update(session, action, load(ActionUpdateSchema, {"status": "done"}), caller=caller)
    if spec.treated_from:
        _assess(session, risk, spec.inherent, spec.current, spec.target,
                "Reassessed after the treatment action was completed.")
    if spec.accepted:
        risks.accept(session, risk, load(AcceptanceCreateSchema, {
            "rationale": spec.accepted, "expires_on": (today + timedelta(days=180)).isoformat()}))
    if spec.monitored:
        risks.update_risk(session, risk, load(RiskUpdateSchema, {"status": "monitored"}))
    return risk


def _assess(session: Session, risk: Risk, inherent: Rating, current: Rating, target: Rating, rationale: str) -> None:
    def rating(value: Rating) -> dict[str, int]:
        return {"likelihood": value[0], "consequence": value[1]}

    risks.assess(session, risk, load(AssessmentCreateSchema, {
        "inherent": rating(inherent), "current": rating(current), "target": rating(target), "rationale": rationale}))
