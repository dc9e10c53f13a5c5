"""Schemas of the accreditation registry: the dry run's answer (G1) and the CB's connection (G2). The API key is a
write-only field: no response schema here has one."""
from __future__ import annotations

import marshmallow as ma

from grc.registry.client import DEFAULT_BASE_URL
from grc.schemas import Schema, StrictSchema, text


class ConnectionWriteSchema(StrictSchema):
    api_key = text(500, load_only=True, metadata={
        "description": "The CB's API key from IAF CertSearch (Import Settings > API Integration); stored sealed, "
                       "never returned. Needed to create the connection; a new one replaces it (key rotation)"})
    base_url = ma.fields.String(validate=ma.validate.Length(min=1, max=500), metadata={
        "description": f"The registry's API root, {DEFAULT_BASE_URL} by default (the sandbox is "
                       "https://api.sandbox.iafcertsearch.org/api/client/v1); the host must resolve to public "
                       "addresses unless the operator allowed it"})
    enabled = ma.fields.Boolean(metadata={"description": "Push every change; switching it on marks every "
                                                         "certificate for sync"})
    dry_run = ma.fields.Boolean(metadata={"description": "Build and check the records but send nothing"})
    repush_differences = ma.fields.Boolean(metadata={
        "description": "The nightly reconciliation pushes again the records the registry holds otherwise"})


class DifferenceSchema(Schema):
    certificate_number = ma.fields.String()
    field = ma.fields.String(metadata={"description": "Upload field name, or `certification` when one side lacks it"})
    ours = ma.fields.Raw(allow_none=True)
    registry = ma.fields.Raw(allow_none=True)


class ConnectionSchema(Schema):
    base_url = ma.fields.String()
    key_set_at = ma.fields.DateTime(metadata={"description": "When the API key was last set (the key is never shown)"})
    enabled = ma.fields.Boolean()
    dry_run = ma.fields.Boolean()
    repush_differences = ma.fields.Boolean()
    last_attempt_at = ma.fields.DateTime(allow_none=True)
    last_success_at = ma.fields.DateTime(allow_none=True, metadata={"description": "The last push the registry took"})
    last_error = ma.fields.String(allow_none=True, metadata={
        "description": "Why the last push or reconciliation failed, in the registry's words where it gave some"})
    retry_at = ma.fields.DateTime(allow_none=True, metadata={"description": "No push before (backoff)"})
    last_reconciled_at = ma.fields.DateTime(allow_none=True)
    differences = ma.fields.List(ma.fields.Nested(DifferenceSchema), metadata={
        "description": "What the last nightly reconciliation found the registry holds otherwise"})


class RecordErrorSchema(Schema):
    certificate_id = ma.fields.UUID()
    number = ma.fields.String()
    error = ma.fields.String(metadata={"description": "The registry's (or its documented rules') words"})
    at = ma.fields.DateTime()


class ConnectionOverviewSchema(Schema):
    connection = ma.fields.Nested(ConnectionSchema, allow_none=True, metadata={
        "description": "null until the CB connects (PUT)"})
    pending = ma.fields.Integer(metadata={"description": "Certificates waiting to be pushed"})
    synced = ma.fields.Integer()
    failed = ma.fields.Integer(metadata={"description": "Certificates the registry refused (or would refuse)"})
    last_errors = ma.fields.List(ma.fields.Nested(RecordErrorSchema))


class KeyCheckSchema(Schema):
    ok = ma.fields.Boolean()
    status = ma.fields.Integer(allow_none=True, metadata={"description": "The registry's HTTP status"})
    message = ma.fields.String()


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
