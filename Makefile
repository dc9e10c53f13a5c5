# Benchmarks (docs/BENCHMARKS.md), with the project's virtualenv when there is one (python3 dev.py creates it).
# Extra flags go in ARGS, e.g. `make bench ARGS="--duration 30 --threads 2"`.
PYTHON := $(if $(wildcard .venv/bin/python),.venv/bin/python,python3)

.PHONY: bench bench-smoke bench-sweep bench-cpu bench-notify chaos

bench:  # the API under gunicorn and wrk next to its two floors, full data set (bench/run.py)
	$(PYTHON) -m bench.run $(ARGS)

bench-smoke:  # the same on a tiny data set, 1 s per scenario: every scenario answers 2xx
	$(PYTHON) -m bench.run --smoke $(ARGS)

bench-sweep:  # the daily sweep costs what is due, not what is stored (bench/sweep.py)
	$(PYTHON) -m bench.sweep $(ARGS)

bench-cpu:  # CPU per request in process next to the floors, and a certificate page part by part (bench/cpu.py)
	$(PYTHON) -m bench.cpu --parts $(ARGS)

bench-notify:  # from a write's commit to its notification and its webhook call, one worker, at the write load
	$(PYTHON) -m bench.notify_latency $(ARGS)

chaos:  # a write load with Redis stopped, PostgreSQL crashed, the worker killed: nothing lost or doubled (bench/chaos.py)
	$(PYTHON) -m bench.chaos $(ARGS)
