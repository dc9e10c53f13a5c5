"""The schedule, declared once: RQ's cron scheduler (``grc scheduler``) and the embedded timer both read it."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from grc.jobs import job_functions


@dataclass(frozen=True)
class Entry:
    func: Callable[..., Any]
    interval_seconds: int | None = None
    cron: str | None = None
    timeout_seconds: int = 600


SCHEDULE: tuple[Entry, ...] = (
    Entry(job_functions.relay_outbox, interval_seconds=60, timeout_seconds=300),
    Entry(job_functions.deliver_notifications, interval_seconds=60, timeout_seconds=900),
    Entry(job_functions.purge_expired_tokens, cron="17 3 * * *", timeout_seconds=300),
    # Hourly, so that each tenant's sweep runs soon after midnight in its own time zone (J1); idempotent (J3).
    Entry(job_functions.daily_sweeps, cron="5 * * * *", timeout_seconds=3600),
    # V4: proven mark-licence domains due for their re-check (weekly each, daily while failing), a batch an hour.
    Entry(job_functions.recheck_mark_domains, cron="35 * * * *", timeout_seconds=900),
    # G2: what a commit's trigger could not push (Redis down, a backoff over), then the nightly reconciliation.
    Entry(job_functions.push_registry_records, interval_seconds=60, timeout_seconds=300),
    Entry(job_functions.reconcile_registries, cron="45 2 * * *", timeout_seconds=3600),
)
