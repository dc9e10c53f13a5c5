"""The OpenAPI document as committed in openapi/openapi.json (stable key order, trailing newline)."""
from __future__ import annotations

import json

from flask import Flask


def spec_dict(app: Flask) -> dict:  # type: ignore[type-arg]
    return app.extensions["grc.api"].spec.to_dict()


def spec_json(app: Flask) -> str:
    return json.dumps(spec_dict(app), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
