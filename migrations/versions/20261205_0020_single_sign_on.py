"""OpenID Connect single sign-on per tenant (rule I1): a tenant's identity providers (the client secret sealed), the
links of its users to a provider's subjects, and the sign-in attempts in flight; and ``grc_tenant_by_slug``, the
crossing the public start and callback ask (any kind of tenant: ``grc_certification_body`` names CBs only). All new
rows are the tenant's own; nothing exists before an admin adds a provider.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 04:00:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import grc.db
from grc import rls

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As migration 0011's crossings: the owner answers this one question in system scope, and nothing more.
TENANT_BY_SLUG = """
CREATE OR REPLACE FUNCTION grc_tenant_by_slug(slug text) RETURNS uuid LANGUAGE plpgsql SECURITY DEFINER
SET search_path = {schema}, pg_temp AS
$$ DECLARE before text := coalesce(current_setting('app.rls_bypass', true), ''); answer uuid;
   BEGIN
     PERFORM set_config('app.rls_bypass', 'on', true);
     answer := (SELECT id FROM tenants WHERE tenants.slug = $1);
     PERFORM set_config('app.rls_bypass', before, true);
     RETURN answer;
   END $$;"""


def _tenant_columns() -> list[sa.Column[object]]:
    return [sa.Column('id', sa.Uuid(), nullable=False), sa.Column('tenant_id', sa.Uuid(), nullable=False)]


def upgrade() -> None:
    op.create_table('identity_providers',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('issuer', sa.String(length=500), nullable=False),
    sa.Column('client_id', sa.String(length=255), nullable=False),
    sa.Column('sealed_client_secret', sa.LargeBinary(), nullable=False),
    sa.Column('allowed_email_domains', sa.JSON(), nullable=False),
    sa.Column('role_claim', sa.String(length=100), nullable=True),
    sa.Column('role_mapping', sa.JSON(), nullable=False),
    sa.Column('default_role', sa.String(length=40), nullable=True),
    sa.Column('create_users', sa.Boolean(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', grc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', grc.db.UTCDateTime(timezone=True), nullable=False),
    *_tenant_columns(),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_identity_providers_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_providers'))
    )
    with op.batch_alter_table('identity_providers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_providers_tenant_id'), ['tenant_id'], unique=False)
    rls.enable_tenant_rls('identity_providers')
    op.create_table('identity_links',
    sa.Column('provider_id', sa.Uuid(), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', grc.db.UTCDateTime(timezone=True), nullable=False),
    *_tenant_columns(),
    sa.ForeignKeyConstraint(['provider_id'], ['identity_providers.id'],
                            name=op.f('fk_identity_links_provider_id_identity_providers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_identity_links_user_id_users'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_identity_links_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_links')),
    sa.UniqueConstraint('provider_id', 'subject', name=op.f('uq_identity_links_provider_id_subject'))
    )
    with op.batch_alter_table('identity_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_links_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_identity_links_user_id'), ['user_id'], unique=False)
    rls.enable_tenant_rls('identity_links')
    op.create_table('sso_sign_in_attempts',
    sa.Column('provider_id', sa.Uuid(), nullable=False),
    sa.Column('state_hash', sa.String(length=64), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('code_verifier', sa.String(length=128), nullable=False),
    sa.Column('expires_at', grc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', grc.db.UTCDateTime(timezone=True), nullable=True),
    *_tenant_columns(),
    sa.ForeignKeyConstraint(['provider_id'], ['identity_providers.id'],
                            name=op.f('fk_sso_sign_in_attempts_provider_id_identity_providers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_sso_sign_in_attempts_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sso_sign_in_attempts')),
    sa.UniqueConstraint('state_hash', name=op.f('uq_sso_sign_in_attempts_state_hash'))
    )
    with op.batch_alter_table('sso_sign_in_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sso_sign_in_attempts_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sso_sign_in_attempts_tenant_id'), ['tenant_id'], unique=False)
    rls.enable_tenant_rls('sso_sign_in_attempts')
    if rls.is_postgresql():
        schema = op.get_bind().exec_driver_sql("SELECT quote_ident(current_schema())").scalar_one()
        op.execute(TENANT_BY_SLUG.format(schema=schema))


def downgrade() -> None:
    if rls.is_postgresql():
        op.execute("DROP FUNCTION grc_tenant_by_slug(text)")
    for table in ('sso_sign_in_attempts', 'identity_links', 'identity_providers'):
        rls.disable_tenant_rls(table)
        op.drop_table(table)  # its indexes go with it
