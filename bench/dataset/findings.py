"""Findings (F1-F3): raised on stage 2, surveillance and recertification audits while they run, graded, given
their due dates from the CB's policy, and taken through the F2 workflow as far as their age allows, each step
with its finding event and its audit event. ``FindingHistory`` is the findings part of ``clients.ClientStory``."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from bench.dataset.clock import MINUTE, day_of, iso, iso_day, later, moment
from bench.dataset.plan import AuditPlan
from bench.dataset.schemes import SCHEME_IDS, SCHEMES
from bench.dataset.tenants import ClientBase
from bench.dataset.trail import stamped, user
from grc.findings.service import TRANSITIONS

EVIDENCE = ["Sampled records for three of the last five deliveries", "Interview with the process owner on site",
            "Review of the management review minutes", "Inspection of the calibration register",
            "Walk-through of the warehouse and dispatch area", "Review of access rights for two leavers"]
STATEMENTS = {
    "major": "The requirement is not implemented: no evidence of {} for the period sampled.",
    "minor": "The requirement is partly implemented: {} was missing in one sampled case.",
    "observation": "Records of {} are kept but could become inconsistent across sites.",
    "opportunity": "Automating {} would reduce the manual effort.",
}
SUBJECTS = ["competence records", "supplier evaluation", "corrective action follow-up", "internal audit coverage",
            "document control", "risk treatment monitoring", "calibration", "incident reporting"]
FINDING_GRADES = {"surveillance": (["major", "minor", "observation", "opportunity"], [10, 45, 28, 17])}
DECISION_FREE_GRADES = (["minor", "observation", "opportunity"], [50, 30, 20])  # C3: no major before a decision
NONCONFORMITIES = ("major", "minor")
FINDING_WORK = ("correction", "root_cause", "corrective_action_plan", "target_date", "implementation_evidence",
                "verified_on", "closed_on")
RESPONDENT_ACTIONS = ("respond", "implement")
Step = tuple[int, str, dict[str, Any], str | None]  # when, F2 action, what the actor sent, comment


def _clause(rng: random.Random, clause: str) -> str:
    """The clause a finding cites: a top-level clause of the standard, or one of its sub-clauses."""
    return f"{clause}.{rng.randint(1, 4)}" if rng.random() < 0.4 else clause


def finding_workflow(rng: random.Random, grade: str, raised: int, fast: bool, end: int) -> list[Step]:
    """The F2 steps a finding raised at ``raised`` took before ``end``: a response (sometimes late, sometimes
    rejected once), plan review, implementation, verification (sometimes not effective once), closure.
    ``fast``: raised before a decision, whose plan must be accepted in days (C3)."""
    if grade not in NONCONFORMITIES:
        steps = [(later(rng, raised, 3, 60), "close_observation", {}, "Noted")] if rng.random() < 0.9 else []
        return [step for step in steps if step[0] < end]
    steps: list[Step] = []
    when = later(rng, raised, 1, 3) if fast else later(rng, raised, *((15, 40) if rng.random() < 0.08 else (3, 12)))
    steps.append((when, "respond", _response(rng, when, 1), None))
    if not fast and rng.random() < 0.15:
        when = later(rng, when, 2, 10)
        steps.append((when, "reject_plan", {}, "The root cause analysis stops at the symptom."))
        when = later(rng, when, 3, 10)
        steps.append((when, "respond", _response(rng, when, 2), None))
    when = later(rng, when, 1, 3) if fast else later(rng, when, 2, 10)
    steps.append((when, "accept_plan", {}, None))
    for attempt in (1, 2):
        when = later(rng, when, 15, 60)
        steps.append((when, "implement", {"implementation_evidence": f"Records of the actions taken ({attempt})"},
                      None))
        when = later(rng, when, 3, 14)
        if attempt == 2 or rng.random() >= 0.08:
            break
        steps.append((when, "verify_not_effective", {}, "The same gap was found in a new sample."))
    steps.append((when, "verify_effective", {}, None))
    steps.append((later(rng, when, 1, 5), "close", {}, None))
    return [step for step in steps if step[0] < end]


def _response(rng: random.Random, when: int, attempt: int) -> dict[str, Any]:
    subject = rng.choice(SUBJECTS)
    return {"correction": f"Corrected the {subject} found in the sample",
            "root_cause": f"No owner was assigned for {subject}" + (" after the reorganisation" if attempt > 1 else ""),
            "corrective_action_plan": f"Assign an owner, train the team and review {subject} monthly",
            "target_date": iso_day(day_of(when) + timedelta(days=rng.randint(30, 60)))}


def finding_changes(action: str, data: dict[str, Any], when: int) -> dict[str, Any]:
    """What the transition writes on the finding: the actor's fields and the dates the service stamps."""
    target = TRANSITIONS[action][2].value
    stamped_dates = {"verified_on": iso_day(day_of(when))} if target == "verified" else \
        {"closed_on": iso_day(day_of(when))} if target == "closed" else {}
    return {"status": target, **data, **stamped_dates}


