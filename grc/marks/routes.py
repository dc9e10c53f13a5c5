"""Certification-mark licences (M1-M3) and their public JSON view."""
from __future__ import annotations

import uuid
from typing import Any

from flask import current_app

from grc import tenancy
from grc.api import Blueprint
from grc.certification.public import lookup_rate_limit
from grc.config import Settings
from grc.extensions import db
from grc.guard import requires
from grc.marks import domain_proofs, service
from grc.marks.models import MarkLicence
from grc.marks.schemas import (
    ChallengeRequestSchema,
    DomainStatusListSchema,
    DomainStatusSchema,
    MarkLicenceCreateSchema,
    MarkLicenceListArgs,
    MarkLicenceSchema,
    PublicMarkLicenceSchema,
    ReasonSchema,
)
from grc.schemas import page_of

blp = Blueprint("mark_licences", __name__, url_prefix="/api/v1", description="Certification-mark licences and badges")
MANAGER = service.MANAGER


@blp.route("/mark-licences", methods=["POST"])
@requires(MANAGER)
@blp.arguments(MarkLicenceCreateSchema)
@blp.response(201, MarkLicenceSchema)
def grant_mark_licence(data: dict[str, Any]) -> MarkLicence:
    """Rule M1: license a client to use the mark for active certificates, permitted uses and online domains.

    Use on products, packaging, test reports or certificates of conformity is never permitted (422, rule M1);
    `domains` is required when `website` is a permitted use. The licence gets a public, unguessable number.
    """
    return service.grant(db.session, data, caller=tenancy.current())


@blp.route("/mark-licences", methods=["GET"])
@blp.arguments(MarkLicenceListArgs, location="query")
@blp.response(200, page_of(MarkLicenceSchema))
def list_mark_licences(args: dict[str, Any]) -> dict[str, Any]:
    """Licences the caller's CB granted, or that were granted to the caller's organisation."""
    return service.list_licences(db.session, args)


@blp.route("/mark-licences/<uuid:licence_id>", methods=["GET"])
@blp.response(200, MarkLicenceSchema)
def get_mark_licence(licence_id: uuid.UUID) -> MarkLicence:
    """One licence, with its certificates and their statuses."""
    return tenancy.resolved(service.visible_licence, licence_id)


@blp.route("/mark-licences/<uuid:licence_id>/suspend", methods=["POST"])
@requires(MANAGER)
@blp.arguments(ReasonSchema)
@blp.response(200, MarkLicenceSchema)
def suspend_mark_licence(data: dict[str, Any], licence_id: uuid.UUID) -> MarkLicence:
    """Rule M2: the CB suspends the licence itself, whatever its certificates say (409 if already suspended so)."""
    licence = tenancy.resolved(service.visible_licence, licence_id)
    return service.suspend(db.session, licence, data["reason"], caller=tenancy.current())


@blp.route("/mark-licences/<uuid:licence_id>/restore", methods=["POST"])
@requires(MANAGER)
@blp.arguments(ReasonSchema)
@blp.response(200, MarkLicenceSchema)
def restore_mark_licence(data: dict[str, Any], licence_id: uuid.UUID) -> MarkLicence:
    """Rule M2: lift the CB's own suspension; 409 unless the CB suspended it and every certificate is active."""
    licence = tenancy.resolved(service.visible_licence, licence_id)
    return service.restore(db.session, licence, data["reason"], caller=tenancy.current())


@blp.route("/mark-licences/<uuid:licence_id>/withdraw", methods=["POST"])
@requires(MANAGER)
@blp.arguments(ReasonSchema)
@blp.response(200, MarkLicenceSchema)
def withdraw_mark_licence(data: dict[str, Any], licence_id: uuid.UUID) -> MarkLicence:
    """Rule M2: the CB withdraws the licence; withdrawn is terminal (409 if already withdrawn)."""
    licence = tenancy.resolved(service.visible_licence, licence_id)
    return service.withdraw(db.session, licence, data["reason"], caller=tenancy.current())


@blp.route("/mark-licences/<uuid:licence_id>/domains", methods=["GET"])
@blp.response(200, DomainStatusListSchema)
def list_mark_licence_domains(licence_id: uuid.UUID) -> dict[str, Any]:
    """Rule V4: each domain of the licence with its proof state, its re-checks and any pending challenge."""
    licence = tenancy.resolved(service.visible_licence, licence_id)
    return {"items": domain_proofs.domains(licence, _settings())}


@blp.route("/mark-licences/<uuid:licence_id>/domains/<domain>/challenges", methods=["POST"])
@requires(*domain_proofs.LICENSEE_ROLES)
@blp.arguments(ChallengeRequestSchema)
@blp.response(201, DomainStatusSchema)
def new_domain_challenge(data: dict[str, Any], licence_id: uuid.UUID, domain: str) -> domain_proofs.DomainStatus:
    """Rule V4: the licensee asks to prove a domain of its licence; the answer says exactly what to publish where.

    `http`: serve the token as the body of `https://{domain}/.well-known/grc-mark/{token}`; `dns`: a TXT record at
    `_grc-mark.{domain}` whose value is the token. Then ask for the check. A new challenge replaces a pending one.
    """
    licence = tenancy.resolved(service.visible_licence, licence_id)
    proof = domain_proofs.new_challenge(db.session, licence, domain, data["method"], caller=tenancy.current())
    return domain_proofs.DomainStatus(proof, domain_proofs.challenge_of(proof, _settings()))


@blp.route("/mark-licences/<uuid:licence_id>/domains/<domain>/check", methods=["POST"])
@requires(*domain_proofs.LICENSEE_ROLES)
@blp.response(200, DomainStatusSchema)
@blp.alt_response(409, response="CONFLICT")
def check_domain(licence_id: uuid.UUID, domain: str) -> domain_proofs.DomainStatus:
    """Rule V4: the server looks for the pending challenge's token, now (one call, bounded by a timeout).

    Found: `state` is `proven` and the challenge is used up. Not found: `state` is unchanged and `challenge.error`
    says why; fix it and check again. 409 when no challenge is pending or it expired.
    """
    licence = tenancy.resolved(service.visible_licence, licence_id)
    settings = _settings()
    proof = domain_proofs.check(db.session, licence, domain, settings, caller=tenancy.current())
    return domain_proofs.DomainStatus(proof, domain_proofs.challenge_of(proof, settings))


def _settings() -> Settings:
    settings: Settings = current_app.config["GRC_SETTINGS"]
    return settings


@blp.route("/public/mark-licences/<number>", methods=["GET"])
@blp.public_lookup(lookup_rate_limit, scope=service.LOOKUP_LIMIT_SCOPE)
@blp.response(200, PublicMarkLicenceSchema)
def get_public_mark_licence(number: str) -> dict[str, Any]:
    """Rule M3: anyone, without logging in, checks a mark licence by its number (public fields only).

    The badge is `GET /badges/{number}.svg` and the verification page `GET /badges/{number}`; each certificate
    links its public check (rule C10). `credential` is the licence signed by the certification body (V2), whose
    status entries follow the licence (M2). Unknown numbers answer 404; rate-limited per client IP.
    """
    return service.public_licence_answer(db.session, number)
