"""The plan of the data set, made before a row is written: which CB holds how many certificates and clients,
each client's certification history as dates (C1, C4, C6-C8), and exact totals of findings, licences and risks
spread over the clients. Plans are small and re-derivable (a client's comes from its own seeded generator), so
the writer never holds a table in memory."""
from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta

from bench.dataset.clock import moment, work_time
from bench.dataset.schemes import WEIGHTS, dues_of, expiry_of
from bench.dataset.sizes import MAX_CERTIFICATES_PER_CLIENT, REGISTER_EVERY, Sizes
from grc.tenants.service import POLICY_DEFAULTS

HISTORY_DAYS = 1640  # clients were onboarded over the last four and a half years
FINDINGS_PER_AUDIT = 6  # the most findings spread onto one audit
# The first word of organisations' names: the CBs' here, the clients' as they are onboarded (tenants.py).
NAMES = ["Alpine", "Baltic", "Cobalt", "Delta", "Evergreen", "Falcon", "Granite", "Harbor", "Iris", "Juniper",
         "Keystone", "Lumen", "Meridian", "Northwind", "Orion", "Pioneer", "Quartz", "Redwood", "Summit", "Trident",
         "Unity", "Vertex", "Westbrook", "Zenith"]
ACCREDITATION = [("COFRAC", "3-1234"), ("DAkkS", "D-ZM-12345-01-00"), ("UKAS", "0123"), ("ACCREDIA", "045B")]
TEMPLATES = ["{cb}-{scheme}-{yyyy}-{seq:05}", "{cb}/{scheme}/{seq:06}", "{scheme}-{yyyy}-{seq:05}", "{cb}-{seq:07}"]


# --------------------------------------------------------------------------- spreading totals


def spread(total: int, weights: Sequence[int], caps: Sequence[int], rng: random.Random) -> list[int]:
    """``total`` split at random over the items in proportion to ``weights``, none above its cap (a multinomial
    draw; full items drop out as they fill up)."""
    counts = [0] * len(weights)
    live = [i for i, weight in enumerate(weights) if weight > 0 and caps[i] > 0]
    if total > sum(caps[i] for i in live):
        raise ValueError(f"cannot place {total}: room for {sum(caps[i] for i in live)} only")
    left = total
    while left:
        cumulative = list(itertools.accumulate(weights[i] for i in live))
        for i in rng.choices(live, cum_weights=cumulative, k=min(left, 1 << 16)):
            if counts[i] < caps[i]:
                counts[i] += 1
                left -= 1
        live = [i for i in live if counts[i] < caps[i]]
    return counts


def ensure_one(counts: list[int], index: int) -> None:
    """Give item ``index`` one unit (taken from the fullest) when the draw gave it none."""
    if counts[index] == 0:
        counts[max(range(len(counts)), key=counts.__getitem__)] -= 1
        counts[index] = 1


def weighted_sample(rng: random.Random, weights: Sequence[int], k: int) -> list[int]:
    """``k`` distinct indices, each drawn in proportion to its weight among those left."""
    left, chosen = list(range(len(weights))), []
    for _ in range(k):
        pick = rng.choices(left, weights=[weights[i] for i in left])[0]
        left.remove(pick)
        chosen.append(pick)
    return chosen


# --------------------------------------------------------------------------- the CBs


@dataclass(frozen=True)
class CbPlan:
    index: int
    slug: str
    name: str
    certificates: int
    clients: range  # the global indices of its clients
    policy: dict[str, Any] | None  # its own policy row, or None for the documented defaults

    @property
    def rules(self) -> dict[str, Any]:
        """Its policy, or the documented defaults a CB without its own policy row gets (``tenants.policy``)."""
        return self.policy or POLICY_DEFAULTS


def plan_cbs(sizes: Sizes, rng: random.Random) -> list[CbPlan]:
    """The big CB, the small CB, and the others with a skewed share of the remaining certificates; clients go
    to CBs in proportion to certificates, enough for each to hold at most nine."""
    others = sizes.cbs - 2
    rest = sizes.certificates - sizes.big_cb_certificates - sizes.small_cb_certificates
    weights = [max(1, int(100 * rng.paretovariate(1.2))) for _ in range(others)]
    certificates = [sizes.big_cb_certificates, sizes.small_cb_certificates,
                    *spread(rest, weights, [rest] * others, rng)]
    clients = _clients_per_cb(sizes.clients, certificates)
    plans, start = [], 0
    for index, (count, held) in enumerate(zip(certificates, clients, strict=True)):
        name = f"{NAMES[index % len(NAMES)]} Certification {index + 1:04d}"
        policy = _own_policy(rng) if index >= 2 and rng.random() < 0.2 else None
        plans.append(CbPlan(index, f"cb-{index + 1:04d}", name, count, range(start, start + held), policy))
        start += held
    return plans


