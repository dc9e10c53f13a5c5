"""Request and response schemas of a CB's registry connection (G2). The API key is a write-only field: no response
schema here has one."""
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
    connection = ma.fields.Nested(ConnectionSchema)
    pending = ma.fields.Integer(metadata={"description": "Certificates waiting to be pushed"})
    synced = ma.fields.Integer()
    failed = ma.fields.Integer(metadata={"description": "Certificates the registry refused (or would refuse)"})
    last_errors = ma.fields.List(ma.fields.Nested(RecordErrorSchema))


class KeyCheckSchema(Schema):
    ok = ma.fields.Boolean()
    status = ma.fields.Integer(allow_none=True, metadata={"description": "The registry's HTTP status"})
    message = ma.fields.String()
