"""Row-level security on tenant-owned tables; the audit trail is append-only.

Revision ID: 0002
Revises: 0001
"""
from __future__ import annotations

from grc import rls

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

OWN_TENANT_TABLES = ("users", "api_clients", "audit_events", "outbox_messages", "idempotency_records")
CLIENT_RELATIONSHIPS_VISIBLE = "(tenant_id = grc_current_tenant() OR client_tenant_id = grc_current_tenant())"


def upgrade() -> None:
    rls.create_functions()
    for table in OWN_TENANT_TABLES:
        rls.enable_tenant_rls(table)
    rls.enable_tenant_rls("client_relationships", CLIENT_RELATIONSHIPS_VISIBLE)
    rls.make_append_only("audit_events")


def downgrade() -> None:
    rls.drop_append_only("audit_events")
    for table in (*OWN_TENANT_TABLES, "client_relationships"):
        rls.disable_tenant_rls(table)
    rls.drop_functions()
