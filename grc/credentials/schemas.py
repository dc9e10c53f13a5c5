"""Request arguments of the public credential routes (their answers are compact JWS strings, not JSON)."""
from __future__ import annotations

import marshmallow as ma

from grc.schemas import Schema


class CredentialArgsSchema(Schema):
    revision = ma.fields.Integer(
        validate=ma.validate.Range(min=1, max=1_000_000),
        metadata={"description": "A revision of the certificate (1 = first issue); default: the current one"},
    )
