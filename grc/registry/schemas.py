"""Schemas of the accreditation registry (G1): the dry run's answer."""
from __future__ import annotations

import marshmallow as ma

from grc.schemas import Schema


class RegistryProblemSchema(Schema):
    field = ma.fields.String(metadata={"description": "The body's field, e.g. certified_entity_street_city"})
    message = ma.fields.String(metadata={"description": "The registry rule it breaks, in the registry's words"})


class RegistryRecordSchema(Schema):
    certified_entity_unique_id = ma.fields.String(metadata={"description": "Our client organisation's id"})
    certificate_ids = ma.fields.List(ma.fields.UUID(), metadata={"description": "Our certificates the body carries"})
    body = ma.fields.Dict(metadata={"description": "Exactly the JSON body of the registry's upload call"})
    problems = ma.fields.List(ma.fields.Nested(RegistryProblemSchema),
                              metadata={"description": "Empty when the registry would accept the body"})


class RegistryDryRunSchema(Schema):
    endpoint = ma.fields.String(metadata={"description": "The registry's upload path the bodies are for"})
    ready = ma.fields.Integer(metadata={"description": "Records breaking no registry rule"})
    blocked = ma.fields.Integer(metadata={"description": "Records the registry would refuse"})
    records = ma.fields.List(ma.fields.Nested(RegistryRecordSchema))
