"""Risk list, heat map and KPI indexes; row-level security settings read once per statement, not per row.

A client's risk list walks (tenant_id, id); the heat map and the KPIs read covering indexes only. Every
tenant_isolation policy reads app.tenant_id and app.rls_bypass through a scalar subquery (an InitPlan, evaluated
once per statement) instead of once per filtered row (grc.rls.read_once).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 23:59:45.842873
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from grc import rls

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('risks', schema=None) as batch_op:
        batch_op.create_index('ix_risks_heatmap', ['register_id', 'tenant_id', 'status', 'current_likelihood', 'current_consequence'], unique=False)
        batch_op.create_index('ix_risks_kpis', ['tenant_id', 'current_level', 'status', 'above_appetite', 'next_review_on', 'identified_on', 'closed_on', 'register_id'], unique=False)
        batch_op.create_index('ix_risks_owner_page', ['tenant_id', 'id'], unique=False)
    rls.rewrite_policies(rls.read_once)


def downgrade() -> None:
    rls.rewrite_policies(rls.read_per_row)
    with op.batch_alter_table('risks', schema=None) as batch_op:
        batch_op.drop_index('ix_risks_owner_page')
        batch_op.drop_index('ix_risks_kpis')
        batch_op.drop_index('ix_risks_heatmap')
