"""Configuration module for RQ's own cron runner: ``rq cron worker.cron_config --url $GRC_REDIS_URL``.

Equivalent to ``grc scheduler``; both read the one schedule in grc.jobs.schedule. Run exactly one.
"""
from rq import cron

from grc.config import Settings
from grc.jobs.schedule import SCHEDULE

for _entry in SCHEDULE:
    cron.register(
        _entry.func, queue_name=Settings().queue_name, interval=_entry.interval_seconds, cron=_entry.cron,
        job_timeout=_entry.timeout_seconds,
    )
