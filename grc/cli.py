"""The ``grc`` command: database, demo data, serving, workers, scheduler, OpenAPI spec, failed jobs, and the
credential verifier anyone can run."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import httpx
from flask import Flask

from grc import credential_verifier, demo
from grc.app import create_app
from grc.config import PROJECT_ROOT, Settings
from grc.dbmigrate import downgrade, upgrade
from grc.demo import DEMO_LOGINS, DEMO_PASSWORD, ensure_platform_admin
from grc.extensions import db as database
from grc.jobs.inline import start_inline_scheduler
from grc.jobs.processes import CRON_CONFIG, run_scheduler, run_worker
from grc.jobs.queue import get_queue, set_worker_app
from grc.openapi import spec_json
from grc.signing import service as signing


def _settings() -> Settings:
    """Settings from the environment, refused with one clear line (not a traceback) when unsafe."""
    settings = Settings()
    try:
        settings.check()
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc
    return settings


def _app() -> Flask:
    return create_app(_settings())


@click.group()
def main() -> None:
    """grc: ISO certification and risk management API."""


@main.group()
def db() -> None:
    """Database schema (Alembic migrations)."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Migrate the database in GRC_DATABASE_URL (the owner's) up to REVISION, grant the API role its rows and keep
    the key that API scopes are proven with (derived from GRC_SECRET_KEY: run it again when that changes), and give
    every certification body without a signing key its first one (V1)."""
    settings = _settings()
    upgrade(settings.database_url, revision, secret_key=settings.secret_key)
    provisioned = signing.provision_missing_keys(settings)
    click.echo(f"database at {revision}" + (f"; signing keys created for {provisioned} certification bodies"
                                            if provisioned else ""))


@db.command("downgrade")
@click.option("--revision", default="base", show_default=True)
def db_downgrade(revision: str) -> None:

    downgrade(_settings().database_url, revision)
    click.echo(f"database at {revision}")


@main.command("create-platform-admin")
@click.option("--email", required=True)
@click.option("--password", required=True)
def create_platform_admin(email: str, password: str) -> None:
    """Create the platform operator's admin (idempotent: an existing account is left unchanged)."""
    if len(password) < 12:
        raise click.BadParameter("at least 12 characters", param_hint="--password")
    with _app().app_context():
        _, created = ensure_platform_admin(database.session, email, password)
        database.session.commit()
    click.echo(f"platform admin {email} {'created' if created else 'already exists'}")


@main.command("seed-demo")
@click.option("--reset", is_flag=True, help="Empty the database first; refused unless it holds only the demo.")
@click.option("--base-url", default="http://127.0.0.1:5000", show_default=True, help="Where the links point.")
def seed_demo(reset: bool, base_url: str) -> None:
    """Build the demo world (once: a second run changes nothing) and print the demo logins and the links to open."""
    settings = demo.seeding_settings(_settings())
    with create_app(settings).app_context():
        try:
            if reset:
                demo.reset_demo(database.session, settings.secret_key)
            created = demo.seed_demo(database.session)
        except demo.DemoError as exc:
            raise click.ClickException(str(exc)) from exc
        found = demo.landmarks(database.session)
    click.echo("demo data " + ("created" if created else "already present"))
    if created:
        click.echo("shown this once (as the API shows secrets once; `grc seed-demo --reset` shows new ones):")
        click.echo(f"  {created.officer}'s second factor, for an authenticator app: {created.totp_uri}")
        click.echo(f"  the shop's SCIM token, for GET /scim/v2/Users: {created.scim_token}")
    click.echo(f"demo logins (password for all: {DEMO_PASSWORD}):")
    for login in DEMO_LOGINS:
        click.echo(f"  {login.email:<32} {login.roles:<24} {login.tenant}")
    if found is not None:
        click.echo("worth opening:")
        for link in demo.links(found, base_url):
            click.echo(f"  {link.title}: {link.url}" + (f"\n    ({link.note})" if link.note else ""))


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Serve the API with the development server (production: gunicorn -c docker/gunicorn.conf.py)."""
    app = _app()
    if not app.config["GRC_SETTINGS"].uses_redis:
        start_inline_scheduler(app)
        click.echo("jobs run in-process (no GRC_REDIS_URL)")
    click.echo(f"API on http://{host}:{port}/api/v1  docs on http://{host}:{port}/docs")
    app.run(host=host, port=port, threaded=True, use_reloader=False)


@main.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def worker(burst: bool) -> None:
    """Run an RQ worker on GRC_REDIS_URL (start as many as the queues need); it rides out Redis outages."""
    app = _app()
    if not app.config["GRC_SETTINGS"].uses_redis:
        raise click.UsageError("GRC_REDIS_URL is not set: without Redis, jobs run inside `grc serve`.")
    set_worker_app(app)
    run_worker(app, burst=burst)


@main.command("scheduler")
@click.option("--config", default=CRON_CONFIG, show_default=True,
              help="The cron config (module or file, as `rq cron` takes it) that registers the schedule.")
def scheduler(config: str) -> None:
    """Run RQ's cron scheduler with the grc schedule (run exactly one); it rides out Redis outages."""
    app = _app()
    if not app.config["GRC_SETTINGS"].uses_redis:
        raise click.UsageError("GRC_REDIS_URL is not set: without Redis, `grc serve` runs the schedule.")
    run_scheduler(app, config)


