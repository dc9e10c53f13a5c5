"""Statement-count growers of jobs: the sweeps' catalogue."""
from __future__ import annotations

from tests.query_counts.registry import grows_list
from tests.query_counts.scene import CB_ADMIN, Read, Scene


@grows_list("GET /api/v1/jobs")
def grow_jobs(_scene: Scene, _count: int) -> Read:
    """A code catalogue (the sweeps): no rows behind it, so ``count`` changes nothing."""
    return Read(CB_ADMIN, "/api/v1/jobs")
