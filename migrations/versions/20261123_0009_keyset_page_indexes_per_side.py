"""Keyset page indexes per side of a certification relationship: a list filtered on its owner (CB) or its
subject (client) walks (tenant_id, id) or (client_tenant_id, id) instead of every row in id order.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 23:02:52.934818
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.create_index('ix_certificates_client_page', ['client_tenant_id', 'id'], unique=False)
        batch_op.create_index('ix_certificates_owner_page', ['tenant_id', 'id'], unique=False)

    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.create_index('ix_findings_client_page', ['client_tenant_id', 'id'], unique=False)
        batch_op.create_index('ix_findings_owner_page', ['tenant_id', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.drop_index('ix_findings_owner_page')
        batch_op.drop_index('ix_findings_client_page')

    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_index('ix_certificates_owner_page')
        batch_op.drop_index('ix_certificates_client_page')

