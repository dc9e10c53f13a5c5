"""Accreditation registry sync (rule G2): a CB's connection to IAF CertSearch (its API key sealed) and each
certificate's sync state (pending, synced, failed, the digest of the body last accepted). Both are the CB's own rows;
nothing exists until a CB connects, so existing data needs nothing.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-12 12:00:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import grc.db
from grc import rls

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('registry_connections',
    sa.Column('base_url', sa.String(length=500), nullable=False),
    sa.Column('sealed_api_key', sa.LargeBinary(), nullable=False),
    sa.Column('key_set_at', grc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('dry_run', sa.Boolean(), nullable=False),
    sa.Column('repush_differences', sa.Boolean(), nullable=False),
    sa.Column('last_attempt_at', grc.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_success_at', grc.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('retry_at', grc.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_reconciled_at', grc.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('differences', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', grc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', grc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_registry_connections_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registry_connections')),
    sa.UniqueConstraint('tenant_id', name=op.f('uq_registry_connections_tenant_id'))
    )
    with op.batch_alter_table('registry_connections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registry_connections_tenant_id'), ['tenant_id'], unique=False)
    rls.enable_tenant_rls('registry_connections')
    op.create_table('registry_record_states',
    sa.Column('certificate_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'synced', 'failed', name='registry_sync_status', native_enum=False,
                                length=40), nullable=False),
    sa.Column('changed_at', grc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('synced_at', grc.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('sent_digest', sa.String(length=64), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificates.id'],
                            name=op.f('fk_registry_record_states_certificate_id_certificates'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_registry_record_states_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registry_record_states')),
    sa.UniqueConstraint('certificate_id', name=op.f('uq_registry_record_states_certificate_id'))
    )
    with op.batch_alter_table('registry_record_states', schema=None) as batch_op:
        batch_op.create_index('ix_registry_record_states_due', ['tenant_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_registry_record_states_tenant_id'), ['tenant_id'], unique=False)
    rls.enable_tenant_rls('registry_record_states')


def downgrade() -> None:
    rls.disable_tenant_rls('registry_record_states')
    with op.batch_alter_table('registry_record_states', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registry_record_states_tenant_id'))
        batch_op.drop_index('ix_registry_record_states_due')
    op.drop_table('registry_record_states')
    rls.disable_tenant_rls('registry_connections')
    with op.batch_alter_table('registry_connections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registry_connections_tenant_id'))
    op.drop_table('registry_connections')
