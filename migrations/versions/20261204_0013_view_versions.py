"""View versions: a cached view is served only while its owners' versions, kept here, have not moved (grc.viewcache).

One row per tenant whose rows some committed transaction changed (and one for everyone, the nil UUID, bumped by
bulk changes). No foreign key (the nil UUID is no tenant) and no row-level security: counters, no tenant data,
read by public lookups before any tenant scope. On PostgreSQL a version only grows and keeps its owner (a trigger),
and the API role may not delete one (grc.rls.grant_api_role): a statement injected into the API could otherwise
set a version back to the one a stale cached view was stored with and have it served again.
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


ONLY_GROWS = """
CREATE FUNCTION grc_view_version_only_grows() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN
  IF NEW.owner <> OLD.owner OR NEW.version <= OLD.version THEN
    RAISE EXCEPTION 'a view version only grows';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER view_versions_only_grow BEFORE UPDATE ON view_versions
  FOR EACH ROW EXECUTE FUNCTION grc_view_version_only_grows();
"""


def upgrade() -> None:
    op.create_table('view_versions',
    sa.Column('owner', sa.Uuid(), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('owner', name=op.f('pk_view_versions'))
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(ONLY_GROWS)


def downgrade() -> None:
    op.drop_table('view_versions')
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION grc_view_version_only_grows()")
