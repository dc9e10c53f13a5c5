"""A client's certification with its CB (C1-C8): audits planned, started and completed, grant, renewal,
suspension, withdrawal and expiry decisions, the certificates numbered from the CB's template with their
revisions and history events. ``CertificationHistory`` is the certification part of ``clients.ClientStory``."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from types import SimpleNamespace
from typing import Any

from bench.dataset.clock import MINUTE, day_of, iso, iso_day, moment
from bench.dataset.plan import AuditPlan, CertificatePlan, ClientPlan
from bench.dataset.schemes import SCHEME_IDS, SCHEMES, dues_of, expiry_of
from bench.dataset.tenants import ClientBase, Person
from bench.dataset.trail import SYSTEM, Actor, stamped, user
from grc.certification.service import revision_content

SCOPES = {
    "ISO 9001": "Design and delivery of {}", "ISO/IEC 27001": "Information security management for {}",
    "ISO 14001": "Environmental management of {}", "ISO 45001": "Occupational health and safety in {}",
    "ISO 22301": "Business continuity of {}", "ISO/IEC 20000-1": "IT service management supporting {}",
    "ISO 50001": "Energy management of {}", "ISO/IEC 27701": "Privacy information management for {}",
}
OBJECTIVES = {"stage1": "Review the documented management system and readiness for stage 2.",
              "stage2": "Evaluate implementation and effectiveness of the management system.",
              "surveillance": "Confirm continued conformity and the effectiveness of changes.",
              "recertification": "Confirm continued conformity and relevance for a new cycle."}

SUSPENSION = timedelta(days=90)  # within the default 183-day maximum (C8)
OUTCOMES = {"suspended": "suspend", "withdrawn": "withdraw"}


def certificate_outcome(plan: ClientPlan, certificate: CertificatePlan) -> tuple[dict[str, Any], int, int]:
    """A certificate's values as its history leaves them today, its version and its last update: the fold of the
    updates ``ClientStory`` writes one by one (surveillance audits moving ``surveillance_due`` on, the renewal,
    the status change)."""
    scheme = certificate.scheme
    renewed = plan.renewed and not (certificate.fate == "withdrawn" and certificate.fate_at < plan.renewed)
    first_expiry = expiry_of(scheme, plan.grant)
    start = first_expiry + timedelta(days=1) if renewed else plan.grant
    surveillances = [a for a in plan.audits
                     if a.type == "surveillance" and a.status == "completed" and certificate.scheme in a.schemes]
    done = sum(a.planned_end >= start for a in surveillances)
    dues = dues_of(scheme, start)
    updates = [moment(a.planned_end, 17.5) for a in surveillances] + ([plan.renewed] if renewed else []) \
        + ([certificate.fate_at] if certificate.fate != "active" else [])
    suspended = day_of(certificate.fate_at) if certificate.fate == "suspended" else None
    values = {"status": certificate.fate, "issue_date": iso_day(day_of(plan.renewed) if renewed else plan.grant),
              "expiry_date": iso_day(expiry_of(scheme, start)), "suspended_on": iso_day(suspended),
              "suspended_until": iso_day(suspended and suspended + SUSPENSION), "flagged_for_withdrawal": False,
              "expired_on": iso_day(plan.expired if certificate.fate == "expired" else None),
              "surveillance_due": iso_day(dues[done] if done < len(dues) else None), "revision": 2 if renewed else 1}
    return values, 1 + len(updates), max(updates, default=0)


@dataclass(slots=True)
class CertState:
    """A certificate as the story has written it so far (the updates are computed from it)."""

    plan: CertificatePlan
    id: str
    number: str
    revision_id: str
    status: str
    cycle_start: date
    due: date | None
    done: int = 0  # surveillance audits completed in the current cycle


class CertificationHistory(ClientBase):
    """The client's audits and certificates, each action at its time in the CB's scheduler."""

    __slots__ = ()

    def plan_audit(self, audit: AuditPlan) -> None:
        """A manager plans the audit with a lead auditor and maybe a second one (``create_audit``)."""
        rng, rec, office, when = self.rng, self.run.rec, self.office, moment(audit.planned_on, 10.0)
        audit.id, audit.lead = rec.ids.new(when), rng.randrange(len(office.auditors))
        team = [office.auditors[audit.lead]]
        if rng.random() < 0.25 and len(office.auditors) > 1:
            team.append(rng.choice([a for a in office.auditors if a is not team[0]]))
        audit.started = moment(audit.planned_start, 8.5) if audit.status != "planned" else 0
        audit.completed = moment(audit.planned_end, 17.5) if audit.status == "completed" else 0
        row = {"tenant_id": office.id, "client_tenant_id": self.id, "type": audit.type, "status": audit.status,
               "planned_start": iso_day(audit.planned_start), "planned_end": iso_day(audit.planned_end),
               "started_at": iso(audit.started) if audit.started else None,
               "completed_on": iso_day(audit.planned_end) if audit.completed else None, "sites": [],
               "objectives": OBJECTIVES[audit.type], "lead_auditor_id": team[0].id}
        version = 1 + bool(audit.started) + bool(audit.completed)
        manager = user(office.manager().id)
        rec.created(office.chain, "audits", stamped(row, audit.id, when, audit.completed or audit.started or when,
                                                    version), when, manager,
                    initial={"status": "planned", "started_at": None, "completed_on": None})
        for scheme in audit.schemes:
            rec.link("audit_schemes", audit.id, SCHEME_IDS[scheme])
        for member in team:
            rec.created(office.chain, "audit_team_members", {
                "id": rec.ids.new(when), "tenant_id": office.id, "audit_id": audit.id, "client_tenant_id": self.id,
                "user_id": member.id, "name": member.name, "is_lead": member is team[0]}, when, manager)
        if office.plan.index == 0 and audit.status == "in_progress" and self.run.picks.audit is None:
            scheme = SCHEMES[audit.schemes[0]]
            self.run.picks.audit = {"id": audit.id, "type": audit.type, "client_id": self.id,
                                    "auditor_email": team[0].email, "scheme_id": SCHEME_IDS[audit.schemes[0]],
                                    "clause": scheme.clauses[0]["number"]}

    def start_audit(self, audit: AuditPlan) -> None:
        """The lead starts it (the findings it raises are scheduled by ``findings.FindingHistory``)."""
        lead = self.office.auditors[audit.lead]
        self.run.rec.changed(self.office.chain, "audits", audit.id,
                             {"status": ["planned", "in_progress"], "started_at": [None, iso(audit.started)]},
                             audit.started, user(lead.id), "audit.started")

    def complete_audit(self, audit: AuditPlan) -> None:
        """The lead completes it; a surveillance audit moves its certificates' next due date on (C6)."""
        actor = user(self.office.auditors[audit.lead].id)
        self.run.rec.changed(self.office.chain, "audits", audit.id, {
            "status": ["in_progress", "completed"], "completed_on": [None, iso_day(audit.planned_end)]},
            audit.completed, actor, "audit.completed")
        if audit.type == "surveillance":
            for certificate in self.certs:
                if certificate.plan.scheme in audit.schemes:
                    self._refresh_due(certificate, audit.planned_end, audit.completed, actor)

    def _refresh_due(self, certificate: CertState, completed_on: date, when: int, actor: Actor) -> None:
        """``derive_surveillance_due``: the cycle's due dates, one skipped per surveillance audit completed."""
        if completed_on >= certificate.cycle_start:
            certificate.done += 1
        dues = dues_of(certificate.plan.scheme, certificate.cycle_start)
        due = dues[certificate.done] if certificate.done < len(dues) else None
        if due != certificate.due:
            self.run.rec.changed(self.office.chain, "certificates", certificate.id,
                                 {"surveillance_due": [iso_day(certificate.due), iso_day(due)]}, when, actor)
            certificate.due = due

    def grant(self, _: Any) -> None:
        """One grant decision per scheme, by a manager off the audit team (C2), relying on stage 1 and 2 (C1)."""
        manager = self.office.manager()
        for k, certificate in enumerate(self.plan.certificates):
            self._issue(certificate, moment(self.plan.grant, 11.0) + 2 * k * MINUTE, manager)

    def _issue(self, certificate: CertificatePlan, when: int, manager: Person) -> None:
        """``_grant``: the decision, the certificate numbered from the CB's template (C4) and written with its
        values of today, its first revision (C5) and its history event."""
        plan, rec, office = self.plan, self.run.rec, self.office
        scheme = SCHEMES[certificate.scheme]
        final, version, updated = certificate_outcome(plan, certificate)
        state = CertState(certificate, rec.ids.new(when), office.next_certificate_number(scheme, plan.grant.year),
                          rec.ids.new(when), "active", plan.grant, None)
        decision = self._decision("grant", state, when, manager, [plan.audits[0].id, plan.audits[1].id],
                                  "Stage 1 and stage 2 completed; no nonconformity blocks certification.")
        state.due = dues_of(certificate.scheme, plan.grant)[0]
        expiry = expiry_of(certificate.scheme, plan.grant)
        row = {"tenant_id": office.id, "client_tenant_id": self.id, "scheme_id": SCHEME_IDS[certificate.scheme],
               "number": state.number, "original_issue_date": iso_day(plan.grant), "transferred_from": None, **final}
        rec.created(office.chain, "certificates", stamped(row, state.id, when, max(when, updated), version),
                    when, user(manager.id), initial={
                        "status": "active", "issue_date": iso_day(plan.grant), "expiry_date": iso_day(expiry),
                        "suspended_on": None, "suspended_until": None, "expired_on": None, "revision": 1,
                        "surveillance_due": iso_day(state.due)})
        renewed = final["revision"] == 2
        self._revision(state, state.revision_id, 1, plan.grant, expiry, when, manager, "initial certification",
                       superseded=day_of(plan.renewed) if renewed else None)
        self._certificate_event(state, when, manager.id, "granted", None, "active", decision["rationale"],
                                decision["id"])
        self.certs.append(state)
        if office.plan.index == 0 and final["status"] == "active" and self.run.picks.certificate is None:
            self.run.picks.certificate = {"cb_slug": office.plan.slug, "number": state.number, "status": "active"}

    def renew(self, _: Any) -> None:
        """C6: recertification keeps the number, issues revision 2 and extends the expiry by a cycle."""
        plan, rec, office = self.plan, self.run.rec, self.office
        manager = office.manager()
        audit = next(a for a in plan.audits if a.type == "recertification")
        for k, state in enumerate(s for s in self.certs if s.status != "withdrawn"):
            when = plan.renewed + 2 * k * MINUTE
            scheme, day = state.plan.scheme, day_of(plan.renewed)
            old_expiry = expiry_of(scheme, plan.grant)
            state.cycle_start, state.done = old_expiry + timedelta(days=1), 0
            expiry, due = expiry_of(scheme, state.cycle_start), dues_of(scheme, state.cycle_start)[0]
            decision = self._decision("renew", state, when, manager, [audit.id],
                                      "Recertification audit completed; continued conformity confirmed.")
            old_revision, state.revision_id = state.revision_id, rec.ids.new(when)
            self._revision(state, state.revision_id, 2, day, expiry, when, manager, "recertification", superseded=None)
            self._certificate_event(state, when, manager.id, "renewed", state.status, state.status,
                                    decision["rationale"], decision["id"])
            rec.changed(office.chain, "certificates", state.id, {
                "issue_date": [iso_day(plan.grant), iso_day(day)],
                "expiry_date": [iso_day(old_expiry), iso_day(expiry)], "revision": [1, 2],
                "surveillance_due": [iso_day(state.due), iso_day(due)]}, when, user(manager.id), "certificate.renewed")
            rec.changed(office.chain, "certificate_revisions", old_revision, {"superseded_on": [None, iso_day(day)]},
                        when, user(manager.id))
            state.due = due

    def change_status(self, k: int) -> None:
        """C7, C8: a manager suspends (for 90 days) or withdraws one certificate, with a decision and a reason."""
        state = self.certs[k]
        fate, when, manager = state.plan.fate, state.plan.fate_at, self.office.manager()
        reason = {"suspended": "Major nonconformity not closed within the agreed time.",
                  "withdrawn": "The client asked to end the certification."}[fate]
        decision = self._decision(OUTCOMES[fate], state, when, manager, [], reason)
        self._certificate_event(state, when, manager.id, fate, state.status, fate, reason, decision["id"])
        changes: dict[str, list[Any]] = {"status": [state.status, fate]}
        if fate == "suspended":
            day = day_of(when)
            changes |= {"suspended_on": [None, iso_day(day)], "suspended_until": [None, iso_day(day + SUSPENSION)]}
        self.run.rec.changed(self.office.chain, "certificates", state.id, changes, when, user(manager.id),
                             f"certificate.{fate}")
        state.status = fate

    def expire(self, _: Any) -> None:
        """C7: the daily sweep expires the active certificates the client did not recertify."""
        day = self.plan.expired
        for k, state in enumerate(s for s in self.certs if s.status == "active"):
            when = moment(day, 0.1) + k * 1_000_000
            self._certificate_event(state, when, None, "expired", "active", "expired", "expiry date passed", None)
            self.run.rec.changed(self.office.chain, "certificates", state.id,
                                 {"status": ["active", "expired"], "expired_on": [None, iso_day(day)]}, when, SYSTEM,
                                 "certificate.expired")
            state.status = "expired"

    def _decision(self, outcome: str, state: CertState, when: int, manager: Person, audits: list[str],
                  rationale: str) -> dict[str, Any]:
        """``record_decision``: who decided what, when, on which audits and why (C2)."""
        rec, office = self.run.rec, self.office
        scope = SCOPES.get(SCHEMES[state.plan.scheme].code, "Management system for {}").format(self.activity)
        row = stamped({"tenant_id": office.id, "client_tenant_id": self.id,
                       "scheme_id": SCHEME_IDS[state.plan.scheme], "certificate_id": state.id, "outcome": outcome,
                       "decided_by": manager.id, "decided_on": iso_day(day_of(when)), "rationale": rationale,
                       "scope": scope if outcome in ("grant", "renew") else None, "sites": []},
                      rec.ids.new(when), when, when, None)
        rec.created(office.chain, "certification_decisions", row, when, user(manager.id))
        for audit_id in audits:
            rec.link("decision_audits", row["id"], audit_id)
        return row

    def _revision(self, state: CertState, revision_id: str, number: int, issued: date, expiry: date, when: int,
                  manager: Person, reason: str, superseded: date | None) -> None:
        """C5: the content the service issues (``revision_content``), one row per issue."""
        scheme = SCHEMES[state.plan.scheme]
        shown = SimpleNamespace(number=state.number, scheme=scheme, issue_date=issued, expiry_date=expiry,
                                original_issue_date=self.plan.grant, revision=number)
        scope = SCOPES.get(scheme.code, "Management system for {}").format(self.activity)
        content = revision_content(shown, self.org, self.office.org, scope)  # type: ignore[arg-type]
        self.run.rec.created(self.office.chain, "certificate_revisions", {
            "id": revision_id, "tenant_id": self.office.id, "certificate_id": state.id, "client_tenant_id": self.id,
            "revision": number, "issued_on": iso_day(issued), "superseded_on": iso_day(superseded), "reason": reason,
            "content": content}, when, user(manager.id), initial={"superseded_on": None})

    def _certificate_event(self, state: CertState, when: int, actor_id: str | None, action: str,
                           previous: str | None, status: str, reason: str | None, decision_id: str | None) -> None:
        rec = self.run.rec
        rec.created(self.office.chain, "certificate_events", {
            "id": rec.ids.new(when), "tenant_id": self.office.id, "certificate_id": state.id,
            "client_tenant_id": self.id, "at": iso(when), "actor_id": actor_id, "action": action,
            "from_status": previous, "to_status": status, "reason": reason, "decision_id": decision_id},
            when, user(actor_id) if actor_id else SYSTEM)
