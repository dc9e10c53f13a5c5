"""grc: multi-tenant REST API for ISO management-system certification and ISO 31000 risk registers."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from flask import Flask

from grc.api import Api
from grc.config import Settings

API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None, **overrides: Any) -> Flask:
    """Build the application; ``overrides`` replace single settings (tests, CLI flags)."""
    settings = replace(settings or Settings(), **overrides) if overrides else (settings or Settings())
    settings.check()

    from grc import ops, routing, uow
    from grc.errors import register_error_handlers
    from grc.extensions import db, jwt, limiter

    if settings.env == "test":
        from grc import dumping
        from grc.auth.passwords import use_cheap_hashing_for_tests

        use_cheap_hashing_for_tests()
        dumping.check_against_marshmallow(True)
    app = Flask(__name__)
    app.config.update(_flask_config(settings))
    ops.configure_logging(settings.log_level)
    db.init_app(app, settings.database_url)
    jwt.init_app(app)
    limiter.init_app(app)
    api = Api(app)
    app.extensions["grc.api"] = api
    register_error_handlers(app)
    _register_jwt_loaders()
    ops.install_request_ids(app)
    app.register_blueprint(ops.ops)
    from grc.marks.badge_routes import badges

    app.register_blueprint(badges)
    from grc.web.routes import web

    app.register_blueprint(web)  # HTML pages: not on the Api, so outside the guard and the spec
    ops.install_metrics(app)

    blueprints = _register_domains(api)
    names = {blp.name for blp in blueprints}
    uow.wrap_views(app, names)
    routing.install_guard(app, names)
    routing.check_path_params(app, names)
    routing.finish_spec(app, api.spec, names)
    _load_delivery_channels()
    return app


def _flask_config(settings: Settings) -> dict[str, Any]:
    from grc import ratelimit

    return {
        "GRC_SETTINGS": settings,
        "SECRET_KEY": settings.secret_key,
        "MAX_CONTENT_LENGTH": settings.max_body_bytes,
        "JSON_SORT_KEYS": False,
        "JWT_SECRET_KEY": settings.secret_key,
        "JWT_ACCESS_TOKEN_EXPIRES": timedelta(minutes=settings.access_token_minutes),
        "JWT_REFRESH_TOKEN_EXPIRES": timedelta(days=settings.refresh_token_days),
        "JWT_TOKEN_LOCATION": ["headers"],
        "RATELIMIT_STORAGE_URI": settings.redis_url or "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATELIMIT_STRATEGY": ratelimit.NAME,
        "RATELIMIT_SWALLOW_ERRORS": True,
        "API_TITLE": "grc — ISO certification and risk API",
        "API_VERSION": "1.0.0",
        "OPENAPI_VERSION": "3.1.0",
        "OPENAPI_URL_PREFIX": "/",
        "OPENAPI_JSON_PATH": "api/v1/openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        "OPENAPI_SWAGGER_UI_URL": "/docs/static/",
        "API_SPEC_OPTIONS": {
            "info": {
                "description": (
                    "Certification bodies and their client organisations run ISO/IEC 17021-1 certification "
                    "and keep ISO 31000 risk registers. Errors are RFC 9457 problem+json; lists are "
                    "keyset-paginated with `limit` and an opaque `cursor`."
                ),
            },
            "servers": [{"url": "/"}],
            "components": {
                "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
            },
            "security": [{"bearerAuth": []}],
        },
    }


def _register_domains(api: Api) -> list[Any]:
    """Each domain's blueprints, in the order their tags appear in the docs."""
    from grc.actions.routes import blp as actions
    from grc.auditlog.routes import blp as audit_events
    from grc.audits.routes import blp as audits
    from grc.auth.routes import api_clients, auth, users
    from grc.certification.document_routes import blp as certificate_documents
    from grc.certification.public_routes import blp as public_certificates
    from grc.certification.routes import blp as certification
    from grc.evidence.routes import blp as evidence
    from grc.findings.routes import blp as findings
    from grc.marks.routes import blp as mark_licences
    from grc.jobs.routes import blp as jobs
    from grc.notifications.routes import blp as notifications
    from grc.risks.control_routes import blp as controls
    from grc.risks.reporting_routes import blp as risk_reporting
    from grc.risks.routes import blp as risks
    from grc.schemes.routes import blp as schemes
    from grc.tenants.routes import clients, policy, tenants
    from grc.webhooks.routes import blp as webhooks

    blueprints = [auth, tenants, clients, users, api_clients, policy, schemes, audits, findings, actions, evidence,
                  certification, certificate_documents, public_certificates, mark_licences, risks, controls,
                  risk_reporting, audit_events, notifications, webhooks, jobs]
    for blp in blueprints:
        api.register_blueprint(blp)
    return blueprints


def _register_jwt_loaders() -> None:
    from grc.auth import jwt_loaders  # noqa: F401 - registers the loaders on import


def _load_delivery_channels() -> None:
    from grc.notifications import triggers  # noqa: F401 - relays the outbox after each commit
