"""A client's whole story: the parts by subject (certification, findings, mark licences) composed into one
object per client, onboarded, then every action of its plan scheduled at its time in the CB's scheduler. The
one place that knows how the parts follow each other."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from bench.dataset.certification import CertificationHistory
from bench.dataset.clock import moment, work_time
from bench.dataset.findings import FindingHistory
from bench.dataset.marks import LicenceHistory
from bench.dataset.plan import AuditPlan, ClientPlan
from bench.dataset.tenants import Office


class ClientStory(CertificationHistory, FindingHistory, LicenceHistory):
    """A client organisation and its certification history with its CB, written event by event in time order
    by the CB's scheduler (C1-C9, F1-F3, M1)."""

    __slots__ = ()

    def __init__(self, office: Office, plan: ClientPlan) -> None:
        super().__init__(office, plan)
        office.sched.at(moment(plan.onboarded, 9.0), self.onboard)

    def onboard(self, _: Any) -> None:
        """``create_client``, then everything its plan holds."""
        self.create_client()
        self._schedule()

    def _schedule(self) -> None:
        """Everything the plan says will happen to the client, each at its time; findings and their steps are
        scheduled later, as their audits start, so that few are pending at once."""
        plan, sched = self.plan, self.office.sched
        self.spread_findings()
        for audit in plan.audits:
            sched.at(moment(audit.planned_on, 10.0), self.plan_audit, audit)
            if audit.status != "planned":
                sched.at(moment(audit.planned_start, 8.5), self.audit_started, audit)
            if audit.status == "completed":
                sched.at(moment(audit.planned_end, 17.5), self.complete_audit, audit)
        if plan.grant:
            sched.at(moment(plan.grant, 11.0), self.grant)
        if plan.renewed:
            sched.at(plan.renewed, self.renew)
        for k, certificate in enumerate(plan.certificates):
            if certificate.fate in ("suspended", "withdrawn"):
                sched.at(certificate.fate_at, self.change_status, k)
        if plan.expired:
            sched.at(moment(plan.expired, 0.1), self.expire)
        for k in range(self.run.quotas.licences[plan.index]):
            day = min(plan.grant + timedelta(days=self.rng.randint(7, 400)), self.run.today - timedelta(days=1))
            when = moment(day, 17.9) if day <= plan.grant + timedelta(days=1) else work_time(self.rng, day)
            sched.at(when, self.grant_licence, (k, when))

    def audit_started(self, audit: AuditPlan) -> None:
        """The lead starts the audit; the findings it will raise are scheduled during its days (F1)."""
        self.start_audit(audit)
        self.schedule_findings(audit)
