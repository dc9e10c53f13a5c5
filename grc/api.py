"""The flask-smorest Api with problem+json errors, the Blueprint every domain uses (strict argument parsing),
and the list machinery every collection uses.

Lists are keyset-paginated: ``?limit=`` (1-100, default 20) and an opaque ``?cursor=``; the body is
``{"items": [...], "next_cursor": ...}``. The cursor holds the sort key of the last row returned, so
page 10,000 costs what page 1 costs (no OFFSET).
"""
from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import flask_smorest
from flask import Response
from sqlalchemy import Select, tuple_
from sqlalchemy.orm import InstrumentedAttribute
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException

from grc.errors import PROBLEM_MEDIA_TYPE, InvalidField, ProblemSchema, http_exception_to_problem


class Api(flask_smorest.Api):
    """flask-smorest's Api answering every error as RFC 9457 problem+json, and documenting it so."""

    ERROR_SCHEMA = ProblemSchema

    def handle_http_exception(self, error: HTTPException) -> Response:
        return http_exception_to_problem(error)

    def _register_responses(self) -> None:
        # The named error responses are registered with the media type the handlers really send.
        self.DEFAULT_RESPONSE_CONTENT_TYPE = PROBLEM_MEDIA_TYPE
        try:
            super()._register_responses()
        finally:
            del self.DEFAULT_RESPONSE_CONTENT_TYPE


class StrictParser(FlaskParser):
    """webargs drops unknown query parameters by default; we let the schema's RAISE apply to them too, so a
    misspelt filter (``?statu=dead``) is a 422 naming it instead of a list that silently ignores it."""

    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": None, "querystring": None}


class Blueprint(flask_smorest.Blueprint):
    """Every domain's blueprint: flask-smorest's, parsing query strings and bodies with ``StrictParser``."""

    ARGUMENTS_PARSER = StrictParser()


def paginate(
    session: Any,
    stmt: Select[Any],
    args: dict[str, Any],
    order: Sequence[InstrumentedAttribute[Any]],
    *,
    descending: bool = False,
) -> dict[str, Any]:
    """Run ``stmt`` one keyset page at a time; ``order`` must end with a unique column (the id)."""
    limit: int = args["limit"]
    key = tuple_(*order)
    if args.get("cursor"):
        values = _decode_cursor(args["cursor"], order)
        stmt = stmt.where(key < tuple_(*values) if descending else key > tuple_(*values))
    stmt = stmt.order_by(*[col.desc() if descending else col.asc() for col in order]).limit(limit + 1)
    rows = list(session.scalars(stmt))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = _encode_cursor([getattr(rows[-1], col.key) for col in order])
    return {"items": rows, "next_cursor": next_cursor}


def _encode_cursor(values: list[Any]) -> str:
    plain = [v.isoformat() if isinstance(v, datetime) else str(v) if isinstance(v, uuid.UUID) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, order: Sequence[InstrumentedAttribute[Any]]) -> list[Any]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or len(raw) != len(order):
            raise ValueError("wrong shape")
        return [_from_json(value, col) for value, col in zip(raw, order, strict=True)]
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidField("cursor", "Not a cursor this API issued; start again without it.") from exc


def _from_json(value: Any, column: InstrumentedAttribute[Any]) -> Any:
    python_type = column.type.python_type
    if python_type is uuid.UUID:
        return uuid.UUID(value)
    if python_type is datetime:
        return datetime.fromisoformat(value)
    if not isinstance(value, python_type):
        raise ValueError("wrong type")
    return value
