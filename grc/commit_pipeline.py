"""Everything the application hooks into a database session, in the order it runs. ``create_app`` installs it.

A request (or a job) stages its changes through services; what happens around them is this list, read top to
bottom as a unit of work lives:

- every ORM statement gets the caller's tenant walls (``tenancy``); bulk updates note that cached views go stale;
- a transaction begins with the row-level security settings of the caller's scope;
- each flush stamps new rows with the caller's tenant, then notes an audit event per changed row, then notes
  which tenants' cached views the rows show in;
- the commit chains the noted audit events to each tenant's hash chain (A1), then bumps the view versions of
  the noted tenants (their cached views are stale from this commit on), both inside the transaction;
- after the commit the relay and the sender are enqueued if the transaction wrote outbox messages or
  deliveries (so a notification leaves within a second);
- a rollback forgets the noted audit events and the job triggers.

Domain reactions are not here: they are event subscriptions (``grc.events.on``) and run inside the transaction
of the change, when the change is published.
"""
from __future__ import annotations

from grc import tenancy, viewcache
from grc.auditlog import service as audit_trail
from grc.events import Hook, install
from grc.jobs import commit_triggers

PIPELINE: tuple[Hook, ...] = (
    Hook("tenant walls on every statement", "do_orm_execute", tenancy.scope_queries),
    Hook("bulk changes drop every cached view", "do_orm_execute", viewcache.note_bulk_changes),
    Hook("row-level security settings", "after_begin", tenancy.rls_on_begin),
    Hook("tenant stamping", "before_flush", tenancy.stamp_new_rows),
    Hook("audit events", "before_flush", audit_trail.record_changes),
    Hook("changed tenants noted for the view cache", "after_flush", viewcache.note_changes),
    Hook("audit chain at commit", "before_commit", audit_trail.chain_at_commit),
    Hook("view versions bumped at commit", "before_commit", viewcache.bump_versions),
    Hook("outbox relay and delivery triggers", "after_commit", commit_triggers.run_jobs_after_commit),
    Hook("audit events forgotten", "after_rollback", audit_trail.forget_pending),
    Hook("job triggers forgotten", "after_rollback", commit_triggers.forget_on_rollback),
)


def install_pipeline() -> None:
    """Listen with every hook of ``PIPELINE`` on every session, in its order (idempotent)."""
    install(PIPELINE)
