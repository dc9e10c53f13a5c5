"""A tenant's sign-in policy (I1, I2), users' second factors (TOTP) and the tickets of two-step logins (I2).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 04:00:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import grc.db
from grc import rls

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ('sign_in_policies', 'second_factors', 'mfa_tickets')


def upgrade() -> None:
    op.create_table('sign_in_policies',
    sa.Column('require_mfa', sa.Boolean(), nullable=False),
    sa.Column('require_sso', sa.Boolean(), nullable=False),
    sa.Column('break_glass_user_ids', sa.JSON(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_sign_in_policies_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_policies')),
    sa.UniqueConstraint('tenant_id', name=op.f('uq_sign_in_policies_tenant_id'))
    )
    op.create_table('second_factors',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('sealed_secret', sa.LargeBinary(), nullable=False),
    sa.Column('confirmed_at', grc.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_used_step', sa.Integer(), nullable=True),
    sa.Column('recovery_code_hashes', sa.JSON(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_second_factors_tenant_id_tenants')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_second_factors_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_second_factors')),
    sa.UniqueConstraint('user_id', name=op.f('uq_second_factors_user_id'))
    )
    op.create_table('mfa_tickets',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('purpose', sa.Enum('verify', 'enrol', name='mfa_ticket_purpose', native_enum=False, length=40),
              nullable=False),
    sa.Column('expires_at', grc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', grc.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_mfa_tickets_tenant_id_tenants')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_mfa_tickets_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mfa_tickets'))
    )
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(batch_op.f(f'ix_{table}_tenant_id'), ['tenant_id'], unique=False)
            if table == 'mfa_tickets':
                batch_op.create_index(batch_op.f('ix_mfa_tickets_user_id'), ['user_id'], unique=False)
                batch_op.create_index(batch_op.f('ix_mfa_tickets_expires_at'), ['expires_at'], unique=False)
        rls.enable_tenant_rls(table)


def downgrade() -> None:
    for table in reversed(TABLES):
        rls.disable_tenant_rls(table)
        op.drop_table(table)
