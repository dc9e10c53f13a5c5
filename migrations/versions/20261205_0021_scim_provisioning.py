"""SCIM 2.0 provisioning (issue 18 item 3): each tenant's SCIM tokens (stored as SHA-256 digests), the groups its
identity provider pushes with the grc roles an admin maps them to, their members, and users.external_id. All are
the tenant's own rows; nothing exists until an admin creates a token, so existing data needs nothing.

grc_tenant_of_scim_token answers the one question a SCIM request asks across tenants: which tenant owns the
(unrevoked) token with this digest.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 04:00:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import grc.db
from grc import rls

revision: str = '0021'
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_OF_SCIM_TOKEN = """
CREATE OR REPLACE FUNCTION grc_tenant_of_scim_token(token_hash text) RETURNS uuid LANGUAGE plpgsql SECURITY DEFINER
SET search_path = {schema}, pg_temp AS
$$ DECLARE before text := coalesce(current_setting('app.rls_bypass', true), ''); answer uuid;
   BEGIN
     PERFORM set_config('app.rls_bypass', 'on', true);
     answer := (SELECT tenant_id FROM scim_tokens WHERE scim_tokens.token_hash = $1 AND revoked_at IS NULL);
     PERFORM set_config('app.rls_bypass', before, true);
     RETURN answer;
   END $$;"""


def upgrade() -> None:
    op.create_table('scim_tokens',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('revoked_at', grc.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', grc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', grc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_scim_tokens_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scim_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_scim_tokens_token_hash'))
    )
    with op.batch_alter_table('scim_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scim_tokens_tenant_id'), ['tenant_id'], unique=False)
    op.create_table('scim_groups',
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=True),
    sa.Column('roles', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', grc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', grc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_scim_groups_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scim_groups')),
    sa.UniqueConstraint('tenant_id', 'display_name', name='uq_scim_groups_tenant_display_name')
    )
    with op.batch_alter_table('scim_groups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scim_groups_tenant_id'), ['tenant_id'], unique=False)
    op.create_table('scim_group_members',
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['scim_groups.id'], name=op.f('fk_scim_group_members_group_id_scim_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_scim_group_members_tenant_id_tenants')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_scim_group_members_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scim_group_members')),
    sa.UniqueConstraint('group_id', 'user_id', name='uq_scim_group_members_group_user')
    )
    with op.batch_alter_table('scim_group_members', schema=None) as batch_op:
        batch_op.create_index('ix_scim_group_members_user_id', ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_scim_group_members_tenant_id'), ['tenant_id'], unique=False)
    # Not in batch mode: SQLite adds the column in place.
    op.add_column('users', sa.Column('external_id', sa.String(length=200), nullable=True))
    op.add_column('users', sa.Column('deprovisioned_at', grc.db.UTCDateTime(timezone=True), nullable=True))
    for table in ('scim_tokens', 'scim_groups', 'scim_group_members'):
        rls.enable_tenant_rls(table)
    if rls.is_postgresql():
        schema = op.get_bind().exec_driver_sql("SELECT quote_ident(current_schema())").scalar_one()
        op.execute(TENANT_OF_SCIM_TOKEN.format(schema=schema))


def downgrade() -> None:
    if rls.is_postgresql():
        op.execute("DROP FUNCTION grc_tenant_of_scim_token(text)")
    for table in ('scim_group_members', 'scim_groups', 'scim_tokens'):
        rls.disable_tenant_rls(table)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('deprovisioned_at')
        batch_op.drop_column('external_id')
    with op.batch_alter_table('scim_group_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scim_group_members_tenant_id'))
        batch_op.drop_index('ix_scim_group_members_user_id')
    op.drop_table('scim_group_members')
    with op.batch_alter_table('scim_groups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scim_groups_tenant_id'))
    op.drop_table('scim_groups')
    with op.batch_alter_table('scim_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scim_tokens_tenant_id'))
    op.drop_table('scim_tokens')
