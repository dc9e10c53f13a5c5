"""R6: the tenant's control library, control tests and the controls linked to each risk.

Controls belong to one tenant (a shared register shows its risks to the CB, never lets it change them).
``next_test_due`` is the creation date plus the test frequency until the first test, then the last test's
date plus the frequency; a control whose ``next_test_due`` has passed is overdue.
"""
from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from grc import tenancy
from grc.api import paginate
from grc.audit_notes import name_action
from grc.db import utcnow
from grc.errors import Forbidden, InvalidField
from grc.events import publish
from grc.extensions import db
from grc.numbering import next_value
from grc.risks.models import Control, ControlTest, Risk
from grc.risks.service import RISK_MANAGERS, check_owner
from grc.schemes.models import Scheme

RESULTS = ("effective", "partially_effective", "ineffective")


@tenancy.path_resource("control_id")
def visible_control(control_id: uuid.UUID) -> Control | None:
    return db.session.get(Control, control_id)


def _clauses(session: Session, mapped: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each mapping names a visible scheme and one of its clauses (e.g. ISO/IEC 27001:2022 A.8.24)."""
    clean = []
    for index, entry in enumerate(mapped):
        scheme = session.get(Scheme, entry["scheme_id"])
        if scheme is None:
            raise InvalidField("mapped_clauses", f"item {index}: no such scheme")
        if not scheme.has_clause(entry["clause"]):
            raise InvalidField("mapped_clauses", f"item {index}: {scheme.standard} has no clause {entry['clause']}")
        mapping = {"scheme_id": str(scheme.id), "clause": entry["clause"]}
        if mapping not in clean:
            clean.append(mapping)
    return clean


def _reference_taken(session: Session, reference: str, but: uuid.UUID | None = None) -> bool:
    stmt = select(Control.id).where(Control.tenant_id == tenancy.current().tenant_id, Control.reference == reference)
    if but is not None:
        stmt = stmt.where(Control.id != but)
    return session.scalars(stmt).first() is not None


def create_control(session: Session, data: dict[str, Any]) -> Control:
    """Rule R6: a control in the library; the reference is C-001, C-002... unless given."""
    principal = tenancy.require_roles(*RISK_MANAGERS)
    check_owner(session, data["owner_id"])
    data = dict(data)
    data["mapped_clauses"] = _clauses(session, data.get("mapped_clauses") or [])
    if data.get("reference"):
        if _reference_taken(session, data["reference"]):
            raise InvalidField("reference", "already used by another control of your organisation")
    else:
        data["reference"] = _next_reference(session, principal.tenant_id)
    control = Control(next_test_due=utcnow().date() + timedelta(days=data["test_frequency_days"]), **data)
    session.add(control)
    session.flush()
    return control


def _next_reference(session: Session, tenant_id: uuid.UUID) -> str:
    while True:  # skip numbers a caller already took by naming them explicitly
        reference = f"C-{next_value(session, tenant_id, 'control'):03d}"
        if not _reference_taken(session, reference):
            return reference


def update_control(session: Session, control: Control, changes: dict[str, Any]) -> Control:
    """Rule R6: a new frequency moves the next test date (from the last test, or from creation)."""
    _owner_side(control)
    if "owner_id" in changes:
        check_owner(session, changes["owner_id"])
    if "mapped_clauses" in changes:
        changes = {**changes, "mapped_clauses": _clauses(session, changes["mapped_clauses"])}
    if "reference" in changes and _reference_taken(session, changes["reference"], but=control.id):
        raise InvalidField("reference", "already used by another control of your organisation")
    for key, value in changes.items():
        setattr(control, key, value)
    if "test_frequency_days" in changes:
        base = control.last_tested_on or control.created_at.date()
        control.next_test_due = base + timedelta(days=control.test_frequency_days)
    session.flush()
    return control


def _owner_side(control: Control) -> tenancy.Principal:
    if tenancy.current().tenant_id != control.tenant_id:
        raise Forbidden("Only the organisation that owns the control may change it.")
    return tenancy.require_roles(*RISK_MANAGERS)


def list_controls(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    stmt = select(Control)
    for name, column in (("type", Control.type), ("nature", Control.nature), ("owner_id", Control.owner_id)):
        if args.get(name):
            stmt = stmt.where(column == args[name])
    if "test_overdue" in args:
        overdue = Control.next_test_due < utcnow().date()
        stmt = stmt.where(overdue if args["test_overdue"] else ~overdue)
    return paginate(session, stmt, args, [Control.id])


def test_overdue(control: Control, today: date | None = None) -> bool:
    today = today or utcnow().date()
    return control.next_test_due is not None and control.next_test_due < today


# --------------------------------------------------------------------------- tests


def record_test(session: Session, control: Control, data: dict[str, Any]) -> ControlTest:
    """Rule R6: a test result; the next test falls due one frequency after the test date."""
    principal = _owner_side(control)
    today = utcnow().date()
    tested_on = data.get("tested_on") or today
    if tested_on > today:
        raise InvalidField("tested_on", "must not be in the future")
    test = ControlTest(control_id=control.id, tested_on=tested_on, tested_by=principal.person_id,
                       result=data["result"], notes=data.get("notes"))
    session.add(test)
    if control.last_tested_on is None or tested_on >= control.last_tested_on:
        control.last_tested_on = tested_on
        control.last_result = data["result"]
        control.next_test_due = tested_on + timedelta(days=control.test_frequency_days)
    session.flush()
    publish(session, "control.tested", {"control_id": str(control.id), "reference": control.reference,
                                        "tested_on": tested_on.isoformat(), "result": data["result"]})
    return test


def list_tests(session: Session, control: Control, args: dict[str, Any]) -> dict[str, Any]:
    """Newest test first (by test date, then by recording order); keyset on (tested_on, id)."""
    stmt = select(ControlTest).where(ControlTest.control_id == control.id)
    if args.get("cursor"):
        tested_on, test_id = _decode(args["cursor"])
        stmt = stmt.where(tuple_(ControlTest.tested_on, ControlTest.id) < tuple_(tested_on, test_id))
    limit = args["limit"]
    rows = list(session.scalars(stmt.order_by(ControlTest.tested_on.desc(), ControlTest.id.desc()).limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        raw = json.dumps([rows[-1].tested_on.isoformat(), str(rows[-1].id)]).encode()
        next_cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return {"items": rows, "next_cursor": next_cursor}


def _decode(cursor: str) -> tuple[date, uuid.UUID]:
    try:
        tested_on, test_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return date.fromisoformat(tested_on), uuid.UUID(test_id)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidField("cursor", "Not a cursor this API issued; start again without it.") from exc


# --------------------------------------------------------------------------- risks and their controls


def link_controls(session: Session, risk: Risk, control_ids: list[uuid.UUID]) -> list[Control]:
    """Rule R6: replace the controls linked to a risk; only the risk's own organisation may."""
    if tenancy.current().tenant_id != risk.tenant_id:
        raise Forbidden("A shared register is read-only for the certification body.")
    tenancy.require_roles(*RISK_MANAGERS)
    wanted = list(dict.fromkeys(control_ids))
    stmt = select(Control).where(Control.id.in_(wanted), Control.tenant_id == risk.tenant_id)
    controls = list(session.scalars(stmt)) if wanted else []
    found = {control.id for control in controls}
    missing = [str(control_id) for control_id in wanted if control_id not in found]
    if missing:
        raise InvalidField("control_ids", f"not controls of your organisation: {', '.join(missing)}")
    risk.controls = sorted(controls, key=lambda control: control.reference)
    risk.updated_at = utcnow()  # a column change, so the trail records the relinking (A1)
    name_action(session, risk, "risk.controls_linked")
    session.flush()
    return risk.controls
