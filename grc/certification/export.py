"""The CB's certificate directory in the IAF CertSearch upload layout (CSV or JSON), streamed in batches.

The CSV neutralises spreadsheet formulas in its cells (``grc.spreadsheet``); the JSON gives the text verbatim."""
from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload

from grc import spreadsheet, tenancy
from grc.certification.models import Certificate
from grc.tenants import service as tenants

BATCH = 500


@dataclass(frozen=True)
class ExportFile:
    """A directory in another party's file format, ready to hand over."""

    body: str | bytes
    media_type: str
    file_name: str | None = None


# Formats rendered by a higher domain, by their ``format`` name: the registry's (``certsearch-json``,
# ``certsearch-xlsx``, G1) register themselves; ``ExportArgs`` lists every name the API accepts.
FILE_FORMATS: dict[str, Callable[[Session, uuid.UUID], ExportFile]] = {}


def file_format(name: str) -> Callable[[Callable[[Session, uuid.UUID], ExportFile]],
                                       Callable[[Session, uuid.UUID], ExportFile]]:
    """Decorator: ``render(session, cb_id)`` gives the CB's directory in the format ``name``."""
    def register(render: Callable[[Session, uuid.UUID], ExportFile]) -> Callable[[Session, uuid.UUID], ExportFile]:
        FILE_FORMATS[name] = render
        return render
    return register
FIELDS = (
    "certificate_number", "certification_status", "certified_entity_name", "certified_entity_country", "scope",
    "schemes", "standards", "sites", "certification_issue_date", "certification_original_issue_date",
    "certification_expiry_date", "certification_body_name", "accreditation_body_name", "accreditation_number",
)


def rows(session: Session) -> Iterator[dict[str, Any]]:
    """One IAF CertSearch record per certificate of the calling CB, in a stable order, batch by batch."""
    policy, cb = tenants.policy(session), tenants.own_tenant(session)
    last = None
    while True:
        stmt = (select(Certificate).where(Certificate.tenant_id == tenancy.current().tenant_id)
                .options(lazyload(Certificate.history)))  # the directory shows no history
        stmt = stmt.where(Certificate.id > last) if last else stmt
        batch = list(session.scalars(stmt.order_by(Certificate.id).limit(BATCH)))
        for certificate in batch:
            yield _record(certificate, cb.name, policy.accreditation_body, policy.accreditation_number)
        if len(batch) < BATCH:
            return
        last = batch[-1].id


def _record(certificate: Certificate, cb_name: str, body: str | None, number: str | None) -> dict[str, Any]:
    content = certificate.current.content
    return {
        "certificate_number": certificate.number,
        "certification_status": certificate.status.value,
        "certified_entity_name": content["client_legal_name"],
        "certified_entity_country": content["client_country"],
        "scope": content["scope"],
        "schemes": certificate.scheme.code,
        "standards": certificate.scheme.standard,
        "sites": [{"name": s["name"], "country": s["country"], "scope": s["scope"]} for s in content["sites"]],
        "certification_issue_date": certificate.issue_date.strftime("%Y%m%d"),
        "certification_original_issue_date": certificate.original_issue_date.strftime("%Y%m%d"),
        "certification_expiry_date": certificate.expiry_date.strftime("%Y%m%d"),
        "certification_body_name": cb_name,
        "accreditation_body_name": body or "",
        "accreditation_number": number or "",
    }


def as_csv(records: Iterator[dict[str, Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FIELDS)
    writer.writeheader()
    for record in records:
        sites = "; ".join(f"{s['name']} ({s['country']}): {s['scope']}" for s in record["sites"])
        writer.writerow({name: spreadsheet.neutralise(value) for name, value in {**record, "sites": sites}.items()})
        yield _drain(buffer)
    yield _drain(buffer)


def as_json(records: Iterator[dict[str, Any]]) -> Iterator[str]:
    yield "["
    for index, record in enumerate(records):
        yield ("," if index else "") + json.dumps(record, ensure_ascii=False)
    yield "]"


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
