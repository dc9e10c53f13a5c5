"""Least privilege in the database: the bypass belongs to the owner, every per-tenant table has a policy, and the
API role gets rows, never tables.

* ``grc_rls_bypass()`` holds only for the database owner (and its members): the API role (``grc.rls.API_ROLE``)
  can ``SET app.rls_bypass = 'on'`` and nothing changes.
* ``tenants`` (a tenant sees itself, the other side of its client relationships, and the platform sees every CB),
  ``counters`` and ``audit_chain_heads`` (their tenant only) get policies like every other per-tenant table, and
  the link tables (``audit_schemes``, ``licence_certificates``, ``decision_audits``, ``risk_controls``) go with the
  row they link from.
* The API enters a tenant's scope only through ``grc_enter_scope`` with a proof, sealed to the transaction (SEAL
  below); its few reads across tenants are narrow ``SECURITY DEFINER`` functions (``_owner_read``).
* The write check of every policy reads the tenants this unit of work may write to once per statement
  (``grc_writable_tenants()`` as an InitPlan) instead of calling ``grc_may_write`` for every row.
* ``grc.rls.grant_api_role``: SELECT/INSERT/UPDATE/DELETE to the API role when it exists (``grc db upgrade``
  applies it again after every upgrade, so a role created later gets its grants too).

Revision ID: 0011
Revises: 0013 (written next to 0012 and 0013 and applied after them)
Create Date: 2026-12-04 10:00:00
"""
from __future__ import annotations

import re
from collections.abc import Sequence

from alembic import op

from grc import rls

revision: str = '0011'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _owner_read(signature: str, returns: str, query: str) -> str:
    """A function answering one narrow question across tenants (``query``, on its arguments ``$1``...) as the owner,
    in system scope for that one query: the API role may ask it, and learns that answer and nothing else."""
    return f"""
CREATE OR REPLACE FUNCTION {signature} RETURNS {returns} LANGUAGE plpgsql SECURITY DEFINER
SET search_path = {{schema}}, pg_temp AS
$$ DECLARE before text := coalesce(current_setting('app.rls_bypass', true), ''); answer {returns};
   BEGIN
     PERFORM set_config('app.rls_bypass', 'on', true);
     answer := ({query});
     PERFORM set_config('app.rls_bypass', before, true);
     RETURN answer;
   END $$;"""