@dataclass(slots=True)
class FindingState:
    id: str
    values: dict[str, Any]  # status and workflow fields as written so far
    steps: list[Step]
    auditor: str
    position: int = 0


class FindingHistory(ClientBase):
    """The client's findings, each raised and moved on at its time in the CB's scheduler."""

    __slots__ = ()

    def spread_findings(self) -> None:
        """The client's findings over its audits; the audit in progress of client 0 gets the first."""
        eligible = self.plan.eligible
        for k in range(self.run.quotas.findings[self.plan.index]):
            ongoing = [a for a in eligible if a.status == "in_progress"]
            audit = ongoing[0] if k == 0 and self.plan.index == 0 and ongoing else self.rng.choice(eligible)
            audit.findings += 1

    def schedule_findings(self, audit: AuditPlan) -> None:
        """As the audit starts: the findings it raises, at random moments of its days until yesterday (F1)."""
        last = min(moment(audit.planned_end, 17.0), moment(self.run.today - timedelta(days=1), 17.0))
        for when in sorted(self.rng.randint(audit.started + 30 * MINUTE, last) for _ in range(audit.findings)):
            self.office.sched.at(when, self.raise_finding, (audit, when))

    def raise_finding(self, arg: tuple[AuditPlan, int]) -> None:
        """An auditor raises a finding on the audit; its whole F2 history is known now, so its row is written
        with today's values and each step is scheduled at its own time."""
        audit, when = arg
        rng, rec, office = self.rng, self.run.rec, self.office
        grades, weights = FINDING_GRADES.get(audit.type, DECISION_FREE_GRADES)
        grade = rng.choices(grades, weights)[0]
        if self.plan.index == 0 and audit.status == "in_progress" and self.run.picks.finding is None:
            grade = "minor"  # an open nonconformity the load runner's client can respond to
        scheme = audit.schemes[rng.randrange(len(audit.schemes))]
        clause = rng.choice(SCHEMES[scheme].clauses)
        raised_on, lead = day_of(when), office.auditors[audit.lead]
        steps = finding_workflow(rng, grade, when, audit.type != "surveillance", self.run.end)
        values = dict.fromkeys(FINDING_WORK, None) | {"status": "open"}
        final = values.copy()
        for step_when, action, data, _ in steps:
            final.update(finding_changes(action, data, step_when))
        finding_id = rec.ids.new(when)
        subject = rng.choice(SUBJECTS)
        row = {"tenant_id": office.id, "client_tenant_id": self.id, "audit_id": audit.id,
               "scheme_id": SCHEME_IDS[scheme], "source": "audit", "number": office.next_finding_number(raised_on.year),
               "grade": grade, "clause": _clause(rng, clause["number"]),
               "requirement": f"{SCHEMES[scheme].standard} {clause['number']} {clause['title']}",
               "evidence": rng.choice(EVIDENCE), "statement": STATEMENTS[grade].format(subject),
               "raised_by": lead.id, "raised_on": iso_day(raised_on), **self._due_dates(grade, raised_on), **final}
        rec.created(office.chain, "findings", stamped(row, finding_id, when, steps[-1][0] if steps else when,
                                                      1 + len(steps)), when, user(lead.id), initial=values)
        self._finding_event(finding_id, when, lead.id, "raised", None, "open", None, {})
        state = FindingState(finding_id, values, steps, lead.id)
        if steps:
            office.sched.at(steps[0][0], self.finding_step, state)
        if office.plan.index == 0:
            self._pick_finding(row, finding_id)

    def _due_dates(self, grade: str, raised_on: date) -> dict[str, str | None]:
        """F3 from the CB's policy: response due, major closure due, minor closure due (days, else next audit)."""
        if grade not in NONCONFORMITIES:
            return {"response_due": None, "closure_due": None}
        rules = self.office.plan.rules
        if grade == "major" or rules["minor_closure_days"] is not None:
            days = rules["major_closure_days"] if grade == "major" else rules["minor_closure_days"]
            closure = raised_on + timedelta(days=days)
        else:
            closure = min((a.planned_start for a in self.plan.audits if a.planned_start > raised_on), default=None)
        return {"response_due": iso_day(raised_on + timedelta(days=rules["response_due_days"])),
                "closure_due": iso_day(closure)}

    def finding_step(self, state: FindingState) -> None:
        """One F2 transition (``transition``): the change, its history event and the named audit event."""
        when, action, data, comment = state.steps[state.position]
        actor_id = self.admin.id if action in RESPONDENT_ACTIONS else state.auditor
        changes = finding_changes(action, data, when)
        previous = state.values["status"]
        diff = {key: [state.values[key], value] for key, value in changes.items() if state.values[key] != value}
        state.values.update(changes)
        self._finding_event(state.id, when, actor_id, action, previous, changes["status"], comment, data)
        self.run.rec.changed(self.office.chain, "findings", state.id, diff, when, user(actor_id), f"finding.{action}")
        state.position += 1
        if state.position < len(state.steps):
            self.office.sched.at(state.steps[state.position][0], self.finding_step, state)

    def _finding_event(self, finding_id: str, when: int, actor_id: str, action: str, previous: str | None,
                       status: str, comment: str | None, data: dict[str, Any]) -> None:
        rec = self.run.rec
        rec.created(self.office.chain, "finding_events", {
            "id": rec.ids.new(when), "tenant_id": self.office.id, "finding_id": finding_id,
            "client_tenant_id": self.id, "at": iso(when), "actor_id": actor_id, "action": action,
            "from_status": previous, "to_status": status, "comment": comment, "data": data}, when, user(actor_id))

    def _pick_finding(self, row: dict[str, Any], finding_id: str) -> None:
        """Note a finding of the big CB the load runner can move on, preferring an open nonconformity."""
        picks, status = self.run.picks, row["status"]
        pick = {"id": finding_id, "number": row["number"], "grade": row["grade"], "status": status,
                **self._transition(row["grade"], status)}
        if status == "open" and row["grade"] in NONCONFORMITIES and picks.finding is None:
            picks.finding = pick
        elif status != "closed" and picks.any_finding is None:
            picks.any_finding = pick

    def _transition(self, grade: str, status: str) -> dict[str, str]:
        """The request that moves a finding on from ``status`` (F2) and who may send it."""
        if status in ("open", "plan_rejected") and grade in NONCONFORMITIES:
            return {"transition": "response", "as_email": self.admin.email}
        if status == "plan_accepted":
            return {"transition": "implementation", "as_email": self.admin.email}
        endpoint = {"response_submitted": "plan-review", "implemented": "verification"}.get(status, "close")
        return {"transition": endpoint, "as_email": self.office.auditors[0].email}
