"""The sweep benchmark's smoke run (bench/sweep.py, docs/BENCHMARKS.md): it still runs end to end, and the daily
sweep's cost still tracks what is due rather than the table size (J3) over a tenfold size ratio."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench import scenarios
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


@pytest.mark.slow
@needs_own_postgres
@pytest.mark.skipif(servers.redis_server_path() is None or scenarios.wrk_path() is None,
                    reason="the notification benchmark needs redis-server and wrk")
def test_J6_every_message_of_a_write_burst_is_notified_and_called_once(tmp_path: Path) -> None:
    """bench/notify_latency.py end to end: a worker, a webhook receiver, a short burst of findings. The latency
    targets depend on the machine and are reported, not asserted here; every message must arrive."""
    measured, output = benchmark_figures(tmp_path, "bench.notify_latency", "--duration", "2", timeout=200)
    assert measured["messages"] > 0, output
    assert measured["messages"] == measured["notified"] == measured["called"], output


@pytest.mark.slow
@needs_own_postgres
@pytest.mark.skipif(servers.redis_server_path() is None, reason="the fault run stops and starts redis-server")
def test_J6_faults_under_a_write_load_lose_and_double_nothing(tmp_path: Path) -> None:
    """bench/chaos.py (`make chaos`) shortened: 20 s of writes while Redis is stopped and started, PostgreSQL
    crashes and restarts and the worker is killed. Every acknowledged write is stored once, has one outbox message,
    its notifications and its webhook call; nothing answered 500; the processes still run. The waits depend on the
    machine and are reported, not asserted here (docs/RELIABILITY.md has the full run's figures)."""
    outcome, output = benchmark_figures(tmp_path, "bench.chaos", "--duration", "20", timeout=300)
    assert outcome["acknowledged"] > 0 and outcome["given_up"] == 0, output
    for count in ("lost", "duplicated", "findings_without_one_message", "messages_without_notification",
                  "duplicate_notifications", "messages_not_called"):
        assert outcome[count] == 0, (count, output)
    assert outcome["messages"] == outcome["acknowledged"]
    assert "500" not in outcome["statuses"] and outcome["processes_running"], output


def benchmark_figures(tmp_path: Path, module: str, *args: str, timeout: int) -> tuple[dict[str, Any], str]:
    """``python -m module args --json ...`` run to its end (its exit status is the machine-dependent targets', not
    looked at here): the figures it wrote, and the tail of what it printed."""
    figures = tmp_path / "figures.json"
    result = subprocess.run([sys.executable, "-m", module, *args, "--timeout", str(timeout), "--json", str(figures)],
                            cwd=ROOT, capture_output=True, text=True, timeout=timeout + 60, check=False)
    output = result.stdout[-3000:] + result.stderr[-3000:]
    assert figures.exists(), output
    return json.loads(figures.read_text()), output
