"""Every model, imported once so that the metadata (Alembic, tests) knows all tables."""
from grc.actions.models import Action, ActionNote
from grc.auditlog.models import AuditChainHead, AuditEvent
from grc.audits.models import Audit, AuditTeamMember
from grc.auth.models import ApiClient, RevokedToken, SignInSession, User
from grc.certification.models import (
    Certificate,
    CertificateEvent,
    CertificateRevision,
    CertificateTransfer,
    CertificationDecision,
)
from grc.credentials.models import CertificateCredential, MarkLicenceCredential, StatusEntry
from grc.db import Base
from grc.events import OutboxMessage
from grc.evidence.models import EvidenceFile
from grc.findings.models import Finding, FindingEvent
from grc.marks.models import MarkLicence
from grc.notifications.models import Delivery, Notification, Reminder, WebhookSubscription
from grc.numbering import Counter
from grc.registry.models import RegistryConnection, RegistryRecordState
from grc.risks.models import (
    Control,
    ControlTest,
    RegisterShare,
    Risk,
    RiskAcceptance,
    RiskAssessment,
    RiskCriteria,
    RiskRegister,
    RiskReview,
)
from grc.schemes.models import Scheme
from grc.scim.models import ScimGroup, ScimGroupMember, ScimToken
from grc.signing.models import SigningKey
from grc.sso.models import IdentityLink, IdentityProvider, SignInAttempt
from grc.tenants.models import CbPolicy, ClientRelationship, Tenant
from grc.uow import IdempotencyRecord
from grc.viewcache import ViewVersion

__all__ = [
    "Action",
    "ActionNote",
    "Audit",
    "AuditTeamMember",
    "CbPolicy",
    "Certificate",
    "CertificateCredential",
    "CertificateEvent",
    "CertificateRevision",
    "CertificateTransfer",
    "CertificationDecision",
    "Control",
    "ControlTest",
    "Counter",
    "EvidenceFile",
    "Finding",
    "FindingEvent",
    "RegisterShare",
    "RegistryConnection",
    "RegistryRecordState",
    "Risk",
    "RiskAcceptance",
    "RiskAssessment",
    "RiskCriteria",
    "RiskRegister",
    "RiskReview",
    "Scheme",
    "ScimGroup",
    "ScimGroupMember",
    "ScimToken",
    "SigningKey",
    "SignInAttempt",
    "IdentityLink",
    "IdentityProvider",
    "ApiClient",
    "AuditChainHead",
    "AuditEvent",
    "Base",
    "ClientRelationship",
    "IdempotencyRecord",
    "MarkLicence",
    "MarkLicenceCredential",
    "OutboxMessage",
    "Delivery",
    "Notification",
    "Reminder",
    "WebhookSubscription",
    "RevokedToken",
    "SignInSession",
    "StatusEntry",
    "Tenant",
    "User",
    "ViewVersion",
]
