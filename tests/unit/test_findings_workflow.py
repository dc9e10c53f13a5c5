"""F2, the nonconformity workflow: ``grc.findings.service.TRANSITIONS`` is the rule as a table
(action -> side, from states, to state) and ``transition`` the one function that applies it.

The table is read directly; ``transition`` is called on a finding that is never stored, by an auditor (the
verifier side checks only the caller), with a session bound to no database: a move records its history and
queues its event in the session, a refused one raises before anything is touched.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from grc import tenancy
from grc.errors import Forbidden, RuleViolation
from grc.events import OutboxMessage
from grc.findings.models import Finding, FindingSource, FindingStatus, Grade
from grc.findings.service import RESPONDENT, TRANSITIONS, VERIFIER, transition

CB, CLIENT = uuid.uuid4(), uuid.uuid4()
AUDITOR = tenancy.Principal(CB, "certification_body", "user", uuid.uuid4(), frozenset({"auditor"}))
CLIENT_ADMIN = tenancy.Principal(CLIENT, "client_organisation", "user", uuid.uuid4(), frozenset({"client_admin"}))
OTHER_CBS_AUDITOR = tenancy.Principal(uuid.uuid4(), "certification_body", "user", uuid.uuid4(), frozenset({"auditor"}))


def follow(status: FindingStatus, *actions: str) -> FindingStatus:
    """Where the table takes a finding in ``status`` through ``actions``; fails on a move the table refuses."""
    for action in actions:
        _side, sources, target = TRANSITIONS[action]
        assert status in sources, f"'{action}' is not allowed from {status}"
        status = target
    return status


def allowed_from(status: FindingStatus) -> set[str]:
    return {action for action, (_side, sources, _target) in TRANSITIONS.items() if status in sources}


def a_finding(grade: Grade = Grade.major, status: FindingStatus = FindingStatus.open) -> Finding:
    return Finding(tenant_id=CB, client_tenant_id=CLIENT, source=FindingSource.audit, grade=grade, status=status,
                   number="F-2026-00001")


# --------------------------------------------------------------------------- the table


def test_F2_a_nonconformity_is_answered_reviewed_implemented_verified_then_closed() -> None:
    assert follow(FindingStatus.open, "respond") == FindingStatus.response_submitted
    assert follow(FindingStatus.open, "respond", "accept_plan") == FindingStatus.plan_accepted
    assert follow(FindingStatus.open, "respond", "accept_plan", "implement") == FindingStatus.implemented
    assert (follow(FindingStatus.open, "respond", "accept_plan", "implement", "verify_effective")
            == FindingStatus.verified)
    assert (follow(FindingStatus.open, "respond", "accept_plan", "implement", "verify_effective", "close")
            == FindingStatus.closed)


def test_F2_a_rejected_plan_goes_back_to_the_client_who_responds_again() -> None:
    assert follow(FindingStatus.open, "respond", "reject_plan") == FindingStatus.plan_rejected
    assert allowed_from(FindingStatus.plan_rejected) == {"respond"}
    assert follow(FindingStatus.plan_rejected, "respond", "accept_plan") == FindingStatus.plan_accepted


def test_F2_an_implementation_found_not_effective_goes_back_to_plan_accepted() -> None:
    assert follow(FindingStatus.implemented, "verify_not_effective") == FindingStatus.plan_accepted
    assert (follow(FindingStatus.implemented, "verify_not_effective", "implement", "verify_effective", "close")
            == FindingStatus.closed)


def test_F2_observations_and_opportunities_close_straight_from_open() -> None:
    assert follow(FindingStatus.open, "close_observation") == FindingStatus.closed
    assert TRANSITIONS["close_observation"][0] == VERIFIER


def test_F2_the_client_responds_and_implements_the_auditor_reviews_verifies_and_closes() -> None:
    sides = {action: side for action, (side, _sources, _target) in TRANSITIONS.items()}
    assert {action for action, side in sides.items() if side == RESPONDENT} == {"respond", "implement"}
    assert {action for action, side in sides.items() if side == VERIFIER} == {
        "accept_plan", "reject_plan", "verify_effective", "verify_not_effective", "close", "close_observation"}


def test_F2_closed_is_final_and_every_other_status_has_a_way_forward() -> None:
    assert allowed_from(FindingStatus.closed) == set()
    stuck = [status for status in FindingStatus if status != FindingStatus.closed and not allowed_from(status)]
    assert not stuck, f"statuses no action leaves: {stuck}"


# --------------------------------------------------------------------------- transition(), the one function


def test_F2_a_move_records_its_history_and_queues_its_event(acting: Callable[[tenancy.Principal], None]) -> None:
    acting(AUDITOR)
    finding, session = a_finding(status=FindingStatus.response_submitted), Session()  # bound to no database
    transition(session, finding, "accept_plan", comment="a sound plan")
    assert finding.status == FindingStatus.plan_accepted
    [event] = finding.history
    assert (event.action, event.from_status, event.to_status, event.comment) == (
        "accept_plan", "response_submitted", "plan_accepted", "a sound plan")
    assert [message.topic for message in session.new if isinstance(message, OutboxMessage)] == ["finding.plan_accepted"]


def test_F2_verifying_and_closing_date_the_finding(acting: Callable[[tenancy.Principal], None]) -> None:
    acting(AUDITOR)
    finding = a_finding(status=FindingStatus.implemented)
    transition(Session(), finding, "verify_effective")
    assert finding.status == FindingStatus.verified and finding.verified_on is not None and finding.closed_on is None
    transition(Session(), finding, "close")
    assert finding.status == FindingStatus.closed and finding.closed_on is not None


@pytest.mark.parametrize(("status", "action"), [
    (FindingStatus.open, "close"),
    (FindingStatus.open, "accept_plan"),
    (FindingStatus.response_submitted, "verify_effective"),
    (FindingStatus.plan_accepted, "close"),
    (FindingStatus.closed, "reject_plan"),
], ids=lambda value: str(value))
def test_F2_an_action_from_the_wrong_state_is_refused_as_rule_F2(
    acting: Callable[[tenancy.Principal], None], status: FindingStatus, action: str
) -> None:
    acting(AUDITOR)
    finding = a_finding(status=status)
    with pytest.raises(RuleViolation) as refused:
        transition(Session(), finding, action)
    assert refused.value.rule == "F2" and refused.value.status == 409
    assert finding.status == status and not finding.history


def test_F2_a_nonconformity_cannot_be_closed_as_an_observation(acting: Callable[[tenancy.Principal], None]) -> None:
    acting(AUDITOR)
    with pytest.raises(RuleViolation, match="cannot take 'close_observation'"):
        transition(Session(), a_finding(Grade.major), "close_observation")


def test_F2_an_observation_takes_no_nonconformity_step(acting: Callable[[tenancy.Principal], None]) -> None:
    acting(AUDITOR)
    # wherever it is, only close_observation
    observation = a_finding(Grade.observation, status=FindingStatus.implemented)
    with pytest.raises(RuleViolation) as refused:
        transition(Session(), observation, "verify_effective")
    assert refused.value.rule == "F2"
    closed = transition(Session(), a_finding(Grade.opportunity), "close_observation")
    assert closed.status == FindingStatus.closed


@pytest.mark.parametrize("caller", [CLIENT_ADMIN, OTHER_CBS_AUDITOR],
                         ids=["the audited client", "another CB's auditor"])
def test_F2_only_the_cbs_auditors_review_and_verify(
    acting: Callable[[tenancy.Principal], None], caller: tenancy.Principal
) -> None:
    """The side is checked before the state: the wrong side gets 403 even for a move the state allows."""
    acting(caller)
    finding = a_finding(status=FindingStatus.response_submitted)
    with pytest.raises(Forbidden):
        transition(Session(), finding, "accept_plan")
    assert finding.status == FindingStatus.response_submitted
