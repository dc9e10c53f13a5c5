"""Risk reporting (R7): heat map per register, KPIs, register exports as CSV or XLSX, and a printable PDF report."""
from __future__ import annotations

import re
import uuid
from typing import Any

from flask import Response

from grc import tenancy
from grc.api import Blueprint
from grc.errors import NotFound
from grc.extensions import db
from grc.risks import reporting, service
from grc.risks.report_pdf import render_register_report
from grc.risks.reporting_schemas import (
    HeatmapArgs,
    HeatmapSchema,
    KpisSchema,
    RiskExportArgs,
)
from grc.spreadsheet import XLSX_MEDIA_TYPE

blp = Blueprint("risk_reporting", __name__, url_prefix="/api/v1",
                description="Risk reporting: heat maps, KPIs and register exports")


@blp.route("/risk-registers/<uuid:register_id>/heatmap", methods=["GET"])
@blp.arguments(HeatmapArgs, location="query")
@blp.response(200, HeatmapSchema)
def get_risk_heatmap(args: dict[str, Any], register_id: uuid.UUID) -> dict[str, Any]:
    """Rule R7: the register's heat map (inherent, current or target), counted per cell of the criteria in force.

    Closed risks are left out; every cell of the grid is listed, with its level and the scales' labels.
    """
    return reporting.heatmap(db.session, tenancy.resolved(service.visible_register, register_id), args["basis"])


@blp.route("/kpis", methods=["GET"])
@blp.response(200, KpisSchema)
def get_kpis() -> dict[str, Any]:
    """Rule R7: the organisation's risk KPIs, with the certification KPIs that apply to it.

    Open risks by level, share within appetite, overdue reviews and treatment actions, mean days to closure
    and control-test cadence, counted over the caller's own rows; a certification body also gets the
    certificates expiring within 90 days, a client organisation its findings' closure time.
    """
    return reporting.kpis(db.session)


@blp.route("/risk-registers/<uuid:register_id>/export", methods=["GET"])
@blp.arguments(RiskExportArgs, location="query")
@blp.response(200, {"type": "string"}, content_type="text/csv")
@blp.alt_response(200, success=True, content_type=XLSX_MEDIA_TYPE,
                  schema={"format": "binary", "type": "string"})
def export_risk_register(args: dict[str, Any], register_id: uuid.UUID) -> Response:
    """Rule R7: the register's risks as CSV or XLSX (the workbook adds a current heat-map sheet).

    One row per risk, in reference order, with its inherent, current and target ratings, appetite flag and
    next review date; sent as an attachment.
    """
    register = tenancy.resolved(service.visible_register, register_id)
    rows = reporting.export_rows(db.session, register)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", register.name).strip("-") or "risk-register"
    if args["format"] == "xlsx":
        body = reporting.as_xlsx(rows, reporting.heatmap(db.session, register, "current"))
        response = Response(body, mimetype=XLSX_MEDIA_TYPE)
        response.headers["Content-Disposition"] = f'attachment; filename="{stem}.xlsx"'
        return response
    response = Response(reporting.as_csv(rows), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{stem}.csv"'
    return response


@blp.route("/risk-registers/<uuid:register_id>/report.pdf", methods=["GET"])
@blp.response(200, {"format": "binary", "type": "string"}, content_type="application/pdf")
def get_risk_register_report(register_id: uuid.UUID) -> Response:
    """Rule R7: a printable register report, as a PDF.

    The register's name, scope and contexts, the date of the report and the criteria version; the current heat
    map drawn as a grid coloured by level (most likely row on top, counts of open risks in the cells); then every
    risk with its reference, title, category, current level, appetite flag and next review date.
    """
    register = tenancy.resolved(service.visible_register, register_id)
    if register is None:
        raise NotFound("No such resource.")
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", register.name).strip("-") or "risk-register"
    response = Response(render_register_report(db.session, register), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{stem}-report.pdf"'
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
