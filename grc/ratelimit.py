"""The rate-limit strategy: fixed windows aligned to the clock, one storage round trip per limited request.

flask-limiter's fixed window (from ``limits``) starts a window at its first hit, so the reset time lives in
Redis: every answer cost three round trips, the hit and two reads (count and TTL) for the ``X-RateLimit-*``
and ``Retry-After`` headers, which made the limiter the largest cost of a cached public lookup. Here the
window is numbered from the clock (its key carries the number), so the reset time is known without asking, and
the hit's own count gives what remains: the headers need no further round trip. The budget is the same (at
most ``amount`` per window per key; like any fixed window, a burst may straddle a boundary).
"""
from __future__ import annotations

import time
from contextvars import ContextVar

from limits import RateLimitItem
from limits.strategies import STRATEGIES, FixedWindowRateLimiter
from limits.util import WindowStats

NAME = "clock-aligned-fixed-window"

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
