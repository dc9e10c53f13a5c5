"""Risk registers (R1-R5): one client in four keeps one, its admin identifies risks over the years and assesses
them with the default criteria (levels from the criteria matrix), decides treatments and re-assesses when
reviews fall due. A register is its own story, written after its CB's: only the client's own chain orders it."""
from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from bench.dataset.clock import HOUR, day_of, iso, iso_day, later, work_time
from bench.dataset.story import Scheduler
from bench.dataset.tenants import ClientBase
from bench.dataset.trail import stamped, user
from grc.risks.criteria import DEFAULT as DEFAULT_CRITERIA
from grc.risks.models import RiskCriteria
from grc.risks.service import BASES
from grc.risks.service import TREATMENTS as TREATMENT_ORDER

RISKS = [("Information security", "Ransomware encrypts production systems"),
         ("Information security", "Phishing leads to credential theft"),
         ("Supply chain", "Single-source supplier fails to deliver"),
         ("Supply chain", "Raw material prices rise sharply"),
         ("Operational", "Key machine breaks down without spare parts"),
         ("Operational", "Loss of key staff in production planning"),
         ("Compliance", "New regulation is missed"), ("Compliance", "Licence conditions are breached"),
         ("Financial", "Major customer pays late"), ("Strategic", "Competitor launches a cheaper product"),
         ("Health and safety", "Forklift collision in the warehouse"),
         ("Environmental", "Chemical spill reaches the drainage"),
         ("Business continuity", "Power outage stops the data centre"),
         ("Information security", "Personal data disclosed by mistake")]
TREATMENTS = ("change_likelihood", "change_consequence", "remove_source", "share", "avoid")
RISK_INITIAL: dict[str, Any] = {
    "status": "identified", "closed_on": None, "criteria_version": None, "above_appetite": False,
    "treatment_options": [], "next_review_on": None,
    **{f"{basis}_{part}": None for basis in BASES for part in ("likelihood", "consequence", "level")},
}
RATING_WEIGHTS = [10, 20, 30, 25, 15]  # likelihood and consequence 1..5: mostly in the middle
RiskStep = tuple[int, dict[str, Any], dict[str, Any] | None]  # when, the risk's new values, an assessment's ratings


def ratings_of(criteria: RiskCriteria, *pairs: tuple[int, int]) -> dict[str, dict[str, Any]]:
    """R3: inherent, current and target ratings with score and level derived from the criteria matrix."""
    return {basis: {"likelihood": likelihood, "consequence": consequence, "score": likelihood * consequence,
                    "level": criteria.level_of(likelihood, consequence)}
            for basis, (likelihood, consequence) in zip(BASES, pairs, strict=True)}


def assessed(criteria: RiskCriteria, ratings: dict[str, dict[str, Any]], when: int) -> dict[str, Any]:
    """What an assessment writes on the risk (``_apply``): its ratings, the appetite test and the next review."""
    level = ratings["current"]["level"]
    interval = next(entry["review_interval_days"] for entry in criteria.levels if entry["name"] == level)
    values = {f"{basis}_{part}": ratings[basis][part] for basis in BASES for part in ("likelihood", "consequence")}
    return {**values, **{f"{basis}_level": ratings[basis]["level"] for basis in BASES},
            "criteria_version": criteria.version,
            "above_appetite": criteria.rank(level) > criteria.rank(criteria.appetite),
            "next_review_on": iso_day(day_of(when) + timedelta(days=interval))}


