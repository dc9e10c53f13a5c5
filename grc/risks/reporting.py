"""Risk reporting (R7): heat maps per register, the tenant's KPIs and register exports (CSV, XLSX).

Counts and averages are computed by the database (GROUP BY, COUNT, AVG), never by looping over rows in
Python; only the export streams the register's rows, because that is what an export is. The heat map and
the export read one register the caller may see (its own, or one a client shared with the caller's CB); the
KPIs read the caller's own rows only (a CB's KPIs do not count a client's shared risks). The exports neutralise
spreadsheet formulas in their text cells (``grc.spreadsheet``); the register import restores the text.
"""
from __future__ import annotations

import csv
import enum
import io
import uuid
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from grc import spreadsheet, tenancy, viewcache
from grc.actions.models import Action, ActionStatus
from grc.certification.models import Certificate, CertificateStatus
from grc.db import utcnow
from grc.findings.models import Finding, FindingStatus
from grc.risks import criteria as criteria_service
from grc.risks.models import Control, Risk, RiskCriteria, RiskRegister, RiskStatus

BASES = ("inherent", "current", "target")
EXPIRY_HORIZON_DAYS = 90
EXPORT_COLUMNS = (
    "reference", "title", "description", "category", "causes", "consequences", "owner_id", "status",
    "inherent_likelihood", "inherent_consequence", "inherent_level",
    "current_likelihood", "current_consequence", "current_level",
    "target_likelihood", "target_consequence", "target_level",
    "above_appetite", "next_review_on",
)


# --------------------------------------------------------------------------- heat map


def heatmap(session: Session, register: RiskRegister, basis: str = "current") -> dict[str, Any]:
    """Counts per (likelihood, consequence) cell of the register's open risks, as a full grid of the criteria
    in force; risks rated outside the current scales (an older, larger version) are left out of the grid.
    Cached (grc.viewcache) until a row of the register's owner or of the viewer (its criteria) changes."""
    viewer = tenancy.current().tenant_id
    grid = viewcache.cached(session, "heatmap", f"{register.id}/{basis}/{viewer}", lambda: (
        (register.tenant_id, viewer), _heatmap(session, register, basis)))
    assert grid is not None  # None is a miss, and the loader always answers
    return grid


def _heatmap(session: Session, register: RiskRegister, basis: str) -> dict[str, Any]:
    criteria = criteria_service.current(session)
    likelihood = getattr(Risk, f"{basis}_likelihood")
    consequence = getattr(Risk, f"{basis}_consequence")
    rows = session.execute(
        select(likelihood, consequence, func.count())  # count(*): the covering index answers alone
        .where(Risk.register_id == register.id, Risk.status != RiskStatus.closed,
               likelihood.is_not(None), consequence.is_not(None))
        .group_by(likelihood, consequence)
    ).all()
    counts = {(rated_likelihood, rated_consequence): n for rated_likelihood, rated_consequence, n in rows}
    return {
        "basis": basis,
        "register_id": register.id,
        "criteria_version": criteria.version,
        "likelihood_labels": [entry["label"] for entry in criteria.likelihood_scale],
        "consequence_labels": [entry["label"] for entry in criteria.consequence_scale],
        "cells": list(_cells(criteria, counts)),
    }


def _cells(criteria: RiskCriteria, counts: dict[tuple[int, int], int]) -> Iterator[dict[str, Any]]:
    for likelihood in range(1, len(criteria.likelihood_scale) + 1):
        for consequence in range(1, len(criteria.consequence_scale) + 1):
            yield {"likelihood": likelihood, "consequence": consequence,
                   "level": criteria.level_of(likelihood, consequence),
                   "count": counts.get((likelihood, consequence), 0)}


# --------------------------------------------------------------------------- KPIs


def kpis(session: Session, today: date | None = None) -> dict[str, Any]:
    """The caller's tenant's risk KPIs, and the certification KPIs that apply to its kind of tenant. Cached
    (grc.viewcache) until a row of the tenant, or about it, changes."""
    tenant = tenancy.current().tenant_id
    today = today or utcnow().date()
    figures = viewcache.cached(session, "kpis", f"{tenant}/{today.isoformat()}",
                               lambda: ((tenant,), _kpis(session, today)))
    assert figures is not None  # None is a miss, and the loader always answers
    return figures


