"""R1, R3-R5: a risk's level is derived from the tenant's criteria, never typed.

The criteria are a ``RiskCriteria`` row built in memory (``level_of``, ``rank``) and checked by
``grc.risks.criteria.validate``; one basis is rated by ``grc.risks.service._rate`` and the ratings are put on a
risk by ``_apply`` (both private: ``assess``, their public caller, also stores the assessment and reads the
criteria in force, which needs a database).
"""
from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest

from grc.db import utcnow
from grc.errors import InvalidField
from grc.risks.criteria import DEFAULT, validate
from grc.risks.models import Risk, RiskCriteria, RiskStatus
from grc.risks.service import _apply, _rate

LEVEL_DAYS = {"low": 365, "medium": 180, "high": 90, "critical": 30}


def criteria(data: dict[str, Any] | None = None, version: int = 1) -> RiskCriteria:
    return RiskCriteria(version=version, **copy.deepcopy(data or DEFAULT))


def traffic_light() -> dict[str, Any]:
    """A tenant's own 3x3 criteria: green, amber, red; appetite amber."""
    scale = [{"level": n, "label": str(n), "description": ""} for n in (1, 2, 3)]
    return {"likelihood_scale": scale, "consequence_scale": copy.deepcopy(scale),
            "levels": [{"name": "green", "review_interval_days": 365}, {"name": "amber", "review_interval_days": 120},
                       {"name": "red", "review_interval_days": 14}],
            "matrix": [["green", "green", "amber"], ["green", "amber", "red"], ["amber", "red", "red"]],
            "appetite": "amber"}


def ratings(**bases: tuple[int, int]) -> dict[str, dict[str, int]]:
    return {basis: {"likelihood": likelihood, "consequence": consequence}
            for basis, (likelihood, consequence) in bases.items()}


# --------------------------------------------------------------------------- R1: the criteria


@pytest.mark.parametrize(("likelihood", "consequence", "level"), [
    (1, 1, "low"), (2, 2, "low"), (1, 4, "low"), (3, 3, "medium"), (2, 4, "medium"), (2, 5, "high"), (4, 4, "high"),
    (3, 5, "high"), (4, 5, "critical"), (5, 5, "critical"),
])
def test_R1_the_default_criteria_are_the_5x5_matrix_of_score_bands(likelihood: int, consequence: int,
                                                                   level: str) -> None:
    """Without criteria of its own a tenant rates on 5x5, low up to a score of 4, medium to 9, high to 16."""
    assert criteria().level_of(likelihood, consequence) == level


def test_R1_the_default_criteria_pass_their_own_validation_and_retain_up_to_medium() -> None:
    validate(copy.deepcopy(DEFAULT))
    default = criteria()
    assert [level["name"] for level in default.levels] == ["low", "medium", "high", "critical"]
    assert default.appetite == "medium"
    assert {level["name"]: level["review_interval_days"] for level in default.levels} == LEVEL_DAYS


def test_R1_a_tenants_own_matrix_decides_the_level() -> None:
    own = traffic_light()
    validate(copy.deepcopy(own))
    assert criteria(own).level_of(3, 1) == "amber"
    assert criteria(own).level_of(2, 3) == "red"


@pytest.mark.parametrize(("broken", "field"), [
    (lambda c: c["likelihood_scale"].pop(), "likelihood_scale"),  # 2 levels: fewer than 3
    (lambda c: c["consequence_scale"][0].update(level=2), "consequence_scale"),  # not numbered 1, 2, 3
    (lambda c: c["levels"].append({"name": "red", "review_interval_days": 7}), "levels"),  # a name twice
    (lambda c: c["matrix"].pop(), "matrix"),  # a row missing
    (lambda c: c["matrix"][0].__setitem__(0, "purple"), "matrix"),  # not a level
    (lambda c: c["matrix"][2].__setitem__(2, "amber"), "matrix"),  # falls as likelihood and consequence rise
    (lambda c: c.update(appetite="orange"), "appetite"),
], ids=["too few levels", "scale numbering", "duplicate level", "matrix shape", "unknown level", "falling level",
        "unknown appetite"])
def test_R1_criteria_that_break_a_rule_are_refused_on_the_field_at_fault(broken: Any, field: str) -> None:
    data = traffic_light()
    broken(data)
    with pytest.raises(InvalidField) as refused:
        validate(data)
    assert list(refused.value.errors or {}) == [field]


# --------------------------------------------------------------------------- R3: derived, never typed


def test_R3_score_and_level_come_from_the_criteria() -> None:
    assert _rate(criteria(), "current", {"likelihood": 3, "consequence": 4}) == {
        "likelihood": 3, "consequence": 4, "score": 12, "level": "high"}
    assert _rate(criteria(traffic_light()), "current", {"likelihood": 3, "consequence": 3})["level"] == "red"


@pytest.mark.parametrize(("rating", "field"), [
    ({"likelihood": 6, "consequence": 1}, "inherent.likelihood"),
    ({"likelihood": 0, "consequence": 1}, "inherent.likelihood"),
    ({"likelihood": 1, "consequence": 6}, "inherent.consequence"),
])
def test_R3_a_rating_off_the_scales_of_the_criteria_version_is_refused(rating: dict[str, int], field: str) -> None:
    with pytest.raises(InvalidField, match="criteria v3") as refused:
        _rate(criteria(version=3), "inherent", rating)
    assert list(refused.value.errors or {}) == [field]


def test_R3_the_same_rating_has_the_level_of_the_version_it_was_made_with() -> None:
    assert _rate(criteria(), "current", {"likelihood": 2, "consequence": 3})["level"] == "medium"
    assert _rate(criteria(traffic_light(), version=2), "current", {"likelihood": 2, "consequence": 3})["level"] == "red"


# --------------------------------------------------------------------------- R4, R5: appetite and review


def rated_risk(used: RiskCriteria, **bases: tuple[int, int]) -> Risk:
    risk = Risk(status=RiskStatus.identified)
    _apply(risk, used, {basis: _rate(used, basis, rating) for basis, rating in ratings(**bases).items()})
    return risk


def test_R4_a_current_level_above_the_appetite_marks_the_risk() -> None:
    above = rated_risk(criteria(), inherent=(5, 5), current=(4, 4), target=(2, 2))
    assert (above.inherent_level, above.current_level, above.target_level) == ("critical", "high", "low")
    assert above.above_appetite is True
    within = rated_risk(criteria(), inherent=(5, 5), current=(3, 3), target=(1, 1))
    assert within.current_level == "medium" and within.above_appetite is False  # the appetite itself is retained


def test_R5_the_next_review_is_due_after_the_interval_of_the_current_level() -> None:
    today = utcnow().date()
    for current, level in (((1, 1), "low"), ((3, 3), "medium"), ((4, 4), "high"), ((5, 5), "critical")):
        risk = rated_risk(criteria(), inherent=(5, 5), current=current, target=(1, 1))
        assert risk.current_level == level
        assert risk.next_review_on == today + timedelta(days=LEVEL_DAYS[level])


def test_R3_rating_an_identified_risk_makes_it_assessed_and_names_the_criteria_version() -> None:
    risk = rated_risk(criteria(traffic_light(), version=4), inherent=(3, 3), current=(2, 2), target=(1, 1))
    assert risk.status == RiskStatus.assessed and risk.criteria_version == 4
    assert (risk.current_likelihood, risk.current_consequence, risk.current_level) == (2, 2, "amber")
