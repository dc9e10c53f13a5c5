"""What every story of the data set is written with: the discrete-event ``Scheduler`` that plays a CB's
history (or a risk register's) forward in time order, the ``Run`` every subject shares (recorder, today, seed,
quotas, the running licence sequence) and the ``Picks`` the load runner's summary is made of."""
from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bench.dataset.clock import moment
from bench.dataset.plan import Quotas
from bench.dataset.trail import Recorder
from grc.risks.criteria import DEFAULT as DEFAULT_CRITERIA
from grc.risks.models import RiskCriteria


class Scheduler:
    """A discrete-event loop: actions run in time order and may schedule more, so only what is pending is held
    in memory, never the whole history; ties run in the order they were scheduled. ``between`` runs after each."""

    def __init__(self, between: Callable[[], None]) -> None:
        self._heap: list[tuple[int, int, Callable[[Any], None], Any]] = []
        self._order = itertools.count()
        self._between = between

    def at(self, when: int, action: Callable[[Any], None], arg: Any = None) -> None:
        heapq.heappush(self._heap, (when, next(self._order), action, arg))

    def run(self) -> None:
        heap, between = self._heap, self._between
        while heap:
            _, _, action, arg = heapq.heappop(heap)
            action(arg)
            between()


@dataclass
class Picks:
    """What the load runner needs, noted while the rows are written: the first fitting row of each kind."""

    audit: dict[str, Any] | None = None
    finding: dict[str, Any] | None = None  # an open nonconformity of the big CB: the client can respond
    any_finding: dict[str, Any] | None = None  # else any finding of the big CB not closed yet
    certificate: dict[str, Any] | None = None
    licence: dict[str, Any] | None = None
    risk: dict[str, Any] | None = None
    cbs: list[dict[str, Any]] = field(default_factory=list)  # the big CB, then the small one
    register: dict[str, Any] | None = None


@dataclass
class Run:
    """What every part of the history is written with."""

    rec: Recorder
    today: date
    seed: int
    password_hash: str
    quotas: Quotas
    picks: Picks
    licences: int = 0  # granted so far: the sequence their public numbers are made from
    criteria: RiskCriteria = field(default_factory=lambda: RiskCriteria(version=1, **DEFAULT_CRITERIA))

    @property
    def end(self) -> int:
        """Midnight starting ``today``: everything written happened before it."""
        return moment(self.today, 0)
