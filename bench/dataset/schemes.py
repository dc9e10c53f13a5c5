"""The shipped certification schemes as plain data, with the cycle dates the service derives from them (C4, C6)
remembered: the planner, the certification story and the findings all read them in their hot loops."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date

from grc.certification.service import cycle_end
from grc.schemes.catalogue import catalogue_rows
from grc.schemes.models import Scheme


@dataclass(frozen=True)
class Standard:
    """A shipped scheme as plain data (attribute access on transient ORM objects is slow in a hot loop)."""

    id: str
    code: str
    standard: str
    title: str
    clauses: tuple[dict[str, str], ...]
    rules: Scheme  # the ORM row, whose methods derive the cycle's dates


SCHEMES = [Standard(str(s.id), s.code, s.standard, s.title, tuple(s.clauses), s)
           for s in (Scheme(**row) for row in catalogue_rows())]
SCHEME_IDS = [scheme.id for scheme in SCHEMES]

SCHEME_WEIGHTS = {"ISO 9001": 30, "ISO/IEC 27001": 20, "ISO 14001": 15, "ISO 45001": 12}
WEIGHTS = [SCHEME_WEIGHTS.get(scheme.code, 4) for scheme in SCHEMES]


@functools.cache
def expiry_of(scheme: int, start: date) -> date:
    """C4: ``cycle_end`` of the service, remembered (the same few thousand days come back all the time)."""
    return cycle_end(start, SCHEMES[scheme].rules)


@functools.cache
def dues_of(scheme: int, start: date) -> tuple[date, ...]:
    """C6: the surveillance due dates of a cycle starting on ``start``, remembered."""
    return tuple(SCHEMES[scheme].rules.surveillance_due_dates(start))
