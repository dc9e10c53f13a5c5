"""Settings that would leave the process unable to do its work are refused when it starts."""
from __future__ import annotations

import pytest

from grc.config import Settings


@pytest.mark.parametrize("concurrency", [0, -1])
def test_J6_a_sender_that_could_send_nothing_at_once_is_refused_at_start(concurrency: int) -> None:
    with pytest.raises(RuntimeError, match="GRC_DELIVERY_CONCURRENCY"):
        Settings(delivery_concurrency=concurrency).check()

