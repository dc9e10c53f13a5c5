"""The embedded scheduler: runs the schedule on a timer thread when there is no Redis (``grc serve``)."""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from croniter import croniter
from flask import Flask

from grc.db import utcnow
from grc.jobs.schedule import SCHEDULE, Entry

log = logging.getLogger("grc.scheduler")


def next_run(entry: Entry, after: datetime) -> datetime:
    if entry.cron:
        run: datetime = croniter(entry.cron, after).get_next(datetime)
        return run
    return after + timedelta(seconds=entry.interval_seconds or 60)


def start_inline_scheduler(app: Flask, tick_seconds: float = 5.0) -> threading.Event:
    """Start the timer thread; set the returned event to stop it."""
    stop = threading.Event()
    due = {entry: next_run(entry, utcnow()) for entry in SCHEDULE}

    def loop() -> None:
        while not stop.wait(tick_seconds):
            now = utcnow()
            for entry, when in due.items():
                if when <= now:
                    _run(app, entry)
                    due[entry] = next_run(entry, now)

    threading.Thread(target=loop, name="grc-inline-scheduler", daemon=True).start()
    return stop


def _run(app: Flask, entry: Entry) -> None:
    try:
        with app.app_context():
            entry.func()
    except Exception:  # noqa: BLE001 - a failing job must not stop the schedule
        log.exception("scheduled job %s failed", entry.func.__name__)
