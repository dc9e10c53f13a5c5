"""IAF CertSearch records (G1): the CB upload API's request bodies built from our rows, and the registry's rules.

Pure functions over rows: ``records`` reads a CB's certificates, their clients and the CB's registry profile and
returns, per certificate, exactly the JSON body of the registry's upload call with the registry rules it breaks.
Nothing here sends anything (``grc.registry`` sync does) and nothing here reads another CB's rows.

Choices where the registry's documentation (docs/REGISTRY.md, "IAF CertSearch") leaves one:

- **v1 flat body.** ``POST /api/client/v1/cb/upload-cert`` (and ``bulk-upload-cert``, ``{"certifications": [...]}``)
  is the only fully documented CB upload; v2's body is published only in part. A v1 body carries one
  certification with its certified entity inlined, so each record carries one certificate; records come grouped
  by certified entity (``certified_entity_unique_id``), then by certificate number.
- **``certified_entity_unique_id``** is the client organisation's id: the registry calls it the CB's "client ID"
  that ties a client's certifications together; ours never changes when the client is renamed (36 characters,
  letters, digits and ``-``, within the registry's 45 and its allowed characters).
- **``certificate_identity_number``** is our certificate's id: the bulk v1 and v2 bodies carry it and the file
  templates key records on it ("Certification Identity Number"); a certificate number alone may be reused.
- **Certified entity = the client as it is now** (legal name, trading name, registered address): a rename or a
  new address is a change the registry must follow. Scope and sites come from the certificate's revision in force.
- **``sites``** are the certificate's sites other than the registered address, which is already the certified
  entity's address (the registry's XML calls them "additional sites"); ``[]`` tells the registry the certificate
  has none left. A site's address is the client's current address for the site of that name.
- **Country** is the ISO 3166 short name of our alpha-2 code (``United States``, ``Korea, Republic of``): the
  registry's country list follows those names; one it spells otherwise goes through its Data Mapping.
- **``certification_type``** is ``Management System``, the one documented value. **Scheme and standard**: our
  scheme's code (``ISO 9001``) as ``scheme_name``, code and edition (``ISO 9001:2015``) as ``standards_name``; the
  registry maps scheme names it spells otherwise ("Data Mapping is required").
- **Status**: lower case, as the single-upload page prints them, through the CB's mapping (``tenants.CbPolicy``).
- **Optional fields we hold no data for** (English name, website, confidentiality) are left out rather than sent
  empty; mandatory ones are always sent, empty when we lack the data, and reported as a ``Problem``. Where the
  documentation's versions disagree on "mandatory" (street, city, accreditation status) the stricter one holds.
"""
from __future__ import annotations

import re
import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pycountry
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, lazyload

from grc.certification.models import Certificate
from grc.tenants import service as tenants
from grc.tenants.models import REGISTRY_STATUSES, CbPolicy, Tenant

UPLOAD_PATH = "/api/client/v1/cb/upload-cert"
BULK_UPLOAD_PATH = "/api/client/v1/cb/bulk-upload-cert"
ACCREDITATION_STATUSES = ("Accredited", "Unaccredited")
CERTIFICATION_TYPE = "Management System"
MANDATORY = (
    "certificate_number", "certification_status", "certificate_accreditation_status", "certification_type",
    "certification_issue_date", "certification_expiry_date", "certified_entity_name", "certified_entity_unique_id",
    "certified_entity_street_address", "certified_entity_street_city", "certified_entity_country",
    "accreditation_body_name", "accreditation_body_acronym_name",
)
MAX_LENGTHS = {
    "certificate_number": 60, "certificate_identity_number": 60, "certification_type": 45,
    "certified_entity_name": 300, "certified_entity_trading_name": 500, "certified_entity_unique_id": 45,
}
DATES = ("certification_original_issue_date", "certification_issue_date", "certification_expiry_date")
# Letters and digits of any script, and the special characters the glossary allows: @ # - + = \ / : ; , ~ _ .
UNIQUE_ID = re.compile(r"^[\w@#\-+=\\/:;,~.]+$")
MISSING = "Missing Required Field"


