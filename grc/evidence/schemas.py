from __future__ import annotations

import marshmallow as ma
from flask_smorest.fields import Upload

from grc.schemas import Schema, StrictSchema


class EvidenceUploadSchema(StrictSchema):
    file = Upload(required=True, metadata={"description": "PDF, PNG, JPEG, DOCX, XLSX, CSV or TXT"})


class EvidenceSchema(Schema):
    id = ma.fields.UUID()
    parent_type = ma.fields.String()
    parent_id = ma.fields.UUID()
    filename = ma.fields.String()
    content_type = ma.fields.String()
    size_bytes = ma.fields.Integer()
    sha256 = ma.fields.String()
    uploaded_by = ma.fields.UUID()
    uploaded_at = ma.fields.DateTime()
    download_url = ma.fields.Function(lambda e: f"/api/v1/evidence/{e.id}/content", metadata={"type": "string"})


class EvidenceListSchema(Schema):
    items = ma.fields.List(ma.fields.Nested(EvidenceSchema), required=True)