def _clients_per_cb(clients: int, certificates: list[int]) -> list[int]:
    """Enough clients for each CB's certificates (nine each at most), the rest in proportion (largest remainder)."""
    needed = [max(1, -(-count // MAX_CERTIFICATES_PER_CLIENT)) for count in certificates]
    spare = clients - sum(needed)
    if spare < 0:
        raise ValueError(f"{clients} clients cannot hold the CBs' certificates ({sum(needed)} needed)")
    total = sum(certificates) or 1
    shares = [spare * count / total for count in certificates]
    extra = [int(share) for share in shares]
    by_remainder = sorted(range(len(shares)), key=lambda i: extra[i] - shares[i])
    for i in by_remainder[:spare - sum(extra)]:
        extra[i] += 1
    return [n + e for n, e in zip(needed, extra, strict=True)]


def _own_policy(rng: random.Random) -> dict[str, Any]:
    """A CB that saved its own policy: other deadlines and numbering template (F3, C4)."""
    body, number = rng.choice(ACCREDITATION)
    return {**POLICY_DEFAULTS, "response_due_days": rng.choice([7, 10, 14, 21, 30]),
            "major_closure_days": rng.choice([60, 90]), "minor_closure_days": rng.choice([None, 90, 180]),
            "numbering_template": rng.choice(TEMPLATES), "accreditation_body": body, "accreditation_number": number}


# --------------------------------------------------------------------------- a client's history, planned


@dataclass(slots=True)
class AuditPlan:
    type: str
    planned_on: date
    planned_start: date
    planned_end: date
    schemes: list[int]
    status: str = "planned"
    findings: int = 0
    id: str = ""  # set when written
    lead: int = 0  # index into the CB's auditors
    started: int = 0
    completed: int = 0


@dataclass(slots=True)
class CertificatePlan:
    scheme: int
    fate: str  # active, suspended, withdrawn or expired: its status today
    fate_at: int  # when it took that status (0 for active)


@dataclass(slots=True)
class ClientPlan:
    index: int
    onboarded: date
    schemes: list[int]
    audits: list[AuditPlan]
    certificates: list[CertificatePlan]
    grant: date | None = None
    renewed: int = 0  # when the renewal decision was taken (0: none)
    expired: date | None = None  # when the daily sweep expired its certificates (not recertified)

    @property
    def eligible(self) -> list[AuditPlan]:
        """Audits findings are raised on: stage 2, surveillance and recertification, started by today."""
        return [a for a in self.audits if a.status != "planned" and a.type != "stage1"]

    @property
    def active(self) -> list[int]:
        """The certificates active today: mark licences rest on these only (M1)."""
        return [k for k, certificate in enumerate(self.certificates) if certificate.fate == "active"]


def plan_client(index: int, certificates: int, today: date, seed: int, *, forced: bool) -> ClientPlan:
    """The dates of a client's certification history (C1, C4, C6, C7), from its own seeded generator: the same
    plan whenever it is asked for. ``forced``: a surveillance audit is in progress today (for the load runner)."""
    rng = random.Random(f"{seed}/client/{index}")
    delays = [rng.randint(14, 35), rng.randint(0, 1), rng.randint(21, 45), rng.randint(1, 3), rng.randint(14, 30)]
    lead_time = timedelta(days=sum(delays))
    if not certificates:
        onboarded = today - timedelta(days=rng.randint(10, 110))  # still in the pipeline
    elif forced:
        onboarded = today + timedelta(days=rng.randint(5, 20)) - relativedelta(months=12) - lead_time
    else:
        onboarded = today - timedelta(days=rng.randint(lead_time.days + 1, HISTORY_DAYS))
    schemes = weighted_sample(rng, WEIGHTS, certificates or rng.randint(1, 2))
    stage1 = onboarded + timedelta(days=delays[0])
    stage2 = stage1 + timedelta(days=delays[1] + delays[2])
    plan = ClientPlan(index, onboarded, schemes, [
        AuditPlan("stage1", onboarded + timedelta(days=rng.randint(1, 5)), stage1, stage1 + timedelta(days=delays[1]),
                  schemes),
        AuditPlan("stage2", stage1 + timedelta(days=delays[1] + rng.randint(1, 5)), stage2,
                  stage2 + timedelta(days=delays[3]), schemes),
    ], [])
    if certificates:
        plan.grant = stage2 + timedelta(days=delays[3] + delays[4])
        _plan_cycles(plan, rng, today, forced)
        _plan_fates(plan, rng, today)
    plan.audits = [a for a in plan.audits if a.planned_on < today and a.schemes]
    for audit in plan.audits:
        audit.status = "completed" if audit.planned_end < today else "in_progress" if audit.planned_start < today \
            else "planned"
    return plan


def _plan_cycles(plan: ClientPlan, rng: random.Random, today: date, forced: bool) -> None:
    """Surveillance audits before each due date; at the end of the first cycle, recertification and renewal
    (most clients) or expiry by the daily sweep."""
    scheme = plan.schemes[0]  # the shipped schemes share one cycle: 36 months, surveillance every 12
    start, cycle = plan.grant, 1
    while True:
        expiry = expiry_of(scheme, start)
        for due in dues_of(scheme, start):
            begin = due - timedelta(days=rng.randint(5, 30))
            length = rng.randint(0, 2)
            if forced and cycle == 1 and not plan.audits[2:]:
                begin, length = today - timedelta(days=1), 2
            plan.audits.append(AuditPlan("surveillance", begin - timedelta(days=rng.randint(30, 60)), begin,
                                         begin + timedelta(days=length), plan.schemes))
        if cycle == 2 or (expiry - today).days > 150:
            return
        if rng.random() < 0.85:
            begin = expiry - timedelta(days=rng.randint(45, 90))
            end = begin + timedelta(days=rng.randint(1, 3))
            plan.audits.append(AuditPlan("recertification", begin - timedelta(days=rng.randint(30, 60)), begin, end,
                                         plan.schemes))
            decided = end + timedelta(days=rng.randint(7, 21))
            if decided < today:
                plan.renewed, start, cycle = work_time(rng, decided), expiry + timedelta(days=1), 2
                continue
        elif expiry + timedelta(days=1) < today:
            plan.expired = expiry + timedelta(days=1)
        return


def _plan_fates(plan: ClientPlan, rng: random.Random, today: date) -> None:
    """Each certificate's status today: a few withdrawn or suspended (C7, C8), expired with the client's cycle.
    A withdrawn certificate's scheme leaves the audits planned after its withdrawal."""
    last_active = (plan.expired or today) - timedelta(days=1)
    for scheme in plan.schemes:
        draw = rng.random()
        active_days = (last_active - plan.grant).days
        suspend_from = max(plan.grant + timedelta(days=1), today - timedelta(days=80))
        if draw < 0.03 and active_days > 60:
            fate = CertificatePlan(scheme, "withdrawn",
                                   work_time(rng, plan.grant + timedelta(days=rng.randint(60, active_days))))
            for audit in plan.audits:
                if moment(audit.planned_on, 0) > fate.fate_at:
                    audit.schemes = [s for s in audit.schemes if s != scheme]
        elif draw < 0.045 and not plan.expired and suspend_from < today:
            day = suspend_from + timedelta(days=rng.randint(0, (today - suspend_from).days - 1))
            fate = CertificatePlan(scheme, "suspended", work_time(rng, day))
        elif plan.expired:
            fate = CertificatePlan(scheme, "expired", moment(plan.expired, 0.1))
        else:
            fate = CertificatePlan(scheme, "active", 0)
        plan.certificates.append(fate)
    if not any(c.fate != "withdrawn" or c.fate_at > plan.renewed for c in plan.certificates):
        plan.renewed = 0  # every certificate was withdrawn before the renewal: no renewal decision


@dataclass(frozen=True)
class Quotas:
    """Per client (global index): certificates, findings and licences; risks per register-holding client."""

    certificates: list[int]
    findings: list[int]
    licences: list[int]
    risks: dict[int, int]


def plan_quotas(sizes: Sizes, cbs: list[CbPlan], today: date, seed: int, rng: random.Random) -> Quotas:
    """Exact totals spread over the clients: certificates within each CB, then findings over the audits their
    plans leave open to findings, licences over active certificates, risks over the registers."""
    certificates: list[int] = []
    for cb in cbs:
        counts = spread(cb.certificates, [1] * len(cb.clients), [MAX_CERTIFICATES_PER_CLIENT] * len(cb.clients), rng)
        if cb.index == 0 and cb.certificates:
            ensure_one(counts, 0)  # client 0 has the surveillance audit in progress the load runner raises on
        certificates += counts
    plans = (plan_client(index, count, today, seed, forced=index == 0) for index, count in enumerate(certificates))
    eligible, active = zip(*((len(plan.eligible), len(plan.active)) for plan in plans), strict=True)
    findings = spread(sizes.findings, eligible, [FINDINGS_PER_AUDIT * count for count in eligible], rng)
    if sizes.findings:
        ensure_one(findings, 0)
    registers = range(0, sizes.clients, REGISTER_EVERY)
    rest = sizes.risks - sizes.big_register_risks
    others = spread(rest, [rng.randint(1, 10) for _ in registers[1:]], [rest] * len(registers[1:]), rng)
    return Quotas(certificates, findings, spread(sizes.licences, active, active, rng),
                  {0: sizes.big_register_risks, **dict(zip(registers[1:], others, strict=True))})
