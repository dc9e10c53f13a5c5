"""The events people and integrations are told about, and who on each side of a relationship hears them.

An outbox message concerns up to two tenants (its *parties*): the tenant that published it and the tenant
named by ``client_id`` / ``cb_id`` in its payload (the client a CB's certificate is about, the CB that raised a
client's finding). A party hears an event when the event lists one of the roles its tenant kind has; its users
with those roles get an in-app notification (and an e-mail when SMTP is configured), the record's owner
(``owner_id``) always does, and the party's webhook subscriptions to the event type get a signed delivery.
Topics not listed here stay internal (audit trail, integrations through the API).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

CB_MANAGERS = ("cb_admin", "certification_manager")
CLIENT = ("client_admin",)
RISK = ("cb_admin", "client_admin", "risk_manager")
PARTY_KEYS = ("client_id", "cb_id")


@dataclass(frozen=True)
class EventType:
    topic: str
    title: str  # str.format over the payload (missing keys render as "?")
    roles: tuple[str, ...]
    summary: str


def _events(*events: EventType) -> dict[str, EventType]:
    return {event.topic: event for event in events}


def _certificate(action: str, words: str, roles: tuple[str, ...] = CB_MANAGERS + CLIENT) -> EventType:
    return EventType(f"certificate.{action}", f"Certificate {{number}} {words}", roles, f"A certificate was {words}.")


EVENTS: dict[str, EventType] = _events(
    _certificate("granted", "granted"),
    _certificate("renewed", "renewed"),
    _certificate("restored", "restored"),
    _certificate("suspended", "suspended"),
    _certificate("withdrawn", "withdrawn"),
    _certificate("expired", "expired"),
    _certificate("reduce_scope", "reduced in scope"),
    _certificate("extend_scope", "extended in scope"),
    _certificate("transferred_in", "transferred in"),
    _certificate("flagged_for_withdrawal", "flagged for withdrawal (suspension lapsed)", CB_MANAGERS),
    EventType("certificate.expiry_reminder", "Certificate {number} expires on {due_on} ({threshold} days)",
              CB_MANAGERS + CLIENT, "Reminder 90, 60, 30 and 7 days before a certificate expires."),
    EventType("certificate.transfer_requested", "Transfer of certificate {number} requested", CB_MANAGERS,
              "Another CB asked to take over a certificate."),
    EventType("certification.refused", "Certification refused", CB_MANAGERS + CLIENT,
              "A certification decision refused certification."),
    EventType("surveillance.due", "Surveillance audit for certificate {number} due on {due_on} ({threshold} days)",
              ("certification_manager", "client_admin"),
              "Reminder 60, 30 and 7 days before a surveillance audit is due."),
    EventType("surveillance.overdue", "Surveillance audit for certificate {number} overdue since {due_on}",
              CB_MANAGERS, "Escalation: a surveillance audit was not completed by its due date (C6)."),
    EventType("recertification.due", "Recertification of certificate {number} due by {due_on} ({threshold} days)",
              ("certification_manager", "client_admin"), "Reminder 60, 30 and 7 days before recertification is due."),
    EventType("registry.record_refused", "IAF CertSearch refuses certificate {number}: {error}", CB_MANAGERS,
              "G2: the registry refused a certificate's record, or it breaks a registry rule and was not sent."),
    EventType("registry.differences_found", "IAF CertSearch holds {count} differences from our certificates",
              CB_MANAGERS, "G2: the nightly reconciliation found the registry differs from our certificates."),
    EventType("audit.planned", "Audit planned", ("client_admin",), "An audit was planned."),
    EventType("audit.repeat_stage2_required", "Stage 2 must be repeated: a major nonconformity is unverified",
              CB_MANAGERS + CLIENT, "F4: a major from stage 2 stayed unverified for six months."),
    EventType("finding.raised", "Finding {number} ({grade}) raised", CLIENT, "An auditor raised a finding."),
    EventType("finding.response_submitted", "Response to finding {number} submitted",
              ("auditor", "certification_manager"),
              "The client submitted correction, root cause and corrective-action plan."),
    EventType("finding.plan_accepted", "Plan for finding {number} accepted", CLIENT, "The auditor accepted the plan."),
    EventType("finding.plan_rejected", "Plan for finding {number} rejected", CLIENT, "The auditor rejected the plan."),
    EventType("finding.implemented", "Finding {number} implemented", ("auditor",),
              "The client reported implementation."),
    EventType("finding.verified", "Finding {number} verified", CLIENT,
              "The auditor verified the correction effective."),
    EventType("finding.response_overdue", "Response to finding {number} overdue since {due_on}",
              ("certification_manager", "client_admin"), "F3: no response by the response due date."),
    EventType("finding.overdue", "Finding {number} not closed by {due_on}", ("certification_manager", "client_admin"),
              "F3: a finding is past its closure due date."),
    EventType("action.due", "Action due on {due_on}", (), "Reminder to the owner 7 days before an action is due."),
    EventType("action.overdue", "Action overdue since {due_on}", ("cb_admin", "client_admin"),
              "An action passed its due date (its owner and the tenant admins are told)."),
    EventType("risk.review_overdue", "Review of risk {reference} overdue since {due_on}", RISK,
              "R5: a risk passed its next-review date."),
    EventType("risk.acceptance_expired", "Acceptance of risk {reference} expired", RISK,
              "R4: a retained risk's acceptance expired; the risk is back to review."),
    EventType("control.test_overdue", "Test of control {reference} overdue since {due_on}", RISK,
              "R6: a control passed its next test date."),
    EventType("mark_licence.granted", "Mark licence {number} granted", CB_MANAGERS + CLIENT,
              "A mark licence was granted."),
    EventType("mark_licence.suspended", "Mark licence {number} suspended", CB_MANAGERS + CLIENT,
              "A mark licence was suspended (M2)."),
    EventType("mark_licence.withdrawn", "Mark licence {number} withdrawn", CB_MANAGERS + CLIENT,
              "A mark licence was withdrawn (M2)."),
    EventType("mark_licence.active", "Mark licence {number} restored", CB_MANAGERS + CLIENT,
              "A mark licence is valid again."),
    EventType("mark_licence.domain_proven", "Mark licence {number}: {domain} proven", CB_MANAGERS + CLIENT,
              "V4: the licensee proved it controls a domain of the licence; its badge may say VALID there."),
    EventType("mark_licence.domain_proof_lapsed", "Mark licence {number}: {domain} is no longer proven",
              CB_MANAGERS + CLIENT,
              "V4: a domain's re-checks failed for 14 days; its badge no longer says VALID until proven again."),
)


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


def title(event: EventType, payload: dict[str, Any]) -> str:
    return event.title.format_map(_Blank(payload))


def parties(tenant_id: uuid.UUID | None, payload: dict[str, Any]) -> set[uuid.UUID]:
    """The tenants a message concerns: its publisher and the other side named in the payload."""
    found = {uuid.UUID(str(payload[key])) for key in PARTY_KEYS if payload.get(key)}
    return found | ({tenant_id} if tenant_id else set())


def owner(payload: dict[str, Any]) -> uuid.UUID | None:
    """The user who owns the record (an action, a risk, a control) and is told whatever their roles."""
    return uuid.UUID(str(payload["owner_id"])) if payload.get("owner_id") else None
