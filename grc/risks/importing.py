"""Importing a register from the CSV its export produces (item 8 of issue 5): all rows or none.

Every row is validated before anything is written; the answer names the row and field of each problem.
A row whose reference exists in the register updates that risk; a row without a reference (or a new one)
adds a risk. Ratings that differ from the risk's current ones are recorded as a new assessment; the
derived columns (levels, above_appetite, next_review_on) are ignored, since they are never typed in (R3).
Cells are read as the export wrote them: the quote it put before text a spreadsheet would read as a formula is
taken off again (``grc.spreadsheet.restore``), so an exported register imports to its original text.
"""
from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from grc import spreadsheet
from grc.auth.models import User
from grc.errors import InvalidField, InvalidRows
from grc.risks import criteria as criteria_service
from grc.risks import service
from grc.risks.models import Risk, RiskRegister, RiskStatus
from grc.risks.reporting import EXPORT_COLUMNS

TEXT_LIMITS = {"title": 300, "description": 10000, "category": 100, "causes": 10000, "consequences": 10000}
RATINGS = [(basis, part) for basis in service.BASES for part in ("likelihood", "consequence")]
MAX_ROWS = 5000


@dataclass
class Row:
    number: int
    reference: str
    fields: dict[str, Any]
    ratings: dict[str, dict[str, int]] | None
    errors: dict[str, list[str]] = field(default_factory=dict)


def import_csv(session: Session, register: RiskRegister, data: bytes) -> dict[str, int]:
    """Validate every row, then create or update the risks; returns how many were created and updated."""
    service.check_owner_side(register.tenant_id)
    rows = _parse(session, data)
    existing = {risk.reference: risk for risk in session.scalars(select(Risk).where(Risk.register_id == register.id))}
    problems = {f"row {row.number}.{name}": messages for row in rows for name, messages in row.errors.items()}
    if problems:
        raise InvalidRows(f"{len({k.split('.')[0] for k in problems})} row(s) have problems; nothing was imported.",
                          errors=problems)
    counts = {"created": 0, "updated": 0}
    for row in rows:
        risk = existing.get(row.reference)
        if risk is None:
            risk = service.create_risk(session, register, {k: v for k, v in row.fields.items() if k != "status"})
            counts["created"] += 1
        else:
            counts["updated"] += 1
        service.update_risk(session, risk, {k: v for k, v in row.fields.items() if getattr(risk, k) != v})
        if row.ratings and row.ratings != _current_ratings(risk):
            service.assess(session, risk, {**row.ratings, "rationale": f"imported (row {row.number})"})
    return counts


def _parse(session: Session, data: bytes) -> list[Row]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidField("file", "must be UTF-8 CSV as the export produces") from exc
    reader = csv.DictReader(io.StringIO(text))
    missing = [name for name in EXPORT_COLUMNS if name not in (reader.fieldnames or [])]
    if missing:
        raise InvalidField("file", f"missing columns: {', '.join(missing)}")
    criteria = criteria_service.current(session)
    owners = {str(user_id) for user_id in session.scalars(select(User.id).where(User.is_active.is_(True)))}
    rows = [_row(n, raw, criteria, owners) for n, raw in enumerate(reader, start=2)]
    if not rows or len(rows) > MAX_ROWS:
        raise InvalidField("file", f"1 to {MAX_ROWS} rows")
    seen: dict[str, int] = {}
    for row in rows:
        if row.reference and row.reference in seen:
            row.errors.setdefault("reference", []).append(f"repeats row {seen[row.reference]}")
        seen.setdefault(row.reference, row.number)
    return rows


def _cell(raw: dict[str, str], name: str) -> str:
    """The text of one cell, trimmed, without the quote the export adds before formula-like text."""
    return spreadsheet.restore((raw.get(name) or "").strip())


def _row(number: int, raw: dict[str, str], criteria: Any, owners: set[str]) -> Row:
    row = Row(number, _cell(raw, "reference"), {}, None)
    for name, limit in TEXT_LIMITS.items():
        value = _cell(raw, name)
        if len(value) > limit:
            row.errors[name] = [f"at most {limit} characters"]
        row.fields[name] = value or None
    if not row.fields["title"]:
        row.errors["title"] = ["is required"]
    owner = _cell(raw, "owner_id")
    if owner not in owners:
        row.errors["owner_id"] = ["must be an active user of your organisation"]
    else:
        row.fields["owner_id"] = uuid.UUID(owner)
    try:
        row.fields["status"] = RiskStatus((raw.get("status") or "identified").strip())
    except ValueError:
        row.errors["status"] = [f"one of: {', '.join(s.value for s in RiskStatus)}"]
    row.ratings = _ratings(row, raw, criteria)
    return row


def _ratings(row: Row, raw: dict[str, str], criteria: Any) -> dict[str, dict[str, int]] | None:
    cells = {f"{basis}_{part}": _cell(raw, f"{basis}_{part}") for basis, part in RATINGS}
    if not any(cells.values()):
        return None
    limits = {"likelihood": len(criteria.likelihood_scale), "consequence": len(criteria.consequence_scale)}
    ratings: dict[str, dict[str, int]] = {basis: {} for basis in service.BASES}
    for (basis, part), (name, value) in zip(RATINGS, cells.items(), strict=True):
        if not value.isdigit() or not 1 <= int(value) <= limits[part]:
            row.errors[name] = [f"a whole number from 1 to {limits[part]} (all six ratings or none)"]
        else:
            ratings[basis][part] = int(value)
    return ratings


def _current_ratings(risk: Risk) -> dict[str, dict[str, int]]:
    return {basis: {"likelihood": getattr(risk, f"{basis}_likelihood"),
                    "consequence": getattr(risk, f"{basis}_consequence")}
            for basis in service.BASES}
