"""CPU per request, in process: where the load runner's throughput goes (docs/BENCHMARKS.md, "The misses").

Under load the API saturates both cores, so its requests/s is the inverse of what a request costs in CPU. This
measures that cost without gunicorn, wrk or the neighbours' noise: the app (production settings, Redis, the
API's role grc_api under row-level security) on a throwaway PostgreSQL with the small data set, each request run
``--repeat`` times through Flask's test client, five times over, the best kept. ``--parts`` times the parts of a
certificate page alone; ``--profile NAME`` prints a cProfile of one scenario.

    python -m bench.cpu                      # every scenario and both floors
    python -m bench.cpu --parts              # and the certificate page part by part
    python -m bench.cpu --profile certificates
"""
from __future__ import annotations

import argparse
import cProfile
import json
import logging
import os
import pstats
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from flask import Flask
from flask import json as flask_json
from flask.testing import FlaskClient

from bench import floors
from bench.dataset.sizes import SMALL
from bench.run import Dataset, load_dataset, throwaway_redis
from bench.scenarios import FINDING_BODY
from bench.sweep import KEY_ENCRYPTION_KEY, SECRET_KEY, throwaway_postgres
from tests import servers

ROUNDS = 5


def best_ms(call: Callable[[], Any], repeat: int) -> float:
    """The CPU milliseconds of one ``call``: the best of ``ROUNDS`` rounds of ``repeat`` calls."""
    for _ in range(min(repeat, 20)):
        call()  # warm caches, pools and compiled statements
    rounds = []
    for _ in range(ROUNDS):
        started = time.process_time()
        for _ in range(repeat):
            call()
        rounds.append((time.process_time() - started) / repeat * 1000)
    return min(rounds)


def api_app(database_url: str, redis_url: str, workdir: Path) -> Flask:
    from grc.app import create_app

    app = create_app(env="production", database_url=servers.as_api_role(database_url), redis_url=redis_url,
                     secret_key=SECRET_KEY, key_encryption_key=KEY_ENCRYPTION_KEY,
                     public_rate_limit="1000000 per minute", login_rate_limit_ip="10000 per minute",
                     login_rate_limit_account="10000 per minute", storage_location=str(workdir / "evidence"))
    logging.getLogger().handlers[0].stream = (workdir / "access.log").open("a")  # the log line is paid, not shown
    return app


class Caller:
    """The test client as one of the data set's users."""

    def __init__(self, client: FlaskClient, data: Dataset) -> None:
        self.client = client
        self.headers = {role: {"Authorization": "Bearer " + self._token(email, data.password)}
                        for role, email in data.emails.items()}

    def _token(self, email: str, password: str) -> str:
        answer = self.client.post("/api/v1/auth/login", json={"email": email, "password": password})
        return answer.get_json()["access_token"]

    def get(self, path: str, role: str | None) -> Callable[[], Any]:
        headers = self.headers[role] if role else {}
        return lambda: self._ok(self.client.get(path, headers=headers))

    def post(self, path: str, role: str, body: dict[str, Any]) -> Callable[[], Any]:
        return lambda: self._ok(self.client.post(path, json=body, headers=self.headers[role]))

    @staticmethod
    def _ok(answer: Any) -> Any:
        if answer.status_code >= 300:
            raise RuntimeError(f"{answer.status_code}: {answer.get_data()[:300]!r}")
        return answer

    def call(self, method: str, path: str, role: str | None, body: dict[str, Any] | None = None) -> tuple[Any, None]:
        """bench.run.Client's interface, for its set-up helpers."""
        answer = self._ok(self.client.open(path, method=method, json=body, headers=self.headers[role] if role else {}))
        return answer.get_json(), None


