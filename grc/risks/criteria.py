"""Risk criteria (R1): scales, level matrix, appetite and review intervals; validated, versioned, defaulted."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from grc import tenancy
from grc.errors import InvalidField
from grc.risks.models import RiskCriteria

LIKELIHOOD = ["Rare", "Unlikely", "Possible", "Likely", "Almost certain"]
CONSEQUENCE = ["Insignificant", "Minor", "Moderate", "Major", "Severe"]
LEVELS = [("low", 365), ("medium", 180), ("high", 90), ("critical", 30)]


def _default_level(score: int) -> str:
    return "low" if score <= 4 else "medium" if score <= 9 else "high" if score <= 16 else "critical"


DEFAULT: dict[str, Any] = {
    "likelihood_scale": [{"level": i + 1, "label": label, "description": ""} for i, label in enumerate(LIKELIHOOD)],
    "consequence_scale": [{"level": i + 1, "label": label, "description": ""} for i, label in enumerate(CONSEQUENCE)],
    "levels": [{"name": name, "review_interval_days": days} for name, days in LEVELS],
    "matrix": [[_default_level(likelihood * consequence) for consequence in range(1, 6)] for likelihood in range(1, 6)],
    "appetite": "medium",
}


def current(session: Session) -> RiskCriteria:
    """The tenant's criteria in force: the latest version, or the 5x5 default (version 1) until one is saved."""
    latest = session.scalars(select(RiskCriteria).order_by(RiskCriteria.version.desc()).limit(1)).first()
    return latest if latest is not None else RiskCriteria(version=1, **DEFAULT)


def in_force(session: Session) -> RiskCriteria:
    """The criteria in force, saved as version 1 on first use so assessments can name their version."""
    criteria = current(session)
    if criteria.id is None:
        criteria.created_by = tenancy.current().person_id
        session.add(criteria)
        session.flush()
    return criteria


def save(session: Session, data: dict[str, Any]) -> RiskCriteria:
    """A new version; past assessments keep the version they were made with."""
    validate(data)
    previous = current(session)
    version = previous.version + 1 if previous.id is not None else 1
    criteria = RiskCriteria(version=version, created_by=tenancy.current().person_id, **data)
    session.add(criteria)
    session.flush()
    return criteria


def versions(session: Session) -> list[RiskCriteria]:
    return list(session.scalars(select(RiskCriteria).order_by(RiskCriteria.version)))


def validate(data: dict[str, Any]) -> None:
    """3-10 levels per scale numbered 1..n; one known level per cell; levels never fall along either axis."""
    for field in ("likelihood_scale", "consequence_scale"):
        numbers = [entry["level"] for entry in data[field]]
        if numbers != list(range(1, len(numbers) + 1)) or not 3 <= len(numbers) <= 10:
            raise InvalidField(field, "3 to 10 levels numbered 1, 2, 3... in order")
    names = [level["name"] for level in data["levels"]]
    if len(set(names)) != len(names):
        raise InvalidField("levels", "level names must be unique")
    rank = {name: index for index, name in enumerate(names)}
    matrix = data["matrix"]
    rows, cols = len(data["likelihood_scale"]), len(data["consequence_scale"])
    if len(matrix) != rows or any(len(row) != cols for row in matrix):
        raise InvalidField("matrix", f"{rows} rows (likelihood) of {cols} cells (consequence)")
    if any(cell not in rank for row in matrix for cell in row):
        raise InvalidField("matrix", f"every cell must be one of the levels: {', '.join(names)}")
    for row in range(rows):
        for col in range(cols):
            level = rank[matrix[row][col]]
            if (row and level < rank[matrix[row - 1][col]]) or (col and level < rank[matrix[row][col - 1]]):
                raise InvalidField("matrix", "levels must not fall as likelihood or consequence rise "
                                             f"(cell {row + 1},{col + 1})")
    if data["appetite"] not in rank:
        raise InvalidField("appetite", f"one of the levels: {', '.join(names)}")
