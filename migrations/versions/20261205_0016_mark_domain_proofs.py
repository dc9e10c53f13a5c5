"""Mark-licence domain proofs (rule V4): one row per domain a licensee asked to prove, with its pending challenge
and the re-checks that keep the proof. The CB's row about its client, like the licence (row-level security:
readable by both, written by the CB, or by the client where the service allows it). A domain without a row is
unverified, so existing licences need no data.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-10 12:00:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import grc.db
from grc import rls

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SUBJECT = "(tenant_id = grc_current_tenant() OR client_tenant_id = grc_current_tenant())"
METHOD = sa.Enum('http', 'dns', name='proof_method', native_enum=False, length=40)


def upgrade() -> None:
    op.create_table('mark_domain_proofs',
    sa.Column('licence_id', sa.Uuid(), nullable=False),
    sa.Column('client_tenant_id', sa.Uuid(), nullable=False),
    sa.Column('domain', sa.String(length=253), nullable=False),
    sa.Column('state', sa.Enum('unverified', 'proven', name='proof_state', native_enum=False, length=40), nullable=False),
    sa.Column('method', METHOD, nullable=True),
    sa.Column('token', sa.String(length=64), nullable=True),
    sa.Column('proven_at', grc.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_checked_at', grc.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('next_check_at', grc.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('failing_since', grc.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_failure', sa.Text(), nullable=True),
    sa.Column('lapsed_at', grc.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('challenge_method', METHOD, nullable=True),
    sa.Column('challenge_token', sa.String(length=64), nullable=True),
    sa.Column('challenge_expires_at', grc.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('challenge_error', sa.Text(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', grc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', grc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['client_tenant_id'], ['tenants.id'], name=op.f('fk_mark_domain_proofs_client_tenant_id_tenants')),
    sa.ForeignKeyConstraint(['licence_id'], ['mark_licences.id'], name=op.f('fk_mark_domain_proofs_licence_id_mark_licences'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_mark_domain_proofs_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mark_domain_proofs')),
    sa.UniqueConstraint('licence_id', 'domain', name=op.f('uq_mark_domain_proofs_licence_id_domain'))
    )
    with op.batch_alter_table('mark_domain_proofs', schema=None) as batch_op:
        batch_op.create_index('ix_mark_domain_proofs_due', ['state', 'next_check_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_mark_domain_proofs_client_tenant_id'), ['client_tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mark_domain_proofs_tenant_id'), ['tenant_id'], unique=False)
    rls.enable_tenant_rls('mark_domain_proofs', SUBJECT)


def downgrade() -> None:
    rls.disable_tenant_rls('mark_domain_proofs')
    with op.batch_alter_table('mark_domain_proofs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mark_domain_proofs_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_mark_domain_proofs_client_tenant_id'))
        batch_op.drop_index('ix_mark_domain_proofs_due')
    op.drop_table('mark_domain_proofs')
