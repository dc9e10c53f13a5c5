"""Sign-in sessions as rows (I4: listed and ended by the user or an admin); audit events name their hash format.

Every sign-in writes a sign_in_sessions row whose id the tokens carry as ``sid``; the guard refuses tokens of an
ended (or unknown) session. Logged-out sign-ins were kept as ``sid:<id>`` keys in revoked_tokens: tokens with
such a sid have no row here, so the guard refuses them too (everyone signed in before this upgrade signs in again).

audit_events.hash_version: events already written were hashed in format 1 (the server default says so, also for
a process still running the older code); new events are written in format 2, which covers request_id and id.

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-04 10:00:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import grc.db
from grc import rls

revision: str = '0012'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('sign_in_sessions',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', grc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_refreshed_at', grc.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('valid_until', grc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', grc.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_by', sa.Uuid(), nullable=True),
    sa.Column('end_reason', sa.Enum('logout', 'ended', 'deactivated', name='session_end', native_enum=False, length=40), nullable=True),
    sa.Column('user_agent', sa.String(length=200), nullable=True),
    sa.Column('ip_address', sa.String(length=45), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_sign_in_sessions_tenant_id_tenants')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sign_in_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_sessions'))
    )
    with op.batch_alter_table('sign_in_sessions', schema=None) as batch_op:
        batch_op.create_index('ix_sign_in_sessions_user_page', ['user_id', 'valid_until', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sign_in_sessions_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sign_in_sessions_valid_until'), ['valid_until'], unique=False)
    rls.enable_tenant_rls('sign_in_sessions')

    # Not in batch mode: SQLite adds the column in place, keeping audit_events' append-only triggers.
    op.add_column('audit_events', sa.Column('hash_version', sa.Integer(), server_default=sa.text('1'), nullable=False))


def downgrade() -> None:
    op.drop_column('audit_events', 'hash_version')
    rls.disable_tenant_rls('sign_in_sessions')
    with op.batch_alter_table('sign_in_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sign_in_sessions_valid_until'))
        batch_op.drop_index(batch_op.f('ix_sign_in_sessions_tenant_id'))
        batch_op.drop_index('ix_sign_in_sessions_user_page')
    op.drop_table('sign_in_sessions')