@main.group()
def openapi() -> None:
    """The OpenAPI document."""


@openapi.command("write")
@click.argument("path", default=str(PROJECT_ROOT / "openapi" / "openapi.json"))
def openapi_write(path: str) -> None:
    """Write the generated spec (committed as openapi/openapi.json; a test compares them)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(spec_json(_app()))
    click.echo(f"wrote {path}")


@main.group()
def jobs() -> None:
    """Background jobs on Redis."""


@jobs.command("failed")
def jobs_failed() -> None:
    """List failed jobs with their error."""
    queue = get_queue(_app())
    for job_id in queue.failed_job_registry.get_job_ids():
        job = queue.fetch_job(job_id)
        result = job.latest_result() if job else None
        error = (result.exc_string or "").strip().splitlines()[-1:] if result else []
        click.echo(json.dumps({"id": job_id, "func": job.func_name if job else None, "error": error}))


@jobs.command("retry")
@click.argument("job_id", required=False)
def jobs_retry(job_id: str | None) -> None:
    """Requeue one failed job, or all of them."""
    registry = get_queue(_app()).failed_job_registry
    ids = [job_id] if job_id else registry.get_job_ids()
    for each in ids:
        registry.requeue(each)
    click.echo(f"requeued {len(ids)} job(s)")


FETCH_TIMEOUT_SECONDS = 10


@main.command("verify-credential")
@click.argument("source")
@click.option("--jwks", "jwks_source", metavar="FILE|URL",
              help="The issuer's keys (default: fetched from the credential's issuer, {issuer.id}/jwks.json).")
@click.option("--offline", is_flag=True,
              help="No network: check the signature (with --jwks FILE) and the dates, not the status lists.")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict and the credential as JSON.")
def verify_credential(source: str, jwks_source: str | None, offline: bool, as_json: bool) -> None:
    """Verify a certificate's or a mark licence's credential (a vc+jwt in FILE, or at URL): its signature against
    the issuer's JWKS, its dates and its status lists. Prints VALID, SUSPENDED, WITHDRAWN, EXPIRED or INVALID with
    the reason; exits 0 only for VALID. Needs no database and no grc server of one's own."""
    if offline and (jwks_source is None or _is_url(jwks_source) or _is_url(source)):
        raise click.UsageError("--offline reads only files: give the credential and --jwks as files")
    fetch = _refuse_network if offline else _fetch
    token = _read(source, fetch).decode("ascii", "replace").strip()
    jwks = json.loads(_read(jwks_source, fetch)) if jwks_source else None
    verdict = credential_verifier.verify(token, fetch=fetch, jwks=jwks, check_status=not offline)
    if as_json:
        click.echo(json.dumps({"status": verdict.status.value, "reason": verdict.reason, "notes": verdict.notes,
                               "credential": verdict.credential}, indent=2))
    else:
        click.echo(f"{verdict.status.value}: {verdict.reason}")
        for note in verdict.notes:
            click.echo(f"  note: {note}")
    sys.exit(0 if verdict.status == credential_verifier.Status.VALID else 1)


def _is_url(source: str) -> bool:
    return source.startswith(("https://", "http://"))


def _read(source: str, fetch: credential_verifier.Fetch) -> bytes:
    if _is_url(source):
        try:
            return fetch(source)
        except httpx.HTTPError as exc:
            raise click.ClickException(f"could not fetch {source}: {exc}") from exc
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise click.ClickException(f"could not read {source}: {exc.strerror}") from exc


def _fetch(url: str) -> bytes:
    response = httpx.get(url, timeout=FETCH_TIMEOUT_SECONDS, headers={"Accept": "application/vc+jwt, application/json"})
    response.raise_for_status()
    return response.content


def _refuse_network(url: str) -> bytes:
    raise RuntimeError(f"offline: not fetching {url}")


if __name__ == "__main__":
    sys.exit(main())
