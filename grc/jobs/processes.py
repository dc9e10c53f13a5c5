"""The long-running job processes, ``grc worker`` and ``grc scheduler``, that ride out a Redis outage (J6).

RQ's worker ends its loop on any Redis error ("found an unhandled exception, quitting") and RQ's cron scheduler
raises out of its loop; a process that quits leaves the outbox waiting until someone restarts it. Here, when the
loop ends without having been asked to stop, the process waits until Redis answers again (one PING a second) and
starts a fresh worker or scheduler. SIGTERM and SIGINT still stop it as RQ stops it (a worker finishes its job
first). Each worker it starts first triggers the outbox relay and the sender (``catch_up``): what was committed
during the outage could not trigger them.

A PostgreSQL restart needs nothing of this: the job that ran into it fails, is kept in the failed registry, and the
next trigger or scheduled run does its work.
"""
from __future__ import annotations

import logging
import signal
import time
from types import FrameType

from flask import Flask
from redis import Redis
from redis.client import PubSub
from redis.exceptions import RedisError
from rq import Worker
from rq.cron import CronScheduler
from rq.exceptions import StopRequested

from grc.jobs.commit_triggers import catch_up
from grc.jobs.queue import get_queue
from grc.redis_connection import redis_connection

CRON_CONFIG = "worker.cron_config"
PUBSUB_POLL_SECONDS = 1.0  # how long stopping a worker may wait for its command listener
log = logging.getLogger("grc.jobs")


class StoppableWorker(Worker):
    """RQ's worker, remembering whether a signal asked it to stop (then its loop's end is not an outage)."""

    signalled = False

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        """RQ stops an idle worker by raising ``StopRequested`` from the signal handler; a signal that lands while a
        destructor runs (a Redis connection pool collected at that moment) has that exception swallowed, and the
        worker went on working until killed. The flag makes its loop stop at its next turn whatever happens to the
        exception."""
        self.signalled = True
        self._stop_requested = True
        super().request_stop(signum, frame)  # type: ignore[no-untyped-call]  # rq leaves it unannotated

    def subscribe(self) -> None:
        """RQ's listener for its worker commands, polling every second instead of every 60 s, so that stopping it
        can wait for its end (see ``unsubscribe``)."""
        pubsub: PubSub = self.connection.pubsub()  # type: ignore[no-untyped-call]  # redis leaves it unannotated
        pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        self.pubsub = pubsub
        self.pubsub_thread = pubsub.run_in_thread(  # type: ignore[assignment]  # rq types the attribute as None
            sleep_time=PUBSUB_POLL_SECONDS, daemon=True, exception_handler=self._pubsub_exception_handler)

    def unsubscribe(self) -> None:
        """Stop the listener and wait for its end before closing its connection. RQ waits one second for a thread
        that polls for 60 s, then closes the connection under it: the thread outlived ``grc worker --burst``'s
        "done, quitting", still using the Redis connection pool while the process tore it down at exit (a loaded
        machine saw the process hang there), and redis 8.2, whose ``stop()`` joins, waited out the 60 s poll."""
        if self.pubsub_thread is None or self.pubsub is None:
            return
        self.pubsub.unsubscribe()
        self.pubsub_thread.stop()
        self.pubsub_thread.join()
        self.pubsub.close()


def run_worker(app: Flask, *, burst: bool) -> None:
    """Work the queue until stopped (``burst``: until it is empty), starting again after every Redis outage,
    also one under way when the process starts."""
    connection = redis_connection(app)
    while True:
        worker = None
        try:
            if not burst:
                with app.app_context():
                    catch_up()
            worker = StoppableWorker([get_queue(app)], connection=connection)  # it names itself in Redis already
            worker.work(burst=burst, with_scheduler=True)
        except RedisError as exc:  # RQ's teardown talks to Redis too
            log.warning("worker stopped by a Redis error", extra={"error": repr(exc)})
        if burst or (worker is not None and worker.signalled) or not _wait_for_redis(connection):
            return
        log.warning("Redis answers again: starting a fresh worker")


def run_scheduler(app: Flask, config: str = CRON_CONFIG) -> None:
    """Enqueue the schedule that the cron ``config`` registers (grc's own: worker/cron_config.py) until stopped,
    starting again after every Redis outage (a fresh scheduler enqueues its interval jobs at once)."""
    connection = redis_connection(app)
    while True:
        try:
            cron = CronScheduler(connection=connection)
            cron.load_config_from_file(config)
            cron.start()  # type: ignore[no-untyped-call]  # rq leaves CronScheduler.start unannotated
            return  # it returns only when a signal stopped it
        except RedisError as exc:
            log.warning("scheduler stopped by a Redis error", extra={"error": repr(exc)})
        if not _wait_for_redis(connection):
            return
        log.warning("Redis answers again: starting a fresh scheduler")


def _wait_for_redis(connection: Redis) -> bool:
    """Until Redis answers (True), or SIGTERM or SIGINT asks the process to stop meanwhile (False)."""
    previous = {number: signal.signal(number, _stop) for number in (signal.SIGTERM, signal.SIGINT)}
    try:
        while True:
            try:
                connection.ping()
                return True
            except RedisError:
                time.sleep(1)
    except StopRequested:
        return False
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _stop(_signum: int, _frame: FrameType | None) -> None:
    raise StopRequested()
