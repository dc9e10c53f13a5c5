"""The composition root: ``create_app`` assembles the application from its parts, in a visible order.

This is the one module that imports every domain (their routes, and through them their services, whose
``@events.on`` subscriptions and ``@tenancy.path_resource`` loaders register as they are defined). Everything it
wires is explicit here: the commit pipeline, the guard with the function that authenticates, the JWT error
answers, the delivery channels. docs/ARCHITECTURE.md draws the layers.
"""
from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta
from typing import Any

from flask import Flask

from grc import dumping, guard, metrics, openapi, ratelimit, request_log, tenancy, uow
from grc.actions.routes import blp as actions
from grc.api import Api, Blueprint, JSONProvider
from grc.api_docs import api_docs_assets
from grc.auditlog.routes import blp as audit_events
from grc.audits.routes import blp as audits
from grc.auth.jwt_loaders import install_jwt_loaders
from grc.auth.passwords import use_cheap_hashing_for_tests
from grc.auth.routes import api_clients, auth, users
from grc.auth.service import authenticate
from grc.certification.document_routes import blp as certificate_documents
from grc.certification.public_routes import blp as public_certificates
from grc.certification.routes import blp as certification
from grc.commit_pipeline import install_pipeline
from grc.config import Settings
from grc.credentials import licences  # noqa: F401 - signs mark licences, adds them to the public licence check
from grc.credentials.routes import blp as public_credentials
from grc.errors import register_error_handlers
from grc.evidence.routes import blp as evidence
from grc.extensions import db, jwt, limiter
from grc.findings.routes import blp as findings
from grc.health import health
from grc.jobs.routes import blp as jobs
from grc.marks.badge_routes import badges
from grc.marks.routes import blp as mark_licences
from grc.notifications import email  # noqa: F401 - the e-mail channel registers its sender
from grc.notifications.routes import blp as notifications
from grc.registry import files  # noqa: F401 - the registry's export formats register themselves
from grc.registry.routes import blp as registry_connections
from grc.risks.control_routes import blp as controls
from grc.risks.reporting_routes import blp as risk_reporting
from grc.risks.routes import blp as risks
from grc.schemes.routes import blp as schemes
from grc.scim.protocol_routes import scim
from grc.scim.routes import groups as scim_groups
from grc.scim.routes import tokens as scim_tokens
from grc.signing.routes import blp as signing_keys
from grc.signing.routes import issuers as public_issuers
from grc.sso.routes import providers as identity_providers
from grc.sso.routes import sso
from grc.tenants.routes import clients, policy, tenants
from grc.web.routes import web
from grc.webhooks.routes import blp as webhooks

API_PREFIX = "/api/v1"

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, **overrides: Any) -> Flask:
    """Build the application; ``overrides`` replace single settings (tests, CLI flags)."""
    settings = replace(settings or Settings(), **overrides) if overrides else (settings or Settings())
    settings.check()
    if settings.env == "test":
        use_cheap_hashing_for_tests()
        dumping.check_against_marshmallow(True)
        dumping.hold_to_the_spec(True)
    install_pipeline()
    app = Flask("grc")
    app.json = JSONProvider(app)  # request.get_json refuses a body nested too deep instead of recursing into it
    app.config.update(_flask_config(settings))
    request_log.configure_logging(settings.log_level)
    if not settings.key_encryption_key:
        log.warning("GRC_KEY_ENCRYPTION_KEY is not set: signing keys are sealed with a development key derived from "
                    "GRC_SECRET_KEY (production refuses to start without it)")
    db.init_app(app, settings.database_url, {tenancy.SCOPE_KEY: tenancy.scope_key(settings.secret_key)})
    jwt.init_app(app)
    install_jwt_loaders(jwt)
    limiter.init_app(app)
    api = Api(app)
    app.extensions["grc.api"] = api
    register_error_handlers(app)
    request_log.install_request_ids(app)
    app.register_blueprint(health)
    app.register_blueprint(api_docs_assets)
    app.register_blueprint(badges)
    app.register_blueprint(web)  # HTML pages: not on the Api, so outside the guard and the spec
    app.register_blueprint(scim)  # SCIM 2.0: its own bodies, errors and token (grc.scim.protocol_routes)
    metrics.install_metrics(app)

    blueprints = _register_domains(api)
    names = {blp.name for blp in blueprints}
    uow.wrap_views(app, names | {scim.name})
    guard.install_guard(app, names, authenticate)
    guard.check_path_params(app, names)
    openapi.finish_spec(app, api.spec, names)
    return app


def _flask_config(settings: Settings) -> dict[str, Any]:
    return {
        "GRC_SETTINGS": settings,
        "SECRET_KEY": settings.secret_key,
        "MAX_CONTENT_LENGTH": settings.max_body_bytes,
        "JSON_SORT_KEYS": False,
        "JWT_SECRET_KEY": settings.secret_key,
        "JWT_ACCESS_TOKEN_EXPIRES": timedelta(minutes=settings.access_token_minutes),
        "JWT_REFRESH_TOKEN_EXPIRES": timedelta(days=settings.refresh_token_days),
        "JWT_TOKEN_LOCATION": ["headers"],
        "RATELIMIT_STORAGE_URI": ratelimit.storage_uri(settings.redis_url),
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATELIMIT_STRATEGY": ratelimit.NAME,
        "RATELIMIT_SWALLOW_ERRORS": False,  # fail closed: a limiter that cannot count never lets requests through
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


def _register_domains(api: Api) -> list[Blueprint]:
    """Each domain's blueprints, in the order their tags appear in the docs."""
    blueprints = [auth, tenants, clients, users, api_clients, policy, scim_tokens, scim_groups, schemes, audits,
                  findings, actions, evidence, certification, certificate_documents, public_certificates,
                  public_credentials, signing_keys, public_issuers, mark_licences, registry_connections, risks,
                  controls, risk_reporting, audit_events, notifications, webhooks, identity_providers, sso, jobs]
    for blp in blueprints:
        api.register_blueprint(blp)
    return blueprints
