"""RFC 9457 problem details for every error the API returns.

Services raise the domain exceptions below (no Flask objects involved); the handlers registered in
``register_error_handlers`` turn them, and every HTTPException, JWT or unexpected error, into
``application/problem+json`` with ``type``, ``title``, ``status``, ``detail`` and, where it helps the
client, ``errors`` (field -> messages) or ``rule`` (the docs/DOMAIN-RULES.md rule id that refused the request).
"""
from __future__ import annotations

import http
import logging
from typing import Any

import marshmallow as ma
from flask import Flask, Response, g, json
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from grc.dumping import OMITTED_WHEN
from grc.schemas import Schema

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://grc.example/problems/"
log = logging.getLogger("grc.errors")
IF_MATCH_CHECKED = "grc_if_match_checked"


class ProblemSchema(Schema):
    """RFC 9457 problem details (documentation schema; the handlers build the payload)."""

    type = ma.fields.String(metadata={"description": "URI naming the kind of problem"})
    title = ma.fields.String(metadata={"description": "Short summary of the kind of problem"})
    status = ma.fields.Integer(metadata={"description": "HTTP status code"})
    detail = ma.fields.String(metadata={"description": "What went wrong with this request"})
    instance = ma.fields.String(metadata={"description": "Request id of this occurrence",
                                          OMITTED_WHEN: "when the request has no id (refused before it got one)"})
    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        metadata={"description": "Field name -> list of messages (validation problems)",
                  OMITTED_WHEN: "unless the problem names fields"},
    )
    rule = ma.fields.String(metadata={"description": "Id of the domain rule that refused the request (e.g. C2)",
                                      OMITTED_WHEN: "unless a domain rule refused the request"})
    mfa_ticket = ma.fields.String(metadata={"description": "Sign-in needing a second step (types mfa-required, "
                                                           "mfa-enrolment-required): present it to /auth/mfa...",
                                            OMITTED_WHEN: "unless the sign-in needs a second step"})


class DomainError(Exception):
    """Base of the errors services raise; each maps to one HTTP status."""

    status = 400
    slug = "bad-request"

    def __init__(self, detail: str, *, errors: dict[str, list[str]] | None = None, rule: str | None = None):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.rule = rule

    def members(self) -> dict[str, Any]:
        """Problem members of this kind of error beyond RFC 9457's and ours (none but for a few)."""
        return {}


class NotFound(DomainError):
    """Also used for anything outside the caller's visibility, so ids cannot be probed."""

    status = 404
    slug = "not-found"


class Forbidden(DomainError):
    status = 403
    slug = "forbidden"


class Unauthorized(DomainError):
    status = 401
    slug = "unauthorized"


class SignInContinues(DomainError):
    """The password was right, but the sign-in needs a second step (rule I2): a 403 of its own type carrying the
    ``mfa_ticket`` for that step, so a client that knows nothing of it fails clearly instead of finding no tokens."""

    status = 403

    def __init__(self, detail: str, *, slug: str, mfa_ticket: str):
        super().__init__(detail, rule="I2")
        self.slug = slug
        self.mfa_ticket = mfa_ticket

    def members(self) -> dict[str, Any]:
        return {"mfa_ticket": self.mfa_ticket}


class RuleViolation(DomainError):
    """A domain rule (docs/DESIGN.md section 3) refuses the change."""

    status = 409
    slug = "rule-violation"


class Conflict(DomainError):
    status = 409
    slug = "conflict"


class Unavailable(DomainError):
    """A backing service (the job queue) cannot take the request now; retry later."""

    status = 503
    slug = "unavailable"


class BadGateway(DomainError):
    """A service grc calls on the caller's behalf (an identity provider) failed or answered nonsense."""

    status = 502
    slug = "bad-gateway"


class InvalidField(DomainError):
    """Input that passed the schema but breaks a rule about one field (duplicate e-mail, unknown role...)."""

    status = 422
    slug = "validation-error"

    def __init__(self, field: str, message: str):
        super().__init__(f"Invalid value for '{field}': {message}", errors={field: [message]})


def note_if_match_checked() -> None:
    """This request's If-Match named the resource's current ETag (``grc.api.Blueprint.check_etag``)."""
    g.setdefault(IF_MATCH_CHECKED, True)


def problem_document(status: int, detail: str | None = None, slug: str | None = None) -> dict[str, Any]:
    """The RFC 9457 members every problem has; also what gunicorn's own refusals answer (docker/gunicorn.conf.py)."""
    phrase = http.HTTPStatus(status).phrase
    return {"type": PROBLEM_TYPE_BASE + (slug or phrase.lower().replace(" ", "-")), "title": phrase,
            "status": status, "detail": detail or phrase}


