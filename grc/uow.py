"""The unit of work of an API request, and Idempotency-Key replay; wrapped around every API view once.

A view (through its services) only stages changes. Here a successful response commits them, with the
audit events and outbox messages the hooks added, in one transaction; an error answer or an exception
rolls everything back, so no half-written record survives. A POST that carries ``Idempotency-Key`` stores
its response in that same transaction; a retry with the same key and body gets the stored response, a
retry with another body is refused (422), and a concurrent twin loses the unique index race (409).
"""
from __future__ import annotations

import functools
import hashlib
import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Flask, Response, g, make_response, request
from sqlalchemy import JSON, Index, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from grc.db import Base, IdMixin, utcnow
from grc.errors import Conflict, InvalidField
from grc.extensions import db
from grc.tenancy import TenantScoped

KEY_HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200


class IdempotencyRecord(IdMixin, TenantScoped, Base):
    """The first response to a POST with an Idempotency-Key, replayed to retries for 24 hours."""

    __in_views__ = False  # bookkeeping no cached view shows (grc.viewcache)
    __tablename__ = "idempotency_records"
    __audit__ = False
    __table_args__ = (Index("uq_idempotency_records_actor_key", "actor_id", "key", unique=True),)

    actor_id: Mapped[uuid.UUID]
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int]
    body: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


def wrap_views(app: Flask, api_blueprints: set[str]) -> None:
    for endpoint, view in list(app.view_functions.items()):
        if endpoint.split(".")[0] in api_blueprints:
            app.view_functions[endpoint] = _unit_of_work(view)


def _unit_of_work(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def run(*args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(KEY_HEADER) if request.method == "POST" and g.get("principal") else None
        if key is not None:
            replay = _replay(key)
            if replay is not None:
                return replay
        response = make_response(view(*args, **kwargs))
        if response.status_code >= 400:
            db.session.rollback()
            return response
        if key is not None:
            _remember(key, response)
        _commit()
        return response

    return run


def _commit() -> None:
    session = db.session
    if not session.in_transaction():
        return  # nothing was read or staged (a cached public answer): no transaction to end, no hooks to run
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict("The change collides with a concurrent one (a unique value was taken); retry.") from exc


def _request_hash() -> str:
    return hashlib.sha256(request.method.encode() + request.path.encode() + request.get_data()).hexdigest()


def _replay(key: str) -> Response | None:
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidField(KEY_HEADER, f"must be 1 to {MAX_KEY_LENGTH} characters")
    principal = g.principal
    record = db.session.scalars(
        select(IdempotencyRecord).where(
            IdempotencyRecord.actor_id == principal.actor_id, IdempotencyRecord.key == key
        )
    ).one_or_none()
    if record is None:
        return None
    if record.request_hash != _request_hash():
        raise InvalidField(KEY_HEADER, "was already used for a different request")
    response = Response(json.dumps(record.body), status=record.status_code, mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _remember(key: str, response: Response) -> None:
    db.session.add(
        IdempotencyRecord(
            actor_id=g.principal.actor_id,
            key=key,
            request_hash=_request_hash(),
            status_code=response.status_code,
            body=response.get_json(silent=True),
        )
    )
