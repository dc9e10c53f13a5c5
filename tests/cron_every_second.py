"""A cron config for `grc scheduler --config tests/cron_every_second.py`: one job a second, so a test sees the
scheduler's loop meet a Redis outage within a second (grc's own schedule runs every minute at the fastest)."""
from rq import cron

from grc.config import Settings
from tests.test_faults import slow_job

cron.register(slow_job, queue_name=Settings().queue_name, args=(0,), interval=1)
