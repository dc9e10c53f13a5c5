"""Signing keys of certification bodies (V1): Ed25519, the private half sealed with the key-encryption key.

Row-level security keeps each CB's keys to itself; the API role may not delete a key (a deleted key would leave the
credentials it signed unverifiable: grc.rls.grant_api_role). Existing certification bodies get their first key
from ``grc db upgrade`` right after this migration (``grc.signing.service.provision_missing_keys``), because the
key-encryption key is the application's setting, not the migration's.

Revision ID: 0014
Revises: 0011
Create Date: 2026-12-05 00:30:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import grc.db
from grc import rls

revision: str = '0014'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('signing_keys',
    sa.Column('kid', sa.String(length=64), nullable=False),
    sa.Column('public_jwk', sa.JSON(), nullable=False),
    sa.Column('sealed_private_key', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', grc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('retired_at', grc.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('signs_until', sa.Date(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_signing_keys_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signing_keys')),
    sa.UniqueConstraint('kid', name=op.f('uq_signing_keys_kid'))
    )
    with op.batch_alter_table('signing_keys', schema=None) as batch_op:
        batch_op.create_index('ix_signing_keys_tenant_created', ['tenant_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_signing_keys_tenant_id'), ['tenant_id'], unique=False)
    rls.enable_tenant_rls('signing_keys')


def downgrade() -> None:
    rls.disable_tenant_rls('signing_keys')
    with op.batch_alter_table('signing_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signing_keys_tenant_id'))
        batch_op.drop_index('ix_signing_keys_tenant_created')
    op.drop_table('signing_keys')
