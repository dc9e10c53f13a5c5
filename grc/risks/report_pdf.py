"""The printable risk-register report (R7) as a PDF: the register's context, its heat map and its risks.

The heat map is drawn, not listed: a grid of the criteria in force with one coloured cell per (likelihood,
consequence) pair, the count of open risks in it, the most likely row on top and labels on both axes. Its
counts come from :func:`grc.risks.reporting.heatmap` and the risk table from
:func:`grc.risks.reporting.export_rows`, so the PDF says what the JSON heat map and the exports say.
"""
from __future__ import annotations

import io
from datetime import date
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from sqlalchemy.orm import Session

from grc.db import utcnow
from grc.risks import criteria as criteria_service
from grc.risks import reporting
from grc.risks.models import RiskRegister

MARGIN = 20 * mm
BASIS = "current"
INK = colors.HexColor("#1f3b66")
RULE = colors.HexColor("#c5ccd6")
LEVEL_COLOURS = {
    "low": colors.HexColor("#4caf50"),
    "medium": colors.HexColor("#ffeb3b"),
    "high": colors.HexColor("#ff9800"),
    "critical": colors.HexColor("#e53935"),
}
OTHER_LEVEL = colors.HexColor("#b0b7c3")  # a tenant's own level names: grey, never a guessed colour
TABLE_COLUMNS = ("reference", "title", "category", "current_level", "above_appetite", "next_review_on")
TABLE_HEADINGS = ("Reference", "Title", "Category", "Current level", "Above appetite", "Next review")


def level_colour(level: str | None) -> colors.Color:
    return LEVEL_COLOURS.get((level or "").lower(), OTHER_LEVEL)


def render_register_report(session: Session, register: RiskRegister, today: date | None = None) -> bytes:
    """The report of ``register`` (one the caller may see) as PDF bytes, dated ``today``."""
    today = today or utcnow().date()
    grid = reporting.heatmap(session, register, BASIS)
    levels = [entry["name"] for entry in criteria_service.current(session).levels]
    rows = reporting.export_rows(session, register)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN, bottomMargin=MARGIN,
        title=f"Risk register report: {register.name}", subject="Risk register report (ISO 31000)",
    )

    def decorate(canvas: Canvas, doc_: Any) -> None:
        _footer(canvas, doc_, register.name, today)

    doc.build(_story(register, grid, levels, rows, today), onFirstPage=decorate, onLaterPages=decorate)
    return buffer.getvalue()


def _styles() -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    return {
        "title": ParagraphStyle("title", parent=base["Title"], fontName="Helvetica-Bold", fontSize=20, spaceAfter=4,
                                textColor=INK),
        "subtitle": ParagraphStyle("subtitle", parent=base["Normal"], fontSize=10, alignment=TA_CENTER, leading=14,
                                   textColor=colors.HexColor("#4a5566")),
        "h2": ParagraphStyle("h2", parent=base["Heading2"], fontName="Helvetica-Bold", fontSize=13, textColor=INK,
                             spaceBefore=8, spaceAfter=4),
        "body": ParagraphStyle("body", parent=base["Normal"], fontSize=10, leading=13),
        "cell": ParagraphStyle("cell", parent=base["Normal"], fontSize=8.5, leading=10.5),
        "cellhead": ParagraphStyle("cellhead", parent=base["Normal"], fontName="Helvetica-Bold", fontSize=8.5,
                                   leading=10.5),
        "axis": ParagraphStyle("axis", parent=base["Normal"], fontSize=8, leading=9.5, alignment=TA_CENTER),
        "axishead": ParagraphStyle("axishead", parent=base["Normal"], fontName="Helvetica-Bold", fontSize=9,
                                   leading=11, alignment=TA_CENTER),
        "count": ParagraphStyle("count", parent=base["Normal"], fontName="Helvetica-Bold", fontSize=12, leading=14,
                                alignment=TA_CENTER),
        "zero": ParagraphStyle("zero", parent=base["Normal"], fontSize=10, leading=14, alignment=TA_CENTER,
                               textColor=colors.HexColor("#5f6673")),
    }


def _p(text: Any, style: ParagraphStyle) -> Paragraph:
    """A paragraph of untrusted text: escaped, since Paragraph parses markup."""
    return Paragraph(escape("" if text is None else str(text)).replace("\n", "<br/>"), style)


def _story(register: RiskRegister, grid: dict[str, Any], levels: list[str], rows: list[list[Any]],
           today: date) -> list[Any]:
    s = _styles()
    story: list[Any] = [
        _p(register.name, s["title"]),
        _p(f"Risk register report, {today.isoformat()}, risk criteria version {grid['criteria_version']}",
           s["subtitle"]),
        Spacer(1, 6 * mm),
    ]
    context = [("Scope", register.scope), ("Internal context", register.internal_context),
               ("External context", register.external_context), ("Date of the report", today.isoformat()),
               ("Risk criteria version", str(grid["criteria_version"]))]
    table = Table([[_p(k, s["cellhead"]), _p(v or "-", s["cell"])] for k, v in context],
                  colWidths=[40 * mm, 130 * mm])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("LINEBELOW", (0, 0), (-1, -1), 0.3, RULE)]))
    story += [table, Spacer(1, 4 * mm), _p(f"Heat map ({grid['basis']} risk)", s["h2"]), _heatmap(grid, s),
              Spacer(1, 3 * mm), _legend(levels, s), Spacer(1, 2 * mm),
              _p("Open risks per cell; closed risks and risks rated on other scales are left out.", s["cell"]),
              _p(f"Risks ({len(rows)})", s["h2"]), _risk_table(rows, s)]
    return story