def _kpis(session: Session, today: date) -> dict[str, Any]:
    principal = tenancy.current()
    tenant = principal.tenant_id
    criteria = criteria_service.current(session)

    by_level, (open_total, assessed, within, overdue_reviews, closure_days) = _risk_totals(session, tenant, today)
    overdue_treatments = session.scalar(
        select(func.count(Action.id)).where(
            Action.tenant_id == tenant, Action.risk_id.is_not(None),
            Action.status.in_((ActionStatus.planned, ActionStatus.in_progress)), Action.due_date < today))
    controls_total, controls_overdue = session.execute(
        select(func.count(Control.id), _count_where(Control.next_test_due < today))
        .where(Control.tenant_id == tenant)
    ).one()

    names = [entry["name"] for entry in criteria.levels]
    levels = {name: int(by_level.get(name, 0)) for name in names}
    levels.update({name: int(count) for name, count in by_level.items() if name not in levels})  # older versions
    result: dict[str, Any] = {
        "as_of": today,
        "criteria_version": criteria.version,
        "open_risks": int(open_total or 0),
        "open_risks_by_level": [{"level": name, "count": count} for name, count in levels.items()],
        "assessed_open_risks": int(assessed or 0),
        "share_within_appetite": round(int(within) / int(assessed), 4) if assessed else None,
        "overdue_reviews": int(overdue_reviews or 0),
        "overdue_treatment_actions": int(overdue_treatments or 0),
        "mean_days_to_closure": _rounded(closure_days),
        "controls_total": int(controls_total or 0),
        "controls_test_overdue": int(controls_overdue or 0),
    }
    if principal.tenant_kind == "certification_body":
        result["certificates_expiring_90_days"] = int(session.scalar(
            select(func.count(Certificate.id)).where(
                Certificate.tenant_id == tenant, Certificate.status == CertificateStatus.active,
                Certificate.expiry_date >= today,
                Certificate.expiry_date <= today + timedelta(days=EXPIRY_HORIZON_DAYS))) or 0)
    else:
        closed = and_(Finding.client_tenant_id == tenant, Finding.status == FindingStatus.closed,
                      Finding.closed_on.is_not(None))
        mean_days, count = session.execute(
            select(func.avg(_days_between(session, Finding.raised_on, Finding.closed_on)), func.count(Finding.id))
            .where(closed)
        ).one()
        result["findings_closed"] = int(count or 0)
        result["findings_mean_days_to_closure"] = _rounded(mean_days)
    return result


def _risk_totals(session: Session, tenant: uuid.UUID, today: date) -> tuple[dict[str, int], tuple[Any, ...]]:
    """One pass over the tenant's risks, grouped by current level: the open assessed risks per level, and the
    totals: open, assessed open, within appetite, overdue reviews and the mean days to closure of closed risks."""
    is_open = Risk.status != RiskStatus.closed
    assessed = and_(is_open, Risk.current_level.is_not(None))
    closed = and_(Risk.status == RiskStatus.closed, Risk.closed_on.is_not(None))
    groups = session.execute(
        select(Risk.current_level, _count_where(is_open), _count_where(assessed),
               _count_where(and_(assessed, Risk.above_appetite.is_(False))),
               _count_where(and_(is_open, Risk.next_review_on < today)),
               func.sum(case((closed, _days_between(session, Risk.identified_on, Risk.closed_on)))),
               _count_where(closed))
        .where(Risk.tenant_id == tenant)
        .group_by(Risk.current_level)
    ).all()
    by_level = {level: int(assessed_count) for level, _, assessed_count, *_ in groups if level and assessed_count}
    open_total, assessed_total, within, overdue, days, closed_count = (
        sum(group[column] or 0 for group in groups) for column in range(1, 7))
    return by_level, (open_total, assessed_total, within, overdue, days / closed_count if closed_count else None)


def _count_where(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _days_between(
    session: Session, start: InstrumentedAttribute[date], end: InstrumentedAttribute[date | None]
) -> ColumnElement[Any]:
    """Whole days from ``start`` to ``end`` (two DATE columns) in the database's own arithmetic."""
    if session.get_bind().dialect.name == "postgresql":
        return end - start  # date - date is an integer number of days
    return func.julianday(end) - func.julianday(start)


def _rounded(value: Any) -> float | None:
    return None if value is None else round(float(value), 2)


# --------------------------------------------------------------------------- exports


def export_rows(session: Session, register: RiskRegister) -> list[list[Any]]:
    """The register's risks in reference order, one list of cells per risk (EXPORT_COLUMNS order)."""
    columns = [getattr(Risk, name) for name in EXPORT_COLUMNS]
    return [[_cell(value) for value in row] for row in session.execute(
        select(*columns).where(Risk.register_id == register.id).order_by(Risk.reference))]


def _cell(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    return value


def as_csv(rows: Iterable[list[Any]]) -> str:
    """The header and one line per risk; text that a spreadsheet would read as a formula is neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    for row in rows:
        writer.writerow([spreadsheet.neutralise("" if v is None else v.isoformat() if isinstance(v, date) else v)
                         for v in row])
    return buffer.getvalue()


def as_xlsx(rows: Iterable[list[Any]], grid: dict[str, Any]) -> bytes:
    """A workbook with a "Risks" sheet (header row, one row per risk) and a "Heat map" sheet (current basis); text
    cells are string cells with formulas neutralised, numbers, dates and booleans keep their types."""
    from openpyxl import Workbook  # imported here: only exports need it
    from openpyxl.styles import Font
    from openpyxl.worksheet.worksheet import Worksheet

    workbook = Workbook()
    sheet = workbook.active
    assert isinstance(sheet, Worksheet)  # a new workbook starts with one worksheet
    sheet.title = "Risks"
    spreadsheet.append_row(sheet, EXPORT_COLUMNS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        spreadsheet.append_row(sheet, row)
    sheet.freeze_panes = "A2"

    heat = workbook.create_sheet("Heat map")
    spreadsheet.append_row(heat, [
        f"{grid['basis'].capitalize()} risk, criteria v{grid['criteria_version']}: likelihood \\ consequence",
        *grid["consequence_labels"]])  # the labels are the tenant's own text
    counts = {(cell["likelihood"], cell["consequence"]): cell["count"] for cell in grid["cells"]}
    consequences = range(1, len(grid["consequence_labels"]) + 1)
    for likelihood in range(len(grid["likelihood_labels"]), 0, -1):  # most likely on top, as heat maps are drawn
        spreadsheet.append_row(heat, [grid["likelihood_labels"][likelihood - 1],
                                      *[counts[(likelihood, c)] for c in consequences]])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
