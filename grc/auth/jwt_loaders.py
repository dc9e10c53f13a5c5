"""Every JWT failure is a 401 problem+json (Flask-JWT-Extended answers {"msg"} and sometimes 422 by default)."""
from __future__ import annotations

from typing import Any

from flask import Response
from flask_jwt_extended import JWTManager

from grc.errors import problem


def _unauthorized(detail: str) -> Response:
    return problem(401, detail, slug="unauthorized", headers={"WWW-Authenticate": 'Bearer realm="grc"'})


def _missing(reason: str) -> Response:
    return _unauthorized(f"Authentication required: {reason}.")


def _invalid(reason: str) -> Response:
    return _unauthorized(f"The token is not valid: {reason}.")


def _expired(_header: dict[str, Any], _payload: dict[str, Any]) -> Response:
    return _unauthorized("The token has expired.")


def _not_fresh(_header: dict[str, Any], _payload: dict[str, Any]) -> Response:
    return _unauthorized("A fresh token is required.")


def _no_user(_header: dict[str, Any], _payload: dict[str, Any]) -> Response:
    return _unauthorized("The account behind this token is inactive or gone.")


def _claims_failed(_header: dict[str, Any], _payload: dict[str, Any]) -> Response:
    return _unauthorized("The token's claims were not accepted.")


def install_jwt_loaders(manager: JWTManager) -> None:
    """Answer every way a token can fail as 401 problem+json (``create_app`` calls it once per app)."""
    manager.unauthorized_loader(_missing)
    manager.invalid_token_loader(_invalid)
    manager.expired_token_loader(_expired)
    manager.needs_fresh_token_loader(_not_fresh)
    manager.user_lookup_error_loader(_no_user)
    manager.token_verification_failed_loader(_claims_failed)
