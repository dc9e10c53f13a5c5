"""Schemas of risk reporting (R7): heat map, KPIs and export arguments."""
from __future__ import annotations

import marshmallow as ma

from grc.dumping import OMITTED_WHEN
from grc.schemas import Schema, StrictSchema

FOR_A_CLIENT = "for a client organisation"
FOR_A_CB = "for a certification body"


class HeatmapArgs(StrictSchema):
    basis = ma.fields.String(load_default="current", validate=ma.validate.OneOf(["inherent", "current", "target"]),
                             metadata={"description": "Which rating to map: inherent, current (residual) or target"})


class HeatmapCellSchema(Schema):
    likelihood = ma.fields.Integer(required=True)
    consequence = ma.fields.Integer(required=True)
    level = ma.fields.String(required=True, metadata={"description": "The cell's level in the criteria in force"})
    count = ma.fields.Integer(required=True, metadata={"description": "Open (not closed) risks rated in this cell"})


class HeatmapSchema(Schema):
    basis = ma.fields.String(required=True)
    register_id = ma.fields.UUID(required=True)
    criteria_version = ma.fields.Integer(required=True)
    likelihood_labels = ma.fields.List(ma.fields.String(), required=True,
                                       metadata={"description": "Label of likelihood 1, 2, ..."})
    consequence_labels = ma.fields.List(ma.fields.String(), required=True,
                                        metadata={"description": "Label of consequence 1, 2, ..."})
    cells = ma.fields.List(ma.fields.Nested(HeatmapCellSchema), required=True,
                           metadata={"description": "Every cell of the grid, zero counts included"})


class LevelCountSchema(Schema):
    level = ma.fields.String(required=True)
    count = ma.fields.Integer(required=True)


class KpisSchema(Schema):
    as_of = ma.fields.Date(required=True)
    criteria_version = ma.fields.Integer(required=True)
    open_risks = ma.fields.Integer(required=True)
    open_risks_by_level = ma.fields.List(ma.fields.Nested(LevelCountSchema), required=True,
                                         metadata={"description": "Open risks by current level, lowest level first"})
    assessed_open_risks = ma.fields.Integer(required=True)
    share_within_appetite = ma.fields.Float(required=True, allow_none=True,
                                            metadata={"description": "0..1 of assessed open risks; null if none"})
    overdue_reviews = ma.fields.Integer(required=True, metadata={"description": "Open risks past next_review_on"})
    overdue_treatment_actions = ma.fields.Integer(
        required=True, metadata={"description": "Planned or in-progress treatment actions past due"})
    mean_days_to_closure = ma.fields.Float(
        required=True, allow_none=True,
        metadata={"description": "Identification to closure of closed risks; null if none"})
    controls_total = ma.fields.Integer(required=True)
    controls_test_overdue = ma.fields.Integer(required=True, metadata={"description": "Controls past next_test_due"})
    certificates_expiring_90_days = ma.fields.Integer(metadata={
        "description": "Certification bodies only: active certificates expiring within 90 days",
        OMITTED_WHEN: FOR_A_CLIENT})
    findings_closed = ma.fields.Integer(metadata={
        "description": "Client organisations only: closed findings about it", OMITTED_WHEN: FOR_A_CB})
    findings_mean_days_to_closure = ma.fields.Float(allow_none=True, metadata={
        "description": "Client organisations only: mean days from raised to closed", OMITTED_WHEN: FOR_A_CB})


class RiskExportArgs(StrictSchema):
    format = ma.fields.String(load_default="csv", validate=ma.validate.OneOf(["csv", "xlsx"]))