def _heatmap(grid: dict[str, Any], s: dict[str, ParagraphStyle]) -> Table:
    """The grid as a Table: a likelihood label column on the left, the consequence labels along the bottom."""
    likelihoods, consequences = grid["likelihood_labels"], grid["consequence_labels"]
    cells = {(cell["likelihood"], cell["consequence"]): cell for cell in grid["cells"]}
    n_l, n_c = len(likelihoods), len(consequences)
    data: list[list[Any]] = []
    style: list[tuple[Any, ...]] = []
    for row, likelihood in enumerate(range(n_l, 0, -1)):  # most likely on top
        line: list[Any] = [_p("Likelihood", s["axishead"]) if row == 0 else "",
                           _p(f"{likelihood}. {likelihoods[likelihood - 1]}", s["axis"])]
        for consequence in range(1, n_c + 1):
            cell = cells[(likelihood, consequence)]
            line.append(_p(cell["count"], s["count"] if cell["count"] else s["zero"]))
            style.append(("BACKGROUND", (consequence + 1, row), (consequence + 1, row), level_colour(cell["level"])))
        data.append(line)
    data.append(["", ""] + [_p(f"{c}. {label}", s["axis"]) for c, label in enumerate(consequences, start=1)])
    data.append(["", ""] + [_p("Consequence", s["axishead"])] + [""] * (n_c - 1))
    cell_width = min(22 * mm, (170 * mm - 50 * mm) / n_c)
    table = Table(data, colWidths=[24 * mm, 26 * mm] + [cell_width] * n_c,
                  rowHeights=[14 * mm] * n_l + [None, None], hAlign="LEFT")
    table.setStyle(TableStyle([
        *style,
        ("SPAN", (0, 0), (0, n_l - 1)),
        ("SPAN", (2, n_l + 1), (-1, n_l + 1)),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("GRID", (2, 0), (-1, n_l - 1), 0.8, colors.white),
        ("BOX", (2, 0), (-1, n_l - 1), 0.8, INK),
        ("LINEAFTER", (1, 0), (1, n_l - 1), 0.8, INK),
        ("LINEBELOW", (2, n_l - 1), (-1, n_l - 1), 0.8, INK),
    ]))
    return table


def _legend(levels: list[str], s: dict[str, ParagraphStyle]) -> Table:
    table = Table([[_p("Levels:", s["cellhead"]), *[_p(name, s["axis"]) for name in levels]]],
                  colWidths=[20 * mm] + [25 * mm] * len(levels), hAlign="LEFT")
    table.setStyle(TableStyle([
        *[("BACKGROUND", (i, 0), (i, 0), level_colour(name)) for i, name in enumerate(levels, start=1)],
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("GRID", (1, 0), (-1, 0), 0.8, colors.white),
    ]))
    return table


def _risk_table(rows: list[list[Any]], s: dict[str, ParagraphStyle]) -> Table:
    index = [reporting.EXPORT_COLUMNS.index(name) for name in TABLE_COLUMNS]
    data: list[list[Any]] = [[_p(h, s["cellhead"]) for h in TABLE_HEADINGS]]
    style: list[tuple[Any, ...]] = []
    for number, row in enumerate(rows, start=1):
        reference, title, category, level, above, review = (row[i] for i in index)
        data.append([_p(reference, s["cell"]), _p(title, s["cell"]), _p(category or "-", s["cell"]),
                     _p(level or "not assessed", s["cell"]),
                     _p("-" if above is None else "yes" if above else "no", s["cell"]),
                     _p(review.isoformat() if isinstance(review, date) else review or "-", s["cell"])])
        if level:
            style.append(("BACKGROUND", (3, number), (3, number), level_colour(level)))
    if not rows:
        data.append([_p("No risks in this register.", s["cell"]), "", "", "", "", ""])
        style.append(("SPAN", (0, 1), (-1, 1)))
    table = Table(data, colWidths=[21 * mm, 59 * mm, 28 * mm, 22 * mm, 20 * mm, 20 * mm], repeatRows=1)
    table.setStyle(TableStyle([
        *style,
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, INK),
        ("LINEBELOW", (0, 1), (-1, -1), 0.3, RULE),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    return table


def _footer(canvas: Canvas, doc: Any, name: str, today: date) -> None:
    canvas.saveState()
    canvas.setFont("Helvetica", 8)
    canvas.setFillColor(colors.HexColor("#4a5566"))
    canvas.drawString(MARGIN, MARGIN * 0.5, f"{name[:90]}, risk register report of {today.isoformat()}")
    canvas.drawRightString(A4[0] - MARGIN, MARGIN * 0.5, f"Page {doc.page}")
    canvas.restoreState()
