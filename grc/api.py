"""The flask-smorest Api with problem+json errors, and the list machinery every collection uses.

Lists are keyset-paginated: ``?limit=`` (1-100, default 20) and an opaque ``?cursor=``; the body is
``{"items": [...], "next_cursor": ...}``. The cursor holds the sort key of the last row returned, so
page 10,000 costs what page 1 costs (no OFFSET).
"""
from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import flask_smorest
import marshmallow as ma
from sqlalchemy import Select, tuple_
from webargs.flaskparser import FlaskParser
from sqlalchemy.orm import InstrumentedAttribute
from werkzeug.exceptions import HTTPException

from grc.dumping import Schema
from grc.errors import PROBLEM_MEDIA_TYPE, InvalidField, ProblemSchema, http_exception_to_problem

MAX_LIMIT = 100


class Api(flask_smorest.Api):
    """flask-smorest's Api answering every error as RFC 9457 problem+json, and documenting it so."""

    ERROR_SCHEMA = ProblemSchema

    def handle_http_exception(self, error: HTTPException):  # type: ignore[override]
        return http_exception_to_problem(error)

    def _register_responses(self) -> None:
        # The named error responses are registered with the media type the handlers really send.
        self.DEFAULT_RESPONSE_CONTENT_TYPE = PROBLEM_MEDIA_TYPE
        try:
            super()._register_responses()
        finally:
            del self.DEFAULT_RESPONSE_CONTENT_TYPE


class StrictSchema(Schema):
    """Base of every request schema: unknown fields are rejected (marshmallow's RAISE, kept explicit)."""

    class Meta:
        unknown = ma.RAISE


    @ma.pre_load
    def _reject_nul_characters(self, data: Any, **_: Any) -> Any:
        """PostgreSQL text cannot hold U+0000 (the query fails with a 500), so refuse it here as a 422."""
        errors = _nul_errors(data) if isinstance(data, Mapping) else None  # other shapes: marshmallow's 422
        if errors:
            raise ma.ValidationError(errors)
        return data


class StrictParser(FlaskParser):
    """webargs drops unknown query parameters by default; we let the schema's RAISE apply to them too, so a
    misspelt filter (``?statu=dead``) is a 422 naming it instead of a list that silently ignores it."""

    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": None, "querystring": None}


flask_smorest.Blueprint.ARGUMENTS_PARSER = StrictParser()


NUL_MESSAGE = "Must not contain the NUL character (U+0000)."


def _nul_errors(value: Any) -> Any:
    """Nested messages for every string (or mapping key) under ``value`` that contains U+0000, else None."""
    if isinstance(value, str):
        return [NUL_MESSAGE] if "\x00" in value else None
    if isinstance(value, Mapping):
        found = {str(key): [NUL_MESSAGE] if "\x00" in str(key) else _nul_errors(value[key]) for key in value}
    elif isinstance(value, list):
        found = {index: _nul_errors(item) for index, item in enumerate(value)}
    else:
        return None
    return {key: errors for key, errors in found.items() if errors} or None


class ListArgs(StrictSchema):
    """Query arguments shared by every list endpoint; domain lists subclass it to add filters."""

    limit = ma.fields.Integer(
        load_default=20,
        validate=ma.validate.Range(min=1, max=MAX_LIMIT),
        metadata={"description": f"Page size, 1 to {MAX_LIMIT}"},
    )
    cursor = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(max=512),
        metadata={"description": "Opaque cursor from the previous page's next_cursor"},
    )


_page_schemas: dict[str, type[ma.Schema]] = {}


def page_of(item_schema: type[ma.Schema]) -> type[ma.Schema]:
    """The list envelope for one item schema, built once per schema (named ``<Item>Page`` in the spec)."""
    name = item_schema.__name__.removesuffix("Schema") + "Page"
    if name not in _page_schemas:
        _page_schemas[name] = type(
            name,
            (Schema,),
            {
                "items": ma.fields.List(ma.fields.Nested(item_schema), required=True),
                "next_cursor": ma.fields.String(
                    allow_none=True, required=True, metadata={"description": "Cursor of the next page, or null"}
                ),
            },
        )
    return _page_schemas[name]


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
