"""The rate-limit strategy: fixed windows aligned to the clock, one storage round trip per limited request.

flask-limiter's fixed window (from ``limits``) starts a window at its first hit, so the reset time lives in
Redis: every answer cost three round trips, the hit and two reads (count and TTL) for the ``X-RateLimit-*``
and ``Retry-After`` headers, which made the limiter the largest cost of a cached public lookup. Here the
window is numbered from the clock (its key carries the number), so the reset time is known without asking, and
the hit's own count gives what remains: the headers need no further round trip. The budget is the same (at
most ``amount`` per window per key; like any fixed window, a burst may straddle a boundary).

The counts live in Redis (one budget across every worker), through ``RedisOrProcessStorage``: while Redis cannot be
reached they are kept in the process's memory instead, so a limit goes on holding through an outage (per process,
so each worker allows the whole budget) and never turns into "allow everything". The storage is retried every
``REDIS_RETRY_SECONDS``.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import TypeVar

from limits import RateLimitItem
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import STRATEGIES, FixedWindowRateLimiter
from limits.util import WindowStats

NAME = "clock-aligned-fixed-window"
FALLBACK_PREFIX = "process-fallback+"
REDIS_RETRY_SECONDS = 5.0
REDIS_TIMEOUT_SECONDS = 1.0  # a Redis that does not answer must not hold a request: its counts move to memory
log = logging.getLogger(__name__)
Value = TypeVar("Value")

# The window seen by this thread's (this request's) last hit, for the headers written after the view.
_last_hit: ContextVar[tuple[str, WindowStats] | None] = ContextVar("grc_rate_limit_last_hit", default=None)


class ClockAlignedFixedWindow(FixedWindowRateLimiter):
    """A fixed window per ``item.get_expiry()`` seconds of the clock; ``hit`` remembers what it counted."""

    def hit(self, item: RateLimitItem, *identifiers: str, cost: int = 1) -> bool:
        _last_hit.set(None)  # a failing hit must not leave an earlier request's figures for the headers
        key, reset = _window(item, identifiers)
        count = self.storage.incr(key, item.get_expiry(), amount=cost)
        _last_hit.set((key, WindowStats(reset, max(0, item.amount - count))))
        return count <= item.amount

    def test(self, item: RateLimitItem, *identifiers: str, cost: int = 1) -> bool:
        key, _reset = _window(item, identifiers)
        return self.storage.get(key) < item.amount - cost + 1

    def get_window_stats(self, item: RateLimitItem, *identifiers: str) -> WindowStats:
        key, reset = _window(item, identifiers)
        seen = _last_hit.get()
        if seen is not None and seen[0] == key:
            return seen[1]
        return WindowStats(reset, max(0, item.amount - self.storage.get(key)))

    def clear(self, item: RateLimitItem, *identifiers: str) -> None:
        self.storage.clear(_window(item, identifiers)[0])


def _window(item: RateLimitItem, identifiers: tuple[str, ...]) -> tuple[str, float]:
    """The key of the current window and the time it ends."""
    length = item.get_expiry()
    number = int(time.time() // length)
    return item.key_for(*identifiers, str(number)), float((number + 1) * length)


# flask-limiter looks strategies up by name in this registry (RATELIMIT_STRATEGY).
STRATEGIES[NAME] = ClockAlignedFixedWindow


def storage_uri(redis_url: str) -> str:
    """The limiter's storage for the app's Redis URL: Redis with the in-process fallback, or memory without Redis."""
    return FALLBACK_PREFIX + redis_url if redis_url else "memory://"


class RedisOrProcessStorage(Storage):
    """Redis while it answers; this process's memory while it does not (see the module docstring)."""

    STORAGE_SCHEME = [FALLBACK_PREFIX + scheme for scheme in ("redis", "rediss", "redis+unix")]

    def __init__(self, uri: str, wrap_exceptions: bool = False, **_options: float | str | bool) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions)
        self.redis = RedisStorage(uri.removeprefix(FALLBACK_PREFIX), socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                                  socket_timeout=REDIS_TIMEOUT_SECONDS)
        self.memory = MemoryStorage()
        self._redis_retry_at = 0.0

    @property
    def base_exceptions(self) -> tuple[type[Exception], ...]:
        return ()  # nothing escapes: a Redis failure is answered from memory

    def _counted(self, in_redis: Callable[[], Value], in_memory: Callable[[], Value]) -> Value:
        now = time.monotonic()
        if now >= self._redis_retry_at:
            try:
                return in_redis()
            except self.redis.base_exceptions as exc:
                self._redis_retry_at = now + REDIS_RETRY_SECONDS
                log.error("rate limits unreachable in Redis: counting in this process", extra={"error": repr(exc)})
        return in_memory()

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        return self._counted(lambda: self.redis.incr(key, expiry, amount=amount),
                             lambda: self.memory.incr(key, expiry, amount=amount))

    def get(self, key: str) -> int:
        return self._counted(lambda: self.redis.get(key), lambda: self.memory.get(key))

    def get_expiry(self, key: str) -> float:
        return self._counted(lambda: self.redis.get_expiry(key), lambda: self.memory.get_expiry(key))

    def check(self) -> bool:
        return True  # there is always somewhere to count

    def reset(self) -> int | None:
        self.memory.reset()
        return self._counted(self.redis.reset, lambda: None)

    def clear(self, key: str) -> None:
        self.memory.clear(key)
        self._counted(lambda: self.redis.clear(key), lambda: None)
