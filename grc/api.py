"""The flask-smorest Api with problem+json errors, the Blueprint every domain uses (strict argument parsing),
and the list machinery every collection uses.

JSON bodies are parsed only when they nest at most ``MAX_JSON_DEPTH`` arrays and objects deep: Python's parser
recurses once per level, so a body of 10,000 ``[`` ended in a RecursionError (a 500). The depth is counted on the
text, without recursion, before anything parses it: by the argument parser of every route (400 problem+json) and by
Flask's ``request.get_json`` (``JSONProvider``; ``get_json(silent=True)`` then gives None).

Lists are keyset-paginated: ``?limit=`` (1-100, default 20) and an opaque ``?cursor=``; the body is
``{"items": [...], "next_cursor": ...}``. The cursor holds the sort key of the last row returned, so
page 10,000 costs what page 1 costs (no OFFSET).
"""
from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import flask_smorest
from flask import Request, Response
from flask.json.provider import DefaultJSONProvider
from sqlalchemy import Select, tuple_
from sqlalchemy.orm import InstrumentedAttribute
from webargs.flaskparser import FlaskParser, abort, is_json_request
from werkzeug.exceptions import HTTPException

from grc.errors import (
    PROBLEM_MEDIA_TYPE,
    InvalidField,
    ProblemSchema,
    http_exception_to_problem,
    note_if_match_checked,
)
from grc.extensions import limiter
from grc.guard import public

MAX_JSON_DEPTH = 64
TOO_DEEP = f"The JSON body is nested too deep: more than {MAX_JSON_DEPTH} levels of arrays and objects."
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


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


def nested_too_deep(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the arrays and objects of a JSON text nest more than ``limit`` deep, counted without parsing it.

    Brackets inside strings do not count; for valid JSON the count is exact, and invalid JSON fails to parse anyway.
    """
    if text.count("[") + text.count("{") <= limit:
        return False  # it cannot nest deeper than it has brackets: the usual body costs two counts
    depth = 0
    for bracket in _BRACKET.findall(_JSON_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        if depth > limit:
            return True
    return False


class JSONTooDeep(ValueError):
    """Flask's ``request.get_json`` turns a ValueError into a 400 (or None when silent)."""


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, refusing to parse a text nested deeper than ``MAX_JSON_DEPTH``."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        text = s.decode(json.detect_encoding(s), "surrogatepass") if isinstance(s, bytes | bytearray) else s
        if nested_too_deep(text):
            raise JSONTooDeep(TOO_DEEP)
        return super().loads(text, **kwargs)


class StrictParser(FlaskParser):
    """webargs drops unknown query parameters by default; we let the schema's RAISE apply to them too, so a
    misspelt filter (``?statu=dead``) is a 422 naming it instead of a list that silently ignores it.

    A JSON body nested deeper than ``MAX_JSON_DEPTH`` is a 400 like any other body that is not JSON we read."""

    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": None, "querystring": None}

    def _raw_load_json(self, req: Request) -> Any:
        if is_json_request(req):
            try:
                text = req.get_data(cache=True).decode("utf-8")
            except UnicodeDecodeError:
                text = ""  # webargs answers it (400, "Invalid JSON body.")
            if nested_too_deep(text):
                abort(400, messages={"json": [TOO_DEEP]})
        return super()._raw_load_json(req)


Route = Callable[..., Any]


class Blueprint(flask_smorest.Blueprint):
    """Every domain's blueprint: flask-smorest's, parsing query strings and bodies with ``StrictParser``."""

    ARGUMENTS_PARSER = StrictParser()

    def check_etag(self, etag_data: Any, etag_schema: Any = None) -> None:
        """flask-smorest's check (412 unless If-Match names the current ETag); a pass is noted for the error
        handlers: should this request then lose the version check to a concurrent writer, its ETag went stale."""
        super().check_etag(etag_data, etag_schema)
        note_if_match_checked()

    def public_lookup(self, limit: Callable[[], str], *, scope: str) -> Callable[[Route], Route]:
        """A lookup anyone may make without logging in (``guard.public``), rate-limited per client IP in the
        budget ``scope`` it shares with other lookups, documented as such: no security, 404 and 429 answers."""

        def decorate(view: Route) -> Route:
            for answer, response in ((404, "NOT_FOUND"), (429, "TOO_MANY_REQUESTS")):
                view = self.alt_response(answer, response=response)(view)
            view = self.doc(security=[])(view)
            return public(limiter.shared_limit(limit, scope=scope)(view))

        return decorate


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
