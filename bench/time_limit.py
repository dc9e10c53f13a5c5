"""Every benchmark is bounded in time and cleans up after itself, also when it runs out of its time."""
from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


@contextmanager
def time_limit(seconds: int, what: str) -> Iterator[None]:
    """Raise ``TimeoutError`` in the main thread after ``seconds``: the ExitStack or context managers inside then
    stop every server the run started (every benchmark is bounded in time and cleans up after itself)."""

    def time_out(_signum: int, _frame: FrameType | None) -> None:
        raise TimeoutError(f"{what} ran out of its {seconds} s")

    previous = signal.signal(signal.SIGALRM, time_out)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
