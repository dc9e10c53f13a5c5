"""The registry records as files a CB hands to IAF CertSearch itself (G1): bulk-upload bodies and the XLSX template.

- ``bulk_bodies``: the CB upload API's bulk body, ``{"certifications": [...]}``, one per certified entity with its
  certifications (each item exactly the single-upload body of ``certsearch.Record``), at most ``BULK_LIMIT`` per
  body: the documentation says 100 on most pages and 1000 on one, so the stricter figure holds.
- ``as_xlsx``: the file-upload template (``cb_certs.xlsx``, the file name the registry suggests). The glossary's
  certification template confirms the first ten columns and their order; the columns after them follow the order
  of the registry's XML sample (the only published source for them) in the glossary's Title Case. The contact
  columns of that order (e-mail, key contact, phone) stay empty: we never hand over a client's contacts. Our
  certificate has one scheme, so scheme and standard are two columns; the additional sites, a list, go to a second
  sheet keyed by Certification Identity Number, the key the v2.1 template's Certification Sector sheet uses. The
  status is written as the template spells it (Title Case, ``Draft`` for the API's ``hidden``). Text cells are
  formula-safe string cells (``grc.spreadsheet``).
"""
from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterable, Iterator
from itertools import groupby
from typing import Any

from sqlalchemy.orm import Session

from grc import spreadsheet
from grc.certification.export import ExportFile, file_format
from grc.registry import certsearch
from grc.registry.certsearch import Record

BULK_LIMIT = 100
XLSX_FILE_NAME = "cb_certs.xlsx"
# (template column, upload body field); None: a template column we leave empty.
CERTIFICATION_COLUMNS: tuple[tuple[str, str | None], ...] = (
    ("Certification Identity Number", "certificate_identity_number"),
    ("Certificate Number", "certificate_number"),
    ("Certification Status", "certification_status"),
    ("Accreditation Status", "certificate_accreditation_status"),
    ("Certification Type", "certification_type"),
    ("Certification Scope", "certification_scope"),
    ("Certification Original Issue Date", "certification_original_issue_date"),
    ("Certification Issue Date", "certification_issue_date"),
    ("Certification Expiry Date", "certification_expiry_date"),
    ("Certified Entity Name", "certified_entity_name"),
    ("Certified Entity Trading Name", "certified_entity_trading_name"),
    ("Certified Entity English Name", None),
    ("Certified Entity Email Address", None),
    ("Certified Entity Key Contact", None),
    ("Certified Entity Phone", None),
    ("Certified Entity Unique ID", "certified_entity_unique_id"),
    ("Certified Entity Street", "certified_entity_street_address"),
    ("Certified Entity City", "certified_entity_street_city"),
    ("Certified Entity State", "certified_entity_state"),
    ("Certified Entity Zip Code", "certified_entity_post_code"),
    ("Certified Entity Country", "certified_entity_country"),
    ("Accreditation Body Name", "accreditation_body_name"),
    ("Accreditation Body Acronym", "accreditation_body_acronym_name"),
    ("Scheme Name", None),
    ("Standard Name", None),
)
SITE_COLUMNS = ("Certification Identity Number", "Street", "City", "State", "Zip Code", "Country", "Scope")
TEMPLATE_STATUSES = {"hidden": "Draft"}  # the template's spelling where it is not the API's in Title Case


def bulk_bodies(records: Iterable[Record]) -> Iterator[dict[str, Any]]:
    """Bulk-upload bodies, one per certified entity (split at ``BULK_LIMIT``); ``records`` come grouped by entity."""
    for _entity, group in groupby(records, key=lambda record: record.certified_entity_unique_id):
        bodies = [record.body for record in group]
        for start in range(0, len(bodies), BULK_LIMIT):
            yield {"certifications": bodies[start:start + BULK_LIMIT]}


def as_xlsx(records: Iterable[Record]) -> bytes:
    """The template workbook: a "Certification" sheet (one row per record) and an "Additional Sites" sheet."""
    from openpyxl import Workbook  # imported here: only exports need it
    from openpyxl.worksheet.worksheet import Worksheet

    workbook = Workbook()
    certifications = workbook.active
    assert isinstance(certifications, Worksheet)  # a new workbook starts with one worksheet
    certifications.title = "Certification"
    sites = workbook.create_sheet("Additional Sites")
    spreadsheet.append_row(certifications, [column for column, _field in CERTIFICATION_COLUMNS])
    spreadsheet.append_row(sites, SITE_COLUMNS)
    for record in records:
        spreadsheet.append_row(certifications, _certification_row(record.body))
        for site in record.body["sites"]:
            spreadsheet.append_row(sites, [record.body["certificate_identity_number"], site["street"], site["city"],
                                           site["state"], site["postcode"], site["country"],
                                           site["scope_description"]])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _certification_row(body: dict[str, Any]) -> list[Any]:
    [scheme] = body["schemes"]  # our certificate is for one scheme
    cells = {**body, "certification_status": _template_status(body["certification_status"])}
    row = [cells.get(field, "") if field else "" for _column, field in CERTIFICATION_COLUMNS[:-2]]
    return [*row, scheme["scheme_name"], ", ".join(s["standards_name"] for s in scheme["standard_list"])]


def _template_status(status: str) -> str:
    return TEMPLATE_STATUSES.get(status, status.title())


@file_format("certsearch-json")
def bulk_json(session: Session, cb_id: uuid.UUID) -> ExportFile:
    """``GET /certificates/export?format=certsearch-json``: the bulk-upload bodies, as a JSON array."""
    bodies = list(bulk_bodies(certsearch.records(session, cb_id)))
    return ExportFile(json.dumps(bodies, ensure_ascii=False), "application/json")


@file_format("certsearch-xlsx")
def upload_template(session: Session, cb_id: uuid.UUID) -> ExportFile:
    """``GET /certificates/export?format=certsearch-xlsx``: the file-upload template, filled."""
    return ExportFile(as_xlsx(certsearch.records(session, cb_id)), spreadsheet.XLSX_MEDIA_TYPE, XLSX_FILE_NAME)