def risk_history(rng: random.Random, identified: int, end: int, criteria: RiskCriteria) -> Iterator[RiskStep]:
    """A risk's life after identification, in time order (the caller stops at ``end``): assessed within days;
    above appetite, a treatment decision, treatment and a re-assessment at the target (R4); within appetite,
    monitoring; a few closed; the rest re-assessed when their review fell due, most of them in time (R5)."""
    inherent = (rng.choices(range(1, 6), RATING_WEIGHTS)[0], rng.choices(range(1, 6), RATING_WEIGHTS)[0])
    current = (max(1, inherent[0] - rng.randint(0, 2)), max(1, inherent[1] - rng.randint(0, 1)))
    target = (max(1, current[0] - rng.randint(0, 2)), current[1])
    if rng.random() < 0.03:
        return  # identified, not assessed yet
    ratings = ratings_of(criteria, inherent, current, target)
    when = last = later(rng, identified, 1, 4)
    values = assessed(criteria, ratings, when)
    yield when, {"status": "assessed", **values}, ratings
    if values["above_appetite"] and rng.random() < 0.85:
        when = later(rng, when, 7, 30)
        options = sorted(rng.sample(TREATMENTS, rng.randint(1, 2)), key=TREATMENT_ORDER.index)
        yield when, {"status": "treatment_planned", "treatment_options": options}, None
        if rng.random() < 0.6:
            when = later(rng, when, 14, 60)
            yield when, {"status": "in_treatment"}, None
            if rng.random() < 0.5:
                ratings = ratings_of(criteria, inherent, target, target)
                when = last = later(rng, when, 30, 120)
                values = assessed(criteria, ratings, when)
                yield when, values, ratings
                when = later(rng, when, 1, 10)
                yield when, {"status": "monitored"}, None
    elif not values["above_appetite"] and rng.random() < 0.5:
        when = later(rng, when, 10, 60)
        yield when, {"status": "monitored"}, None
    if rng.random() < 0.06:
        when = later(rng, when, 30, 400)
        yield when, {"status": "closed", "closed_on": iso_day(day_of(when))}, None
        return
    interval = (date.fromisoformat(values["next_review_on"]) - day_of(last)).days
    if values["next_review_on"] < iso_day(day_of(end)) and rng.random() < 0.85:
        earliest = max(day_of(max(when, last)) + timedelta(days=1), day_of(end) - timedelta(days=interval))
        if earliest < day_of(end):
            when = work_time(rng, earliest + timedelta(days=rng.randint(0, (day_of(end) - earliest).days - 1)))
            yield when, assessed(criteria, ratings, when), ratings


@dataclass(slots=True)
class RiskState:
    id: str
    values: dict[str, Any]
    steps: list[RiskStep]
    position: int = 0


