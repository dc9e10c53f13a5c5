"""Every model, imported once so that the metadata (Alembic, tests) knows all tables."""
from grc.actions.models import Action, ActionNote
from grc.auditlog.models import AuditChainHead, AuditEvent
from grc.audits.models import Audit, AuditTeamMember
from grc.auth.models import ApiClient, RevokedToken, User
from grc.db import Base
from grc.evidence.models import EvidenceFile
from grc.findings.models import Finding, FindingEvent
from grc.notifications.models import OutboxMessage
from grc.numbering import Counter
from grc.schemes.models import Scheme
from grc.tenants.models import CbPolicy, ClientRelationship, Tenant
from grc.uow import IdempotencyRecord

__all__ = [
    "Action",
    "ActionNote",
    "Audit",
    "AuditTeamMember",
    "CbPolicy",
    "Counter",
    "EvidenceFile",
    "Finding",
    "FindingEvent",
    "Scheme",
    "ApiClient",
    "AuditChainHead",
    "AuditEvent",
    "Base",
    "ClientRelationship",
    "IdempotencyRecord",
    "OutboxMessage",
    "RevokedToken",
    "Tenant",
    "User",
]
