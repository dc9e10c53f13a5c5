"""Certificate and mark-licence credentials (V2) and status list entries (V3).

``certificate_credentials`` keeps the signed credential (compact JWS) of every certificate revision,
``mark_licence_credentials`` those of mark licences; ``credential_status_entries`` gives each certificate and each
licence one index in its CB's two status lists and holds its two bits.
Both are the CB's rows, under row-level security. Certificates that exist before this revision get their entry and
credential at their first public read (grc.credentials.service), since signing needs the application's keys.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 00:30:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import grc.db
from grc import rls

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('certificate_credentials',
    sa.Column('certificate_id', sa.Uuid(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('issued_at', grc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('token', sa.Text(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificates.id'], name=op.f('fk_certificate_credentials_certificate_id_certificates'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_certificate_credentials_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_credentials')),
    sa.UniqueConstraint('certificate_id', 'revision', name=op.f('uq_certificate_credentials_certificate_id_revision'))
    )
    with op.batch_alter_table('certificate_credentials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificate_credentials_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('credential_status_entries',
    sa.Column('certificate_id', sa.Uuid(), nullable=True),
    sa.Column('mark_licence_id', sa.Uuid(), nullable=True),
    sa.Column('list_index', sa.Integer(), nullable=False),
    sa.Column('revoked', sa.Boolean(), nullable=False),
    sa.Column('suspended', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificates.id'], name=op.f('fk_credential_status_entries_certificate_id_certificates'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['mark_licence_id'], ['mark_licences.id'], name=op.f('fk_credential_status_entries_mark_licence_id_mark_licences'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_credential_status_entries_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credential_status_entries')),
    sa.UniqueConstraint('certificate_id', name=op.f('uq_credential_status_entries_certificate_id')),
    sa.UniqueConstraint('mark_licence_id', name=op.f('uq_credential_status_entries_mark_licence_id')),
    sa.UniqueConstraint('tenant_id', 'list_index', name=op.f('uq_credential_status_entries_tenant_id_list_index'))
    )
    with op.batch_alter_table('credential_status_entries', schema=None) as batch_op:
        batch_op.create_index('ix_credential_status_entries_revoked', ['tenant_id', 'list_index'], unique=False, postgresql_where=sa.text('revoked'), sqlite_where=sa.text('revoked'))
        batch_op.create_index('ix_credential_status_entries_suspended', ['tenant_id', 'list_index'], unique=False, postgresql_where=sa.text('suspended'), sqlite_where=sa.text('suspended'))
        batch_op.create_index(batch_op.f('ix_credential_status_entries_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('mark_licence_credentials',
    sa.Column('mark_licence_id', sa.Uuid(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('issued_at', grc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('token', sa.Text(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['mark_licence_id'], ['mark_licences.id'], name=op.f('fk_mark_licence_credentials_mark_licence_id_mark_licences'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_mark_licence_credentials_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mark_licence_credentials')),
    sa.UniqueConstraint('mark_licence_id', 'digest', name=op.f('uq_mark_licence_credentials_mark_licence_id_digest'))
    )
    with op.batch_alter_table('mark_licence_credentials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mark_licence_credentials_tenant_id'), ['tenant_id'], unique=False)

    rls.enable_tenant_rls("certificate_credentials")
    rls.enable_tenant_rls("credential_status_entries")
    rls.enable_tenant_rls("mark_licence_credentials")


def downgrade() -> None:
    rls.disable_tenant_rls("mark_licence_credentials")
    with op.batch_alter_table('mark_licence_credentials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mark_licence_credentials_tenant_id'))

    op.drop_table('mark_licence_credentials')
    rls.disable_tenant_rls("credential_status_entries")
    rls.disable_tenant_rls("certificate_credentials")
    with op.batch_alter_table('credential_status_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credential_status_entries_tenant_id'))
        batch_op.drop_index('ix_credential_status_entries_suspended', sqlite_where=sa.text('suspended'))
        batch_op.drop_index('ix_credential_status_entries_revoked', sqlite_where=sa.text('revoked'))

    op.drop_table('credential_status_entries')
    with op.batch_alter_table('certificate_credentials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_credentials_tenant_id'))

    op.drop_table('certificate_credentials')
