"""Every JWT failure is a 401 problem+json (Flask-JWT-Extended answers {"msg"} and sometimes 422 by default)."""
from __future__ import annotations

from typing import Any

from flask import Response

from grc.errors import problem
from grc.extensions import jwt


def _unauthorized(detail: str) -> Response:
    return problem(401, detail, slug="unauthorized", headers={"WWW-Authenticate": 'Bearer realm="grc"'})


@jwt.unauthorized_loader
def _missing(reason: str) -> Response:
    return _unauthorized(f"Authentication required: {reason}.")


@jwt.invalid_token_loader
def _invalid(reason: str) -> Response:
    return _unauthorized(f"The token is not valid: {reason}.")


@jwt.expired_token_loader
def _expired(_header: dict[str, Any], _payload: dict[str, Any]) -> Response:
    return _unauthorized("The token has expired.")


@jwt.needs_fresh_token_loader
def _not_fresh(_header: dict[str, Any], _payload: dict[str, Any]) -> Response:
    return _unauthorized("A fresh token is required.")


@jwt.user_lookup_error_loader
def _no_user(_header: dict[str, Any], _payload: dict[str, Any]) -> Response:
    return _unauthorized("The account behind this token is inactive or gone.")


@jwt.token_verification_failed_loader
def _claims_failed(_header: dict[str, Any], _payload: dict[str, Any]) -> Response:
    return _unauthorized("The token's claims were not accepted.")