@dataclass(frozen=True)
class Problem:
    """One registry rule a record breaks: the body's field (``schemes[0].scheme_name``) and what is wrong."""

    field: str
    message: str


@dataclass(frozen=True)
class Record:
    """One upload request body of the CB upload API, the certificates it carries, and what the registry refuses."""

    certified_entity_unique_id: str
    certificate_ids: tuple[uuid.UUID, ...]
    body: dict[str, Any]
    problems: tuple[Problem, ...]


@dataclass(frozen=True)
class Profile:
    """What the CB's policy tells the registry: its accreditation and how our statuses read there."""

    accreditation_body_name: str
    accreditation_body_acronym: str
    accredited_scheme_ids: frozenset[uuid.UUID]
    statuses: dict[str, str]

    @classmethod
    def of(cls, policy: CbPolicy) -> Profile:
        return cls(policy.accreditation_body or "", policy.accreditation_body_acronym or "",
                   frozenset(uuid.UUID(value) for value in policy.accredited_schemes),
                   dict(policy.registry_statuses))


def records(session: Session, cb_id: uuid.UUID, certificate_ids: Collection[uuid.UUID] | None = None) -> list[Record]:
    """The registry records of the CB's certificates (all of them, or those of ``certificate_ids`` that are the
    CB's: another CB's ids are never read), grouped by certified entity."""
    profile = Profile.of(tenants.policy(session, cb_id))
    certificates = _certificates(session, cb_id, certificate_ids)
    clients = _clients(session, {certificate.client_tenant_id for certificate in certificates})
    built = [_record(certificate, clients[certificate.client_tenant_id], profile) for certificate in certificates]
    return sorted(built, key=lambda record: (record.certified_entity_unique_id, record.body["certificate_number"]))


def _certificates(session: Session, cb_id: uuid.UUID, ids: Collection[uuid.UUID] | None) -> list[Certificate]:
    """The CB's certificates with their revision in force (one query; neither history nor older revisions)."""
    stmt = (select(Certificate).where(Certificate.tenant_id == cb_id)
            .options(joinedload(Certificate.current_revision), lazyload(Certificate.revisions),
                     lazyload(Certificate.history)))
    if ids is not None:
        stmt = stmt.where(Certificate.id.in_(list(ids)))
    return list(session.scalars(stmt))


def _clients(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, Tenant]:
    return {tenant.id: tenant for tenant in session.scalars(select(Tenant).where(Tenant.id.in_(ids)))} if ids else {}


def _record(certificate: Certificate, client: Tenant, profile: Profile) -> Record:
    body = upload_body(certificate, client, profile)
    return Record(body["certified_entity_unique_id"], (certificate.id,), body, validate(body))


def upload_body(certificate: Certificate, client: Tenant, profile: Profile) -> dict[str, Any]:
    """The upload call's body for one certificate, in the order of the registry's own example."""
    content = certificate.current_revision.content
    address = entity_address(client)
    accredited = certificate.scheme_id in profile.accredited_scheme_ids
    return {
        "certificate_number": certificate.number,
        "certificate_identity_number": str(certificate.id),
        "certification_status": profile.statuses.get(certificate.status.value, certificate.status.value),
        "certificate_accreditation_status": ACCREDITATION_STATUSES[0 if accredited else 1],
        "certification_type": CERTIFICATION_TYPE,
        "certification_scope": content["scope"],
        "certification_original_issue_date": yyyymmdd(certificate.original_issue_date),
        "certification_issue_date": yyyymmdd(certificate.issue_date),
        "certification_expiry_date": yyyymmdd(certificate.expiry_date),
        "certified_entity_name": client.legal_name or client.name,
        "certified_entity_trading_name": client.name,
        "certified_entity_unique_id": str(client.id),
        "certified_entity_street_address": address["street"],
        "certified_entity_street_city": address["city"],
        "certified_entity_state": address["state"],
        "certified_entity_post_code": address["postcode"],
        "certified_entity_country": country_name(client.country),
        "accreditation_body_name": profile.accreditation_body_name,
        "accreditation_body_acronym_name": profile.accreditation_body_acronym,
        "schemes": [{"scheme_name": certificate.scheme.code,
                     "standard_list": [{"standards_name": certificate.scheme.standard}]}],
        "sites": list(_additional_sites(content, client)),
    }


