"""Least privilege in the database: the bypass belongs to the owner, every per-tenant table has a policy, and the
API role gets rows, never tables.

* ``grc_rls_bypass()`` holds only for the database owner (and its members): the API role (``grc.rls.API_ROLE``)
  can ``SET app.rls_bypass = 'on'`` and nothing changes.
* ``tenants`` (a tenant sees itself, the other side of its client relationships, and the platform sees every CB),
  ``counters`` and ``audit_chain_heads`` (their tenant only) get policies like every other per-tenant table.
* The write check of every policy reads the tenants this unit of work may write to once per statement
  (``grc_writable_tenants()`` as an InitPlan) instead of calling ``grc_may_write`` for every row.
* ``grc.rls.grant_api_role``: SELECT/INSERT/UPDATE/DELETE to the API role when it exists (``grc db upgrade``
  applies it again after every upgrade, so a role created later gets its grants too).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 10:00:00
"""
from __future__ import annotations

import re
from collections.abc import Sequence

from alembic import op

from grc import rls

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTIONS = """
CREATE OR REPLACE FUNCTION grc_rls_bypass() RETURNS boolean LANGUAGE sql STABLE AS
$$ SELECT coalesce(current_setting('app.rls_bypass', true), '') = 'on'
          AND pg_has_role(current_user, (SELECT datdba FROM pg_database WHERE datname = current_database()),
                          'MEMBER') $$;
CREATE OR REPLACE FUNCTION grc_writable_tenants() RETURNS uuid[] LANGUAGE sql STABLE AS
$$ SELECT array_remove(grc_current_tenant()
          || string_to_array(NULLIF(current_setting('app.writable_tenants', true), ''), ',')::uuid[], NULL) $$;
CREATE OR REPLACE FUNCTION grc_may_write(t uuid) RETURNS boolean LANGUAGE sql STABLE AS
$$ SELECT grc_rls_bypass() OR t = ANY(grc_writable_tenants()) $$;
CREATE OR REPLACE FUNCTION grc_current_tenant_is_platform() RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER
SET search_path = {schema}, pg_temp AS
$$ DECLARE before text := coalesce(current_setting('app.rls_bypass', true), ''); platform boolean;
   BEGIN
     PERFORM set_config('app.rls_bypass', 'on', true);  -- as the owner: read the tenant row, not its policy again
     platform := EXISTS (SELECT 1 FROM tenants WHERE id = grc_current_tenant() AND kind = 'platform');
     PERFORM set_config('app.rls_bypass', before, true);
     RETURN platform;
   END $$;
"""
DROP_FUNCTIONS = """
DROP FUNCTION grc_current_tenant_is_platform();
DROP FUNCTION grc_writable_tenants();
"""
BYPASS = "(SELECT grc_rls_bypass())"
MAY_WRITE = "{column} = ANY ((SELECT grc_writable_tenants())::uuid[])"
TENANTS_VISIBLE = (
    f"{BYPASS} OR {MAY_WRITE.format(column='id')}"
    " OR id IN (SELECT client_tenant_id FROM client_relationships WHERE tenant_id = (SELECT grc_current_tenant()))"
    " OR id IN (SELECT tenant_id FROM client_relationships WHERE client_tenant_id = (SELECT grc_current_tenant()))"
    " OR (kind = 'certification_body' AND (SELECT grc_current_tenant_is_platform()))"
)
OWN_TENANT_TABLES = ("counters", "audit_chain_heads")
# grc_may_write(tenant_id) as PostgreSQL prints MAY_WRITE back, for the downgrade.
_PRINTED_MAY_WRITE = re.compile(r"\(tenant_id = ANY \(\( SELECT grc_writable_tenants\(\) AS \w+\)::uuid\[\]\)\)")


def upgrade() -> None:
    if not rls.is_postgresql():
        return
    schema = op.get_bind().exec_driver_sql("SELECT quote_ident(current_schema())").scalar_one()
    op.execute(FUNCTIONS.format(schema=schema))  # pg_temp last: a temporary table cannot stand in for tenants
    for table in OWN_TENANT_TABLES:
        rls.enable_tenant_rls(table)
    rls.rewrite_policies(
        lambda qual: qual.replace("grc_may_write(tenant_id)", f"({MAY_WRITE.format(column='tenant_id')})"),
        lambda _check: f"{BYPASS} OR {MAY_WRITE.format(column='tenant_id')}",
    )
    op.execute("ALTER TABLE tenants ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE tenants FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY tenant_isolation ON tenants USING ({TENANTS_VISIBLE})"
               f" WITH CHECK ({BYPASS} OR {MAY_WRITE.format(column='id')})")
    rls.grant_api_role(op.get_bind())


def downgrade() -> None:
    if not rls.is_postgresql():
        return
    rls.revoke_api_role(op.get_bind())
    rls.disable_tenant_rls("tenants")
    rls.rewrite_policies(lambda qual: _PRINTED_MAY_WRITE.sub("grc_may_write(tenant_id)", qual),
                         lambda _check: "grc_may_write(tenant_id)")
    for table in OWN_TENANT_TABLES:
        rls.disable_tenant_rls(table)
    op.execute(rls.FUNCTIONS)
    op.execute(DROP_FUNCTIONS)
