"""Structured addresses and the CB's registry profile (rule G1: IAF CertSearch wants street, city, postcode, state
and country for the certified entity and each site; the accreditation body's acronym, which schemes are accredited
and how statuses read there).

Existing data is kept: a tenant's free-text ``address`` stays as its display line and is copied to ``street``, and
each site's ``address`` to the site's ``street``; both are flagged for review (``address_needs_review``, the site's
``needs_review``), since the city, postcode and state are still inside that line. Downgrade drops the lines and the
flags (the display address was never changed).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-10 13:00:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ADDRESS_LINES = (('street', 300), ('city', 100), ('postcode', 20), ('state', 100))
SITE_LINES = ('street', 'city', 'postcode', 'state', 'needs_review')
TENANTS = sa.table('tenants', sa.column('id', sa.Uuid()), sa.column('address', sa.String()),
                   sa.column('street', sa.String()), sa.column('address_needs_review', sa.Boolean()),
                   sa.column('sites', sa.JSON()))
DEFAULT_STATUSES = '{"active": "active", "suspended": "suspended", "withdrawn": "withdrawn", "expired": "expired"}'


def upgrade() -> None:
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        for name, length in ADDRESS_LINES:
            batch_op.add_column(sa.Column(name, sa.String(length=length), nullable=True))
        batch_op.add_column(sa.Column('address_needs_review', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    with op.batch_alter_table('cb_policies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('accreditation_body_acronym', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('accredited_schemes', sa.JSON(), server_default=sa.text("'[]'"),
                                      nullable=False))
        batch_op.add_column(sa.Column('registry_statuses', sa.JSON(), server_default=sa.text(f"'{DEFAULT_STATUSES}'"),
                                      nullable=False))
    _bypass_row_security()
    _move_free_text_to_street()


def _bypass_row_security() -> None:
    """Every tenant's row is rewritten: the owner's system scope for this transaction (PostgreSQL's policies)."""
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("SELECT set_config('app.rls_bypass', 'on', true)")


def _move_free_text_to_street() -> None:
    bind = op.get_bind()
    for row in bind.execute(sa.select(TENANTS.c.id, TENANTS.c.address, TENANTS.c.sites)).all():
        sites = [_site_lines(site) for site in row.sites or []]
        changes: dict[str, Any] = {'sites': sites}
        if row.address:
            changes.update(street=row.address[:300], address_needs_review=True)
        bind.execute(TENANTS.update().where(TENANTS.c.id == row.id).values(**changes))


def _site_lines(site: dict[str, Any]) -> dict[str, Any]:
    return {**site, 'street': (site.get('address') or '')[:300] or None, 'city': None, 'postcode': None,
            'state': None, 'needs_review': bool(site.get('address'))}


def downgrade() -> None:
    _bypass_row_security()
    bind = op.get_bind()
    for row in bind.execute(sa.select(TENANTS.c.id, TENANTS.c.sites)).all():
        sites = [{k: v for k, v in site.items() if k not in SITE_LINES} for site in row.sites or []]
        bind.execute(TENANTS.update().where(TENANTS.c.id == row.id).values(sites=sites))
    with op.batch_alter_table('cb_policies', schema=None) as batch_op:
        batch_op.drop_column('registry_statuses')
        batch_op.drop_column('accredited_schemes')
        batch_op.drop_column('accreditation_body_acronym')
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.drop_column('address_needs_review')
        for name, _length in reversed(ADDRESS_LINES):
            batch_op.drop_column(name)
