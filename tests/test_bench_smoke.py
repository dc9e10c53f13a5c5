"""The sweep benchmark's smoke run (bench/sweep.py, docs/BENCHMARKS.md): it still runs end to end, and the daily
sweep's cost still tracks what is due rather than the table size (J3) over a tenfold size ratio."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests import servers

ROOT = Path(__file__).resolve().parents[1]
needs_own_postgres = pytest.mark.skipif(os.environ.get("GRC_TEST_BACKEND") == "sqlite" or servers.pg_bin_dir() is None,
                                        reason="the benchmark starts its own PostgreSQL (initdb, pg_ctl)")


def run_benchmark(*args: str, timeout: int) -> str:
    """``python -m <args>`` from the repository root; its stdout, once it has exited 0."""
    result = subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                            check=False)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return result.stdout


@pytest.mark.slow
@needs_own_postgres
def test_J3_a_sweep_costs_what_is_due_not_what_is_stored() -> None:
    # The benchmark's own limit fires first, so it still stops its server; the outer one catches a hang.
    output = run_benchmark("bench.sweep", "--quick", "--timeout", "100", timeout=120)
    found = re.search(r"^RATIO total first run .*: ([\d.]+)x", output, re.MULTILINE)
    assert found, output
    assert float(found.group(1)) < 5, output  # ten times the rows; a scan would show about 10


@pytest.mark.slow
@needs_own_postgres
def test_the_cpu_benchmark_times_every_scenario_and_the_parts_of_a_page() -> None:
    figures = json.loads(run_benchmark("bench.cpu", "--repeat", "2", "--parts", timeout=300).strip().splitlines()[-1])
    assert {"floor_a", "floor_b", "me", "certificates", "risks", "heatmap", "kpis", "public_certificate", "badge",
            "finding_create", "part: whole request"} <= set(figures)
    assert all(ms > 0 for name, ms in figures.items() if not name.startswith("part:")), figures
