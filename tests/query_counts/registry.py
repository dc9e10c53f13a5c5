"""What each domain registers for the statement counts, next to its own fixtures (``growers_<domain>.py``).

A grower adds ``count`` rows behind a read and says which read to measure (``scene.Grow``):

    @grows_list("GET /api/v1/risks")        # a list route (found in the URL map: every one needs a grower)
    @grows_hot_read("heat map")             # a hot single read, by name
    def grow_risks(scene, count): ...

``tests/query_counts/walk.py`` imports every ``growers_*.py`` of this package itself before it reads these
tables, so a new domain adds one file and nothing depends on which test module pytest imports first.
"""
from __future__ import annotations

from collections.abc import Callable

from tests.isolation.registry import import_domains
from tests.query_counts.scene import Grow

LISTS: dict[str, Grow] = {}
HOT_READS: dict[str, Grow] = {}
REGISTERED_BY: dict[str, list[str]] = {}  # domain module -> what it registered (checked by test_lists.py)

__all__ = ["HOT_READS", "LISTS", "REGISTERED_BY", "grows_hot_read", "grows_list", "import_domains"]


def grows_list(route: str) -> Callable[[Grow], Grow]:
    """Register the grower of the list ``route`` (``"GET /api/v1/risks"``, the OpenAPI spelling)."""
    return _register(LISTS, route)


def grows_hot_read(name: str) -> Callable[[Grow], Grow]:
    """Register the grower of a hot single read (``"heat map"``)."""
    return _register(HOT_READS, name)


def _register(table: dict[str, Grow], name: str) -> Callable[[Grow], Grow]:
    def register(grow: Grow) -> Grow:
        module = grow.__module__
        if name in table:
            raise ValueError(f"{name} has two growers (again in {module})")
        table[name] = grow
        REGISTERED_BY.setdefault(module, []).append(name)
        return grow

    return register

