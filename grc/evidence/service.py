"""Uploading and serving evidence for findings and actions: checked type and size, hashed, stored once.

The type is decided by the file's first bytes, not by what the client claims, and must agree with the
file name's extension; only documents and images an assessor expects are accepted.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from grc import tenancy
from grc.actions.models import Action
from grc.errors import Forbidden, InvalidField
from grc.events import publish
from grc.evidence.models import EvidenceFile
from grc.evidence.storage import content_key, storage
from grc.extensions import db
from grc.findings.models import Finding

ZIP = b"PK\x03\x04"


@dataclass(frozen=True)
class FileType:
    content_type: str
    extensions: tuple[str, ...]
    magic: bytes | None  # None: plain UTF-8 text


TYPES = (
    FileType("application/pdf", ("pdf",), b"%PDF-"),
    FileType("image/png", ("png",), b"\x89PNG\r\n\x1a\n"),
    FileType("image/jpeg", ("jpg", "jpeg"), b"\xff\xd8\xff"),
    FileType("application/vnd.openxmlformats-officedocument.wordprocessingml.document", ("docx",), ZIP),
    FileType("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ("xlsx",), ZIP),
    FileType("text/csv", ("csv",), None),
    FileType("text/plain", ("txt", "log"), None),
)
UPLOADER_ROLES = ("auditor", "client_admin", "risk_manager", "member", "cb_admin", "certification_manager")


def sniff(filename: str, data: bytes) -> FileType:
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    for file_type in TYPES:
        if extension in file_type.extensions and _matches(file_type, data):
            return file_type
    allowed = ", ".join(ext for t in TYPES for ext in t.extensions)
    raise InvalidField("file", f"content does not match an allowed type for '.{extension}' (allowed: {allowed})")


def _matches(file_type: FileType, data: bytes) -> bool:
    if file_type.magic is not None:
        return data.startswith(file_type.magic)
    try:
        return b"\x00" not in data and bool(data.decode("utf-8"))
    except UnicodeDecodeError:
        return False


def attach(session: Session, parent: Finding | Action, filename: str, data: bytes) -> EvidenceFile:
    principal = tenancy.require_roles(*UPLOADER_ROLES)
    limit = current_app.config["GRC_SETTINGS"].evidence_max_bytes
    if not data:
        raise InvalidField("file", "is empty")
    if len(data) > limit:
        raise InvalidField("file", f"is larger than {limit} bytes")
    file_type = sniff(filename, data)
    key = content_key(data)
    storage(current_app).put(key, data)
    evidence = EvidenceFile(
        visible_tenant_id=_other_party(parent, principal.tenant_id), parent_type=_parent_type(parent),
        parent_id=parent.id, filename=filename[-255:], content_type=file_type.content_type, size_bytes=len(data),
        sha256=key, storage_key=key, uploaded_by=principal.person_id,
    )
    session.add(evidence)
    session.flush()
    publish(session, "evidence.attached", {"evidence_id": str(evidence.id), "parent_type": evidence.parent_type,
                                           "parent_id": str(parent.id)})
    return evidence


def _parent_type(parent: Finding | Action) -> str:
    return "finding" if isinstance(parent, Finding) else "action"


def _other_party(parent: Finding | Action, uploader_tenant: uuid.UUID) -> uuid.UUID | None:
    """The party that also sees the file: the client of a CB finding, the CB of a shared action."""
    if isinstance(parent, Finding):
        parties = {parent.tenant_id, parent.client_tenant_id} - {uploader_tenant}
        return parties.pop() if parties else None
    if parent.tenant_id != uploader_tenant:
        raise Forbidden("This action is shared with you read-only.")
    return parent.shared_with_tenant_id


def list_for(session: Session, parent: Finding | Action) -> list[EvidenceFile]:
    return list(session.scalars(
        select(EvidenceFile)
        .where(EvidenceFile.parent_type == _parent_type(parent), EvidenceFile.parent_id == parent.id)
        .order_by(EvidenceFile.id)
    ))


@tenancy.path_resource("evidence_id")
def visible_evidence(evidence_id: uuid.UUID) -> EvidenceFile | None:
    return db.session.get(EvidenceFile, evidence_id)


def content(evidence: EvidenceFile) -> bytes:
    """The stored bytes, refused if they no longer match the recorded hash."""
    data = storage(current_app).get(evidence.storage_key)
    if content_key(data) != evidence.sha256:
        raise RuntimeError(f"evidence {evidence.id} does not match its recorded SHA-256")
    return data

