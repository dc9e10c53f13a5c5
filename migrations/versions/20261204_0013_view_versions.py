"""View versions: a cached view is served only while its owners' versions, kept here, have not moved (grc.viewcache).

One row per tenant whose rows some committed transaction changed (and one for everyone, the nil UUID, bumped by
bulk changes). No foreign key (the nil UUID is no tenant) and no row-level security: counters, no tenant data.
Cached views written before this revision live under other Redis keys and are never read again.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 12:00:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('view_versions',
    sa.Column('owner', sa.Uuid(), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('owner', name=op.f('pk_view_versions'))
    )


def downgrade() -> None:
    op.drop_table('view_versions')