def scenarios(caller: Caller, data: Dataset) -> dict[str, Callable[[], Any]]:
    from bench.run import audit_in_progress

    slug, number = data.public_certificate
    audit_id = audit_in_progress(caller, data.client_id)  # type: ignore[arg-type] - same call interface
    return {
        "me": caller.get("/api/v1/me", "large_cb"),
        "certificates": caller.get("/api/v1/certificates?limit=20", "large_cb"),
        "risks": caller.get("/api/v1/risks?above_appetite=true&limit=20", "risk_manager"),
        "heatmap": caller.get(f"/api/v1/risk-registers/{data.register_id}/heatmap", "risk_manager"),
        "kpis": caller.get("/api/v1/kpis", "risk_manager"),
        "public_certificate": caller.get(f"/api/v1/public/certificates/{slug}/{number}", None),
        "public_credential": caller.get(f"/api/v1/public/certificates/{slug}/{number}/credential", None),
        "status_list": caller.get(f"/api/v1/public/cbs/{slug}/status-lists/suspension", None),
        "badge": caller.get(f"/badges/{data.licence_number}.svg", None),
        "finding_create": caller.post(f"/api/v1/audits/{audit_id}/findings", "auditor", FINDING_BODY),
    }


def floor_requests(database_url: str) -> dict[str, Callable[[], Any]]:
    floors.create_table(database_url)
    os.environ[floors.DATABASE_URL_ENV] = database_url
    bare, orm = floors.bare().test_client(), floors.orm().test_client()
    return {"floor_a": lambda: bare.get(floors.BARE_PATH), "floor_b": lambda: orm.get(floors.ORM_PATH)}


def certificate_page_parts(app: Flask, caller: Caller, repeat: int) -> dict[str, float]:
    """Each part of ``GET /certificates?limit=20`` timed alone inside a request context (its cost subtracted)."""
    from flask_jwt_extended import get_jwt, verify_jwt_in_request

    from grc.auth.service import authenticate
    from grc.certification import service
    from grc.certification.schemas import CertificateSummarySchema
    from grc.extensions import db
    from grc.schemas import page_of

    path, headers = "/api/v1/certificates?limit=20", caller.headers["large_cb"]

    def in_request(part: Callable[[], Any]) -> Callable[[], None]:
        def run() -> None:
            with app.test_request_context(path, headers=headers):
                part()
                db.session.commit()
        return run

    def page() -> Any:
        authenticate(db.session)
        return service.list_certificates(db.session, {"limit": 20})

    schema = page_of(CertificateSummarySchema)()
    with app.test_request_context(path, headers=headers):
        dumped = schema.dump(page())
        sample = page()
    context = best_ms(in_request(lambda: None), repeat)
    token = best_ms(in_request(lambda: (verify_jwt_in_request(), get_jwt())), repeat) - context
    caller_part = best_ms(in_request(lambda: authenticate(db.session)), repeat) - context
    listing = best_ms(in_request(page), repeat) - context - caller_part
    return {
        "request context (subtracted from the parts)": context,
        "token check": token,
        "connection, RLS settings and the caller": caller_part - token,
        "the page: 20 certificates through the ORM": listing,
        "dump": best_ms(lambda: schema.dump(sample), repeat),
        "JSON": best_ms(lambda: flask_json.dumps(dumped), repeat),
        "whole request": best_ms(caller.get(path, "large_cb"), repeat),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cpu", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=300, help="requests per round (default 300)")
    parser.add_argument("--parts", action="store_true", help="also time the parts of a certificate page")
    parser.add_argument("--profile", metavar="SCENARIO", help="print a cProfile of one scenario")
    args = parser.parse_args(argv)
    with ExitStack() as stack:
        database_url = stack.enter_context(throwaway_postgres())
        redis_url = stack.enter_context(throwaway_redis())
        data = load_dataset(SMALL, database_url)
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="grc-bench-cpu-")))
        app = api_app(database_url, redis_url, workdir)
        caller = Caller(app.test_client(), data)
        requests = {**floor_requests(database_url), **scenarios(caller, data)}
        figures = {name: best_ms(call, args.repeat) for name, call in requests.items()}
        print("\n".join(f"{name:<22} {ms:7.3f} ms CPU per request" for name, ms in figures.items()))
        if args.parts:
            parts = certificate_page_parts(app, caller, args.repeat)
            print("\n".join(f"  {name:<48} {ms:7.3f} ms" for name, ms in parts.items()))
            figures |= {f"part: {name}": ms for name, ms in parts.items()}
        if args.profile:
            profile = cProfile.Profile()
            profile.runcall(lambda: [requests[args.profile]() for _ in range(args.repeat)])
            pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
        print(json.dumps({name: round(ms, 3) for name, ms in figures.items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
