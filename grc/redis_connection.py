"""The application's Redis connection: the job queue, the view cache and the rate limiter's neighbours use it.

With ``GRC_REDIS_URL`` set it is that server; without it (the embedded default) one in-memory Redis per app, so
the code paths are the same.
"""
from __future__ import annotations

import fakeredis
from flask import Flask
from redis import Redis


def redis_connection(app: Flask) -> Redis:
    """The app's Redis: the configured server, or one in-memory instance per app in embedded mode."""
    if "grc.redis" not in app.extensions:
        settings = app.config["GRC_SETTINGS"]
        if settings.uses_redis:
            app.extensions["grc.redis"] = Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=2)
        else:
            app.extensions["grc.redis"] = fakeredis.FakeRedis()
    redis: Redis = app.extensions["grc.redis"]
    return redis