class RegisterStory:
    """A client's risk register: risks identified over the years and assessed with the client's default criteria,
    saved as version 1 on first use (``criteria.in_force``). Written after the CB's history, as only the client's
    own chain orders it."""

    def __init__(self, client: ClientBase, risks: int) -> None:
        self.client, self.run, self.risks = client, client.run, risks
        self.rng = random.Random(f"{client.run.seed}/register/{client.plan.index}")
        self.sched = Scheduler(client.run.rec.loader.checkpoint)
        self.id = ""
        self.criteria_written = False
        first = client.plan.onboarded + timedelta(days=1)
        latest = max(first, client.run.today - timedelta(days=40))
        self.opened = work_time(self.rng, first + timedelta(days=self.rng.randint(0, min(200, (latest - first).days))))

    def write(self) -> None:
        """The register's whole history, then the counter ``create_risk`` goes on numbering references from."""
        self.sched.at(self.opened, self.open)
        self.sched.run()
        rec = self.run.rec
        if self.risks:
            rec.row("counters", {"tenant_id": self.client.id, "name": f"risk-register-{self.id}", "value": self.risks})

    def open(self, _: Any) -> None:
        """``create_register`` by the client's admin, who owns it and every risk in it."""
        rec, client = self.run.rec, self.client
        self.id = rec.ids.new(self.opened)
        row = {"tenant_id": client.id, "name": "Enterprise risk register",
               "scope": f"Risks to the objectives of {client.org.name}: {client.activity}",
               "internal_context": "Two sites, one management system, growing headcount.",
               "external_context": "Demanding customers, new regulation and tight supply markets.",
               "owner_id": client.admin.id, "archived": False}
        rec.created(client.chain, "risk_registers", stamped(row, self.id, self.opened, self.opened), self.opened,
                    user(client.admin.id))
        if client.plan.index == 0:
            self.run.picks.register = {"id": self.id, "client_id": client.id, "admin_email": client.admin.email,
                                       "risks": self.risks}
        self._schedule_identification(0)

    def _schedule_identification(self, n: int) -> None:
        """Risks are identified evenly over the register's life, each at a random moment of its slot."""
        if n < self.risks:
            span = self.run.end - self.opened - 2 * HOUR
            when = self.opened + HOUR + int((n + self.rng.random()) * span / self.risks)
            self.sched.at(when, self.identify, (n, when))

    def identify(self, arg: tuple[int, int]) -> None:
        """``create_risk``: the next reference, the risk as its history leaves it, then each step at its time."""
        (n, when), rec, client, run = arg, self.run.rec, self.client, self.run
        category, title = RISKS[self.rng.randrange(len(RISKS))]
        steps = list(itertools.takewhile(lambda step: step[0] < run.end,
                                         risk_history(self.rng, when, run.end, run.criteria)))
        final = RISK_INITIAL.copy()
        for _, values, _ in steps:
            final.update(values)
        risk_id = rec.ids.new(when)
        row = {"tenant_id": client.id, "register_id": self.id, "reference": f"R-{n + 1:03d}", "title": title,
               "description": f"{title} at {client.org.name}.", "category": category,
               "causes": "Single points of failure and missing controls.",
               "consequences": "Delivery delays, lost customers and regulatory exposure.",
               "owner_id": client.admin.id, "identified_on": iso_day(day_of(when)), **final}
        updated = steps[-1][0] if steps else when
        rec.created(client.chain, "risks", stamped(row, risk_id, when, updated, 1 + len(steps)), when,
                    user(client.admin.id), initial=RISK_INITIAL)
        if steps:
            self.sched.at(steps[0][0], self.step, RiskState(risk_id, RISK_INITIAL.copy(), steps))
        if client.plan.index == 0 and final["status"] != "closed" and run.picks.risk is None:
            run.picks.risk = {"id": risk_id, "version": 1 + len(steps), "register_id": self.id,
                              "reference": row["reference"], "status": final["status"]}
        self._schedule_identification(n + 1)

    def step(self, state: RiskState) -> None:
        """An assessment (``assess``: the assessment row, then the risk) or a change of status (``update_risk``)."""
        rec, client = self.run.rec, self.client
        when, values, ratings = state.steps[state.position]
        actor = user(client.admin.id)
        if ratings is not None:
            self._criteria_in_force(when)
            rec.created(client.chain, "risk_assessments", {
                "id": rec.ids.new(when), "tenant_id": client.id, "risk_id": state.id, "register_id": self.id,
                "criteria_version": self.run.criteria.version, "ratings": ratings,
                "rationale": "Rated against the criteria matrix after a workshop with the process owners.",
                "assessed_by": client.admin.id, "assessed_at": iso(when)}, when, actor)
        diff = {key: [state.values[key], value] for key, value in values.items() if state.values[key] != value}
        state.values.update(values)
        rec.changed(client.chain, "risks", state.id, diff, when, actor)
        state.position += 1
        if state.position < len(state.steps):
            self.sched.at(state.steps[state.position][0], self.step, state)

    def _criteria_in_force(self, when: int) -> None:
        """R1: the default criteria, saved as the client's version 1 by its first assessment."""
        if self.criteria_written:
            return
        self.criteria_written = True
        rec, client, criteria = self.run.rec, self.client, self.run.criteria
        row = {"id": rec.ids.new(when), "tenant_id": client.id, "version": criteria.version,
               **{key: getattr(criteria, key) for key in DEFAULT_CRITERIA}, "created_by": client.admin.id,
               "created_at": iso(when)}
        rec.created(client.chain, "risk_criteria", row, when, user(client.admin.id))
