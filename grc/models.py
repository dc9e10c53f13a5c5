"""Every model, imported once so that the metadata (Alembic, tests) knows all tables."""
from grc.auditlog.models import AuditChainHead, AuditEvent
from grc.auth.models import ApiClient, RevokedToken, User
from grc.db import Base
from grc.notifications.models import OutboxMessage
from grc.tenants.models import ClientRelationship, Tenant
from grc.uow import IdempotencyRecord

__all__ = [
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