def problem(status: int, detail: str | None = None, **extra: Any) -> Response:
    """Build a problem+json response."""
    body = problem_document(status, detail, extra.pop("slug", None))
    request_id = g.get("request_id")
    if request_id:
        body["instance"] = f"urn:request:{request_id}"
    headers = extra.pop("headers", None) or {}
    body.update({key: value for key, value in extra.items() if value is not None})
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_MEDIA_TYPE)
    response.headers.update(headers)
    return response


def flatten_validation_errors(messages: Any) -> dict[str, list[str]]:
    """webargs nests messages by location ({"json": {"name": [...]}}); clients want field -> messages."""
    flat: dict[str, list[str]] = {}
    if not isinstance(messages, dict):
        return {"_schema": [str(messages)]}
    for location, fields in messages.items():
        if isinstance(fields, dict):
            _flatten_into(flat, fields, prefix="")
        else:
            flat.setdefault(location, []).extend(_as_messages(fields))
    return flat


def _flatten_into(flat: dict[str, list[str]], fields: dict[str, Any], prefix: str) -> None:
    for name, value in fields.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict):
            _flatten_into(flat, value, prefix=f"{key}.")
        else:
            flat.setdefault(key, []).extend(_as_messages(value))


def _as_messages(value: Any) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list | tuple) else [str(value)]


def http_exception_to_problem(error: HTTPException) -> Response:
    """Flask/werkzeug/webargs/flask-smorest errors (404, 405, 412, 413, 422, 428, 429...) as problems."""
    data = getattr(error, "data", None) or {}
    status = error.code or 500
    extra: dict[str, Any] = {}
    messages = data.get("errors") or data.get("messages")
    if messages:
        extra["errors"] = flatten_validation_errors(messages)
    detail = data.get("message") or error.description
    if status == 422 and messages:
        detail = "The request has invalid fields: " + ", ".join(sorted(extra["errors"]))
        extra["slug"] = "validation-error"
    elif status == 400 and messages and not data.get("message"):
        detail = " ".join(msg for msgs in extra["errors"].values() for msg in msgs)  # e.g. "Invalid JSON body."
    headers = dict(data.get("headers") or {})
    if error.response is not None and "Retry-After" in error.response.headers:
        headers["Retry-After"] = error.response.headers["Retry-After"]
    valid_methods = getattr(error, "valid_methods", None)
    if valid_methods:
        headers["Allow"] = ", ".join(valid_methods)  # RFC 9110: a 405 must list them
    retry_after = getattr(error, "retry_after", None)
    if status == 429 and "Retry-After" not in headers and retry_after:
        headers["Retry-After"] = str(retry_after)
    return problem(status, detail, headers=headers, **extra)


RETRY_AFTER_SECONDS = 5  # what a 503 asks a client to wait: a restarting database or Redis is back within seconds
UNREACHABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03")  # connection exceptions; the server shutting down or starting


def database_unreachable(error: DBAPIError) -> bool:
    """A connection lost, refused or ended by a restarting server: the request may be retried as it is. (A statement
    the database refused, a deadlock or a constraint, is not this: it has its own SQLSTATE.)"""
    if error.connection_invalidated:
        return True
    sqlstate = getattr(error.orig, "sqlstate", None)
    return isinstance(error, OperationalError) and (sqlstate is None or sqlstate.startswith(UNREACHABLE_SQLSTATES))


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(error: DomainError) -> Response:
        return problem(error.status, error.detail, slug=error.slug, errors=error.errors, rule=error.rule,
                       **error.members())

    @app.errorhandler(StaleDataError)
    def _stale(_error: StaleDataError) -> Response:
        # Two requests changed the same row at once and this one lost the version check (its unit of work is
        # rolled back when the request ends): a conflict the client resolves by reading again, not a server fault.
        if g.get(IF_MATCH_CHECKED):
            # Its If-Match named the version it read, and the winner's commit made that ETag stale: the answer a
            # stale ETag gets (412), whether the check ran after the winner's commit or, as here, just before it.
            return problem(412, "The ETag in If-Match is stale: another request changed the resource meanwhile; "
                                "fetch it again and retry.")
        return problem(409, "The resource was changed by another request meanwhile; fetch it again and retry.",
                       slug=Conflict.slug)

    @app.errorhandler(DBAPIError)
    def _database(error: DBAPIError) -> Response:
        if not database_unreachable(error):
            return _unexpected(error)
        log.warning("database unreachable", extra={"request_id": g.get("request_id"), "error": repr(error.orig)})
        return problem(503, "The database cannot be reached right now; retry shortly.", slug=Unavailable.slug,
                       headers={"Retry-After": str(RETRY_AFTER_SECONDS)})

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        if isinstance(error, HTTPException):
            return http_exception_to_problem(error)
        log.exception("unhandled error", extra={"request_id": g.get("request_id")})
        return problem(500, "An unexpected error occurred; it has been logged with this request's id.")


class InvalidRows(DomainError):
    """A bulk input (an import) with problems in some rows: every problem, keyed ``row N.field``."""

    status = 422
    slug = "validation-error"