def entity_address(client: Tenant) -> dict[str, str]:
    """The client's registered address as the registry's lines (street, city, state, postcode)."""
    return {"street": client.street or "", "city": client.city or "", "state": client.state or "",
            "postcode": client.postcode or ""}


def _additional_sites(content: dict[str, Any], client: Tenant) -> Iterable[dict[str, str]]:
    """The revision's sites but the registered address, each at the client's current address for that site."""
    current = {site["name"]: site for site in client.sites}
    for site in content["sites"]:
        if site["name"] not in current and site.get("address") == content.get("client_address"):
            continue  # certified at the registered address: the certified entity's own address
        known = current.get(site["name"], site)
        yield {"street": known.get("street") or known.get("address") or "", "city": known.get("city") or "",
               "state": known.get("state") or "", "country": country_name(known["country"]),
               "postcode": known.get("postcode") or "", "scope_description": site["scope"]}


def country_name(code: str) -> str:
    """The ISO 3166 short name of an alpha-2 code (the registry's country list follows it)."""
    country = pycountry.countries.get(alpha_2=code)
    return country.name if country is not None else code


def yyyymmdd(day: date) -> str:
    return day.strftime("%Y%m%d")


# --------------------------------------------------------------------------- the registry's rules


def validate(body: dict[str, Any]) -> tuple[Problem, ...]:
    """Every documented rule the body breaks: mandatory fields, lengths, accepted values, dates, schemes."""
    return tuple([*_missing(body), *_too_long(body), *_values(body), *_dates(body), *_schemes(body.get("schemes"))])


def _missing(body: dict[str, Any]) -> Iterable[Problem]:
    for name in MANDATORY:
        if not str(body.get(name) or "").strip():
            yield Problem(name, MISSING)


def _too_long(body: dict[str, Any]) -> Iterable[Problem]:
    for name, limit in MAX_LENGTHS.items():
        if len(str(body.get(name) or "")) > limit:
            yield Problem(name, f"Longer than the registry's {limit} characters.")


def _values(body: dict[str, Any]) -> Iterable[Problem]:
    if body.get("certification_status") and body["certification_status"] not in REGISTRY_STATUSES:
        yield Problem("certification_status", f"Data Mapping error: not one of {', '.join(REGISTRY_STATUSES)}.")
    if body.get("certificate_accreditation_status") not in (None, "", *ACCREDITATION_STATUSES):
        yield Problem("certificate_accreditation_status", "Not Accredited or Unaccredited.")
    if body.get("certification_type") not in (None, "", CERTIFICATION_TYPE):
        yield Problem("certification_type", f"Data Mapping is required: the registry knows {CERTIFICATION_TYPE}.")
    unique_id = str(body.get("certified_entity_unique_id") or "")
    if unique_id and not UNIQUE_ID.match(unique_id):
        yield Problem("certified_entity_unique_id", r"Only letters, digits and @ # - + = \ / : ; , ~ _ . allowed.")


def _dates(body: dict[str, Any]) -> Iterable[Problem]:
    for name in DATES:
        value = body.get(name)
        if value and not _is_yyyymmdd(str(value)):
            yield Problem(name, "Not a date in the registry's YYYYMMDD format.")


def _is_yyyymmdd(value: str) -> bool:
    try:
        return len(value) == 8 and datetime.strptime(value, "%Y%m%d") is not None
    except ValueError:
        return False


def _schemes(schemes: Any) -> Iterable[Problem]:
    if not schemes:
        yield Problem("schemes", MISSING)
        return
    for index, scheme in enumerate(schemes):
        if not scheme.get("scheme_name"):
            yield Problem(f"schemes[{index}].scheme_name", MISSING)
        standards = scheme.get("standard_list") or []
        if not standards:
            yield Problem(f"schemes[{index}].standard_list", MISSING)
        for position, standard in enumerate(standards):
            if not standard.get("standards_name"):
                yield Problem(f"schemes[{index}].standard_list[{position}].standards_name", MISSING)