# The scope seal. grc_enter_scope sets app.tenant_id and app.writable_tenants only with a proof (sha256 of the two
# and the key in grc_private.scope_key, which only the owner reads; the app derives the same key from
# GRC_SECRET_KEY) and seals them to this transaction (backend pid, transaction start); the policies read them only
# through grc_current_tenant() and grc_writable_tenants(), which verify the seal (once per statement: InitPlans).
# A tenant set any other way, or a seal carried into another transaction, shows nothing.
# What runs once per statement is PL/pgSQL (its plans are kept for the session; an SQL function that cannot be
# inlined is planned again in every statement) without a SET clause (which costs a configuration save and restore
# per call): every name in it is schema-qualified instead, and pg_catalog is always searched first.
SEAL = """
CREATE SCHEMA grc_private;
CREATE TABLE grc_private.scope_key (id integer PRIMARY KEY CHECK (id = 1), key bytea NOT NULL);
CREATE FUNCTION grc_private.digest(message text) RETURNS bytea LANGUAGE plpgsql STABLE AS
$$ DECLARE stored bytea;
   BEGIN
     SELECT key INTO stored FROM grc_private.scope_key WHERE id = 1;
     RETURN sha256(convert_to(message, 'UTF8') || stored);
   END $$;
CREATE FUNCTION grc_private.sealed_scope() RETURNS text LANGUAGE sql STABLE AS
$$ SELECT concat_ws('|', pg_backend_pid(), extract(epoch FROM transaction_timestamp()),
                    current_setting('app.tenant_id', true), current_setting('app.writable_tenants', true)) $$;
CREATE FUNCTION grc_private.scope_sealed() RETURNS boolean LANGUAGE plpgsql STABLE AS
$$ BEGIN
     RETURN coalesce(current_setting('app.scope_seal', true)
                     = encode(grc_private.digest(grc_private.sealed_scope()), 'hex'), false);
   END $$;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA grc_private FROM PUBLIC;
CREATE FUNCTION grc_enter_scope(tenant text, writable text, proof bytea) RETURNS void LANGUAGE plpgsql
SECURITY DEFINER SET search_path = {schema}, pg_temp AS
$$ BEGIN
     IF tenant <> '' OR writable <> '' THEN  -- an empty scope sees nothing, so it needs no proof
       IF grc_private.digest('') IS NULL THEN
         RAISE EXCEPTION 'no tenant scope key: run grc db upgrade with the API''s GRC_SECRET_KEY'
           USING ERRCODE = 'insufficient_privilege';
       END IF;
       IF proof IS DISTINCT FROM grc_private.digest(tenant || '|' || writable) THEN
         RAISE EXCEPTION 'the tenant scope proof is not valid' USING ERRCODE = 'insufficient_privilege';
       END IF;
     END IF;
     PERFORM set_config('app.tenant_id', tenant, true), set_config('app.writable_tenants', writable, true);
     PERFORM set_config('app.scope_seal', coalesce(encode(grc_private.digest(grc_private.sealed_scope()), 'hex'), ''),
                        true);
   END $$;
"""
FUNCTIONS = SEAL + """
CREATE OR REPLACE FUNCTION grc_current_tenant() RETURNS uuid LANGUAGE plpgsql STABLE SECURITY DEFINER AS
$$ BEGIN
     IF grc_private.scope_sealed() THEN
       RETURN NULLIF(current_setting('app.tenant_id', true), '')::uuid;
     END IF;
     RETURN NULL;
   END $$;
CREATE OR REPLACE FUNCTION grc_writable_tenants() RETURNS uuid[] LANGUAGE plpgsql STABLE SECURITY DEFINER AS
$$ BEGIN
     IF grc_private.scope_sealed() THEN
       RETURN array_remove(NULLIF(current_setting('app.tenant_id', true), '')::uuid
         || string_to_array(NULLIF(current_setting('app.writable_tenants', true), ''), ',')::uuid[], NULL);
     END IF;
     RETURN NULL;
   END $$;
CREATE OR REPLACE FUNCTION grc_rls_bypass() RETURNS boolean LANGUAGE plpgsql STABLE AS
$$ BEGIN
     IF coalesce(current_setting('app.rls_bypass', true), '') <> 'on' THEN
       RETURN false;
     END IF;
     RETURN pg_has_role(current_user, (SELECT datdba FROM pg_catalog.pg_database WHERE datname = current_database()),
                        'MEMBER');
   END $$;
CREATE OR REPLACE FUNCTION grc_may_write(t uuid) RETURNS boolean LANGUAGE sql STABLE AS
$$ SELECT grc_rls_bypass() OR t = ANY(grc_writable_tenants()) $$;
""" + "".join((
    _owner_read("grc_current_tenant_is_platform()", "boolean",
                "SELECT EXISTS (SELECT 1 FROM tenants WHERE id = grc_current_tenant() AND kind = 'platform')"),
    _owner_read("grc_tenant_of_user(email text)", "uuid", "SELECT tenant_id FROM users WHERE users.email = $1"),
    _owner_read("grc_tenant_of_api_client(client_id text)", "uuid",
                "SELECT tenant_id FROM api_clients WHERE api_clients.client_id = $1"),
    _owner_read("grc_certification_body(slug text)", "uuid",
                "SELECT id FROM tenants WHERE tenants.slug = $1 AND kind = 'certification_body'"),
    _owner_read("grc_tenant_of_mark_licence(number text)", "uuid",
                "SELECT tenant_id FROM mark_licences WHERE mark_licences.number = $1"),
))
DROP_FUNCTIONS = """
DROP FUNCTION grc_tenant_of_mark_licence(text);
DROP FUNCTION grc_certification_body(text);
DROP FUNCTION grc_tenant_of_api_client(text);
DROP FUNCTION grc_tenant_of_user(text);
DROP FUNCTION grc_current_tenant_is_platform();
DROP FUNCTION grc_writable_tenants();
DROP FUNCTION grc_enter_scope(text, text, bytea);
DROP SCHEMA grc_private CASCADE;
"""
TENANTS_VISIBLE = (
    f"{rls.BYPASS_ONCE} OR {rls.may_write_once('id')}"
    " OR id IN (SELECT client_tenant_id FROM client_relationships WHERE tenant_id = (SELECT grc_current_tenant()))"
    " OR id IN (SELECT tenant_id FROM client_relationships WHERE client_tenant_id = (SELECT grc_current_tenant()))"
    " OR (kind = 'certification_body' AND (SELECT grc_current_tenant_is_platform()))"
)
# Link tables have no tenant of their own: a row goes with the row its first column names.
LINK_TABLES = (("audit_schemes", "audit_id", "audits"), ("licence_certificates", "licence_id", "mark_licences"),
               ("decision_audits", "decision_id", "certification_decisions"), ("risk_controls", "risk_id", "risks"))
OWN_TENANT_TABLES = ("counters", "audit_chain_heads")
# grc_may_write(tenant_id) as PostgreSQL prints rls.may_write_once() back, for the downgrade.
_PRINTED_MAY_WRITE = re.compile(r"\(tenant_id = ANY \(\( SELECT grc_writable_tenants\(\) AS \w+\)::uuid\[\]\)\)")


def upgrade() -> None:
    if not rls.is_postgresql():
        return
    schema = op.get_bind().exec_driver_sql("SELECT quote_ident(current_schema())").scalar_one()
    op.execute(FUNCTIONS.format(schema=schema))  # pg_temp last: a temporary table cannot stand in for tenants
    for table in OWN_TENANT_TABLES:
        rls.enable_tenant_rls(table)
    rls.rewrite_policies(lambda qual: qual.replace("grc_may_write(tenant_id)", f"({rls.may_write_once()})"),
                         lambda _check: f"{rls.BYPASS_ONCE} OR {rls.may_write_once()}")
    op.execute("ALTER TABLE tenants ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE tenants FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY tenant_isolation ON tenants USING ({TENANTS_VISIBLE})"
               f" WITH CHECK ({rls.BYPASS_ONCE} OR {rls.may_write_once('id')})")
    for table, column, parent in LINK_TABLES:
        rls.enable_parent_rls(table, column, parent)
    rls.grant_api_role(op.get_bind())


def downgrade() -> None:
    if not rls.is_postgresql():
        return
    rls.revoke_api_role(op.get_bind())
    for table, _column, _parent in LINK_TABLES:
        rls.disable_tenant_rls(table)
    rls.disable_tenant_rls("tenants")
    rls.rewrite_policies(lambda qual: _PRINTED_MAY_WRITE.sub("grc_may_write(tenant_id)", qual),
                         lambda _check: "grc_may_write(tenant_id)")
    for table in OWN_TENANT_TABLES:
        rls.disable_tenant_rls(table)
    op.execute(rls.FUNCTIONS)
    op.execute(DROP_FUNCTIONS)
