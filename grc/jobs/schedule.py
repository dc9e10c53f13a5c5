"""The schedule, declared once: RQ's cron scheduler (``grc scheduler``) and the embedded timer both read it."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from grc.jobs import tasks


@dataclass(frozen=True)
class Entry:
    func: Callable[..., Any]
    interval_seconds: int | None = None
    cron: str | None = None


SCHEDULE: tuple[Entry, ...] = (
    Entry(tasks.relay_outbox, interval_seconds=60),
    Entry(tasks.purge_expired_tokens, cron="17 3 * * *"),
    Entry(tasks.daily_certification_sweep, cron="5 0 * * *"),
)
