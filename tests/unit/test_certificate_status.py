"""C7, the certificate status machine: ``grc.certification.service.TRANSITIONS`` is the rule as a table
(change -> the statuses it may start from, the status it leads to) and ``transition`` the one function that
checks and applies it. The certificates here are never stored: the rule needs no database.
"""
from __future__ import annotations

import pytest

from grc.certification.models import Certificate, CertificateStatus
from grc.certification.service import TRANSITIONS, check_transition, transition
from grc.errors import RuleViolation

ACTIVE, SUSPENDED = CertificateStatus.active, CertificateStatus.suspended
EXPIRED, WITHDRAWN = CertificateStatus.expired, CertificateStatus.withdrawn


def certificate(status: CertificateStatus) -> Certificate:
    return Certificate(number="ACME-9001-2026-00001", status=status)


def allowed_from(status: CertificateStatus) -> set[str]:
    return {change for change, (sources, _target) in TRANSITIONS.items() if status in sources}


def test_C7_the_table_is_the_status_machine_of_the_design() -> None:
    """active -> suspended -> active (restore) | withdrawn; active -> withdrawn; active -> expired (by date);
    expired -> active (restore); withdrawn is terminal; renewal keeps an active or suspended certificate's status."""
    assert allowed_from(ACTIVE) == {"suspended", "withdrawn", "expired", "renewed"}
    assert allowed_from(SUSPENDED) == {"restored", "withdrawn", "renewed"}
    assert allowed_from(EXPIRED) == {"restored"}
    assert allowed_from(WITHDRAWN) == set()
    assert {change: target for change, (_sources, target) in TRANSITIONS.items()} == {
        "suspended": SUSPENDED, "restored": ACTIVE, "withdrawn": WITHDRAWN, "expired": EXPIRED, "renewed": None}


def test_C7_a_CB_suspends_restores_then_withdraws_a_certificate() -> None:
    held = certificate(ACTIVE)
    assert transition(held, "suspended") == ACTIVE and held.status == SUSPENDED
    assert transition(held, "restored") == SUSPENDED and held.status == ACTIVE
    assert transition(held, "withdrawn") == ACTIVE and held.status == WITHDRAWN


def test_C7_an_expired_certificate_can_be_restored_but_not_suspended() -> None:
    lapsed = certificate(ACTIVE)
    transition(lapsed, "expired")
    with pytest.raises(RuleViolation) as refused:
        transition(lapsed, "suspended")
    assert refused.value.rule == "C7" and lapsed.status == EXPIRED
    assert transition(lapsed, "restored") == EXPIRED and lapsed.status == ACTIVE


@pytest.mark.parametrize("change", sorted(TRANSITIONS))
def test_C7_withdrawn_is_terminal(change: str) -> None:
    gone = certificate(WITHDRAWN)
    with pytest.raises(RuleViolation) as refused:
        transition(gone, change)
    assert refused.value.rule == "C7"
    assert str(refused.value) == f"A withdrawn certificate cannot be {change}."
    assert gone.status == WITHDRAWN


def test_C7_renewal_keeps_the_status_and_a_refused_change_touches_nothing() -> None:
    suspended = certificate(SUSPENDED)
    assert transition(suspended, "renewed") == SUSPENDED and suspended.status == SUSPENDED
    with pytest.raises(RuleViolation):
        check_transition(certificate(EXPIRED), "renewed")
