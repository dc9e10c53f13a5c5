"""Bulk data for the benchmarks, written with PostgreSQL ``COPY``: through the ORM it would take longer than the
benchmarks it serves. Two data sets:

- the full-size set for the load runner (bench/dataset/): 1,000 CBs, 200,000 clients, 1,100,000 certificates
  (1,000,000 of them in one "big" CB, 10,000 in a "small" one), 300,000 findings, 1,000,000 risks (100,000 in one
  register), 100,000 mark licences, with their histories and hash-chained audit trails, into a freshly migrated
  database. It prints per-table timings and, last, a JSON summary of the ids, e-mails and numbers the load runner
  needs (also written to ``--summary``, default bench/out/dataset.json). Every user's password is
  ``bench.dataset.build.PASSWORD``.

      python -m bench.seed --database-url postgresql://postgres@127.0.0.1:5432/grc            # full size
      python -m bench.seed --database-url ... --small        # a few hundred rows per table (tests)
      python -m bench.seed --database-url ... --scale 0.1 --risks 50000 --seed 7 --today 2026-11-23

- the sweep benchmark's set (bench/sweep.py; with ``--due``), described below.

One certification body, one client organisation per ``per_client`` certificates, and ``certificates`` active
ISO 9001:2015 certificates of that CB, issued over the last three years. Three groups of ``due`` certificates are
due on ``today``: expired yesterday (certificate-expiry), expiring in 90 days (expiry-reminders) and surveillance
due in 60 days (surveillance-reminders). Every other certificate's expiry date and surveillance due date lie at
least ``CATCH_UP_DAYS`` outside every window a certificate sweep selects on ``today``, so the work due is exactly
known whatever the table size. Dates are derived as the service derives them: a certificate is in its first
cycle, which ends on its expiry date, and no surveillance audit is recorded, so its surveillance is due one
interval after its issue date (past due for most: outside the sweeps' catch-up window, as in real data).

Rows are shaped as the service writes them, minus what no sweep reads: only the due certificates get their first
CertificateRevision (the sweep's selectin load then finds what it would find), bulk certificates stay lean. Each
tenant gets one user with the role the sweeps' events notify, so the outbox relay fans out as in production;
nobody can log in as them. The CB gets its audit-chain head, as any tenant has.

    python -m bench.seed --certificates 1000000 --due 1000 --database-url postgresql://postgres@127.0.0.1:5432/grc

Connect as a superuser (or a BYPASSRLS role): PostgreSQL does not run COPY into tables under row-level security.
"""
from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, fields, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg
from dateutil.relativedelta import relativedelta
from psycopg.types.json import Json

from bench.dataset.build import build
from bench.dataset.database import check_role, libpq_url
from bench.dataset.sizes import SMALL, Sizes
from grc import models  # noqa: F401 - every mapper, so transient ORM objects can be built
from grc.auditlog.service import GENESIS
from grc.certification.models import Certificate
from grc.certification.service import cycle_end, cycle_start, revision_content
from grc.db import new_id, utcnow
from grc.jobs.daily_sweeps import CATCH_UP_DAYS, DUE_REMINDER_DAYS, EXPIRY_REMINDER_DAYS
from grc.schemes.catalogue import catalogue_rows, scheme_id
from grc.schemes.models import Scheme
from grc.tenants.models import Tenant
from grc.tenants.service import POLICY_DEFAULTS

SCHEME_ID = scheme_id("ISO 9001", "2015")
MARGIN = timedelta(days=CATCH_UP_DAYS)
SCOPE = "Design and manufacture of precision components"
UNUSABLE_PASSWORD = "!"  # not an argon2 hash: verify_secret refuses it, so nobody can log in as a bench user
Window = tuple[date, date]


@dataclass(frozen=True)
class Seeded:
    """What was written, and how many subjects each sweep must find due on ``today``."""

    cb_id: uuid.UUID
    clients: int
    certificates: int
    today: date
    due: dict[str, int]


# --------------------------------------------------------------------------- the dates


def load_scheme() -> Scheme:
    """The shipped ISO 9001:2015 row as a transient Scheme: its cycle and surveillance interval drive the dates."""
    return Scheme(**next(row for row in catalogue_rows() if row["id"] == SCHEME_ID))


def certificate_dates(expiry: date, scheme: Scheme) -> tuple[date, date]:
    """Issue date and surveillance due date of a certificate expiring on ``expiry``, derived by the service's
    own rules for a first cycle with no surveillance audit recorded."""
    issue = cycle_start(Certificate(expiry_date=expiry, scheme=scheme))
    return issue, scheme.surveillance_due_dates(issue)[0]


def due_expiries(today: date, scheme: Scheme) -> dict[str, date]:
    """For each sweep the benchmark loads, the expiry date that makes a certificate due for it on ``today``."""
    surveillance_due = today + timedelta(days=DUE_REMINDER_DAYS[0])
    first_issue = surveillance_due - relativedelta(months=scheme.surveillance_interval_months)
    return {
        "certificate-expiry": today - timedelta(days=1),
        "expiry-reminders": today + timedelta(days=EXPIRY_REMINDER_DAYS[0]),
        "surveillance-reminders": cycle_end(first_issue, scheme),
    }


def busy_windows(today: date) -> tuple[list[Window], list[Window]]:
    """The expiry dates, then the surveillance due dates, that some certificate sweep selects on ``today``."""
    def reminder(days: int) -> Window:
        return today + timedelta(days=days - CATCH_UP_DAYS + 1), today + timedelta(days=days)

    yesterday = today - timedelta(days=1)
    overdue_from = today - timedelta(days=POLICY_DEFAULTS["surveillance_tolerance_days"] + CATCH_UP_DAYS)
    expiry = [(date.min, yesterday), *map(reminder, sorted({*EXPIRY_REMINDER_DAYS, *DUE_REMINDER_DAYS}))]
    return expiry, [(overdue_from, yesterday), *map(reminder, DUE_REMINDER_DAYS)]


def _clear_of(day: date, windows: list[Window]) -> bool:
    return all(day + MARGIN < start or end < day - MARGIN for start, end in windows)


def quiet_expiries(today: date, scheme: Scheme) -> list[date]:
    """Expiry dates over one cycle from ``today`` of certificates no sweep selects today, with a margin."""
    expiry_windows, surveillance_windows = busy_windows(today)
    days = (today + timedelta(days=n) for n in range((cycle_end(today, scheme) - today).days + 1))
    return [day for day in days if _clear_of(day, expiry_windows)
            and _clear_of(certificate_dates(day, scheme)[1], surveillance_windows)]


def expiry_plan(total: int, due: list[date], quiet: list[date]) -> Iterator[tuple[date, bool]]:
    """Each certificate's expiry date and whether it is due. Due ones are spread evenly through the table, as
    certificates issued over the years are, so the sweep reads them from all over the heap, not from one page."""
    stride = total // max(len(due), 1)
    for n in range(total):
        slot, offset = divmod(n, stride)
        if offset == 0 and slot < len(due):
            yield due[slot], True
        else:
            yield quiet[n % len(quiet)], False


# --------------------------------------------------------------------------- the rows


def _tenant(kind: str, name: str, slug: str) -> Tenant:
    return Tenant(id=new_id(), kind=kind, name=name, slug=slug, legal_name=f"{name} Ltd", country="FR",
                  address=f"{slug} street 1, 75001 Paris", sites=[], timezone="UTC")


def _copy(conn: psycopg.Connection[Any], table: str, columns: tuple[str, ...], rows: Iterator[tuple[Any, ...]]) -> None:
    with conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _write_tenants(conn: psycopg.Connection[Any], cb: Tenant, clients: list[Tenant], today: date) -> None:
    """The tenants, the CB's client relationships, one notified user per tenant and the CB's audit-chain head."""
    now = utcnow()
    _copy(conn, "tenants", ("id", "kind", "name", "slug", "legal_name", "country", "address", "sites", "timezone",
                            "version", "created_at", "updated_at"),
          ((t.id, t.kind, t.name, t.slug, t.legal_name, t.country, t.address, "[]", t.timezone, 1, now, now)
           for t in (cb, *clients)))
    _copy(conn, "client_relationships", ("id", "tenant_id", "client_tenant_id", "status", "started_on", "created_at",
                                         "updated_at"),
          ((new_id(), cb.id, client.id, "active", today - timedelta(days=3 * 365), now, now) for client in clients))
    roles = [(cb, '["certification_manager"]'), *((client, '["client_admin"]') for client in clients)]
    _copy(conn, "users", ("id", "tenant_id", "email", "name", "password_hash", "roles", "is_active", "version",
                          "created_at", "updated_at"),
          ((new_id(), t.id, f"manager@{t.slug}.bench.invalid", f"{t.name} manager", UNUSABLE_PASSWORD, role, True, 1,
            now, now) for t, role in roles))
    conn.execute("INSERT INTO audit_chain_heads (tenant_id, last_seq, last_hash) VALUES (%s, 0, %s)", (cb.id, GENESIS))


CERTIFICATE_COLUMNS = ("id", "tenant_id", "client_tenant_id", "scheme_id", "number", "status", "original_issue_date",
                       "issue_date", "expiry_date", "surveillance_due", "flagged_for_withdrawal", "revision", "version",
                       "created_at", "updated_at")


def _write_certificates(conn: psycopg.Connection[Any], cb: Tenant, clients: list[Tenant], scheme: Scheme,
                        plan: Iterator[tuple[date, bool]]) -> list[Certificate]:
    """Stream the certificates into COPY; return the due ones (as transient ORM objects) for their revisions."""
    now, prefix, scheme_id_text = utcnow().isoformat(), f"{cb.slug.upper()}-ISO9001", str(scheme.id)
    cb_id, client_ids = str(cb.id), [str(client.id) for client in clients]
    dates: dict[date, tuple[date, str, str, str]] = {}
    due: list[Certificate] = []
    with conn.cursor().copy(f"COPY certificates ({', '.join(CERTIFICATE_COLUMNS)}) FROM STDIN") as copy:
        for n, (expiry, is_due) in enumerate(plan):
            if expiry not in dates:
                issue, surveillance = certificate_dates(expiry, scheme)
                dates[expiry] = issue, issue.isoformat(), expiry.isoformat(), surveillance.isoformat()
            issue, issue_text, expiry_text, surveillance_text = dates[expiry]
            certificate_id, client_id = new_id(), client_ids[n % len(client_ids)]
            number = f"{prefix}-{issue.year}-{n + 1:07d}"
            copy.write_row((str(certificate_id), cb_id, client_id, scheme_id_text, number, "active", issue_text,
                            issue_text, expiry_text, surveillance_text, "f", "1", "1", now, now))
            if is_due:
                due.append(Certificate(id=certificate_id, client_tenant_id=clients[n % len(clients)].id, number=number,
                                       scheme=scheme, original_issue_date=issue, issue_date=issue, expiry_date=expiry,
                                       revision=1))
    return due


def _write_revisions(conn: psycopg.Connection[Any], cb: Tenant, clients: dict[uuid.UUID, Tenant],
                     certificates: list[Certificate]) -> None:
    """Each due certificate's first revision, with the content the service would have issued (C5)."""
    _copy(conn, "certificate_revisions", ("id", "tenant_id", "certificate_id", "client_tenant_id", "revision",
                                          "issued_on", "reason", "content"),
          ((new_id(), cb.id, c.id, c.client_tenant_id, 1, c.issue_date, "initial certification",
            Json(revision_content(c, clients[c.client_tenant_id], cb, SCOPE)))
           for c in certificates))


def seed(database_url: str, *, certificates: int, due: int, today: date, per_client: int = 100) -> Seeded:
    """Write one CB with ``certificates`` certificates, ``due`` of them due for each of three sweeps on ``today``,
    in one transaction, connected as a role that bypasses row-level security."""
    scheme = load_scheme()
    due_days = due_expiries(today, scheme)
    if len(due_days) * due > certificates:
        raise ValueError(f"{len(due_days)} groups of {due} due certificates do not fit in {certificates}")
    tag = new_id().hex[-8:]
    cb = _tenant("certification_body", f"Bench CB {tag}", f"bench-cb-{tag}")
    clients = [_tenant("client_organisation", f"Bench client {tag} {k}", f"bench-client-{tag}-{k}")
               for k in range(-(-certificates // per_client))]
    plan = expiry_plan(certificates, [day for _ in range(due) for day in due_days.values()],
                       quiet_expiries(today, scheme))
    with psycopg.connect(libpq_url(database_url)) as conn:
        check_role(conn)
        _write_tenants(conn, cb, clients, today)
        due_certificates = _write_certificates(conn, cb, clients, scheme, plan)
        _write_revisions(conn, cb, {client.id: client for client in clients}, due_certificates)
    return Seeded(cb_id=cb.id, clients=len(clients), certificates=certificates, today=today,
                  due={name: due for name in due_days})


SUMMARY = Path(__file__).resolve().parent / "out" / "dataset.json"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.seed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="a migrated database, as a superuser or BYPASSRLS role")
    parser.add_argument("--today", type=date.fromisoformat, default=utcnow().date(), help="the data's today (ISO)")
    parser.add_argument("--seed", type=int, default=1, help="the same seed and today give the same rows")
    parser.add_argument("--small", action="store_true", help="a few hundred rows per table (tests)")
    parser.add_argument("--scale", type=float, default=1.0, help="every size times this")
    for size in fields(Sizes):
        sweep_note = " (with --due: the sweep CB's certificates)" if size.name == "certificates" else ""
        parser.add_argument(f"--{size.name.replace('_', '-')}", type=int, help=f"default {size.default:,}{sweep_note}")
    parser.add_argument("--summary", type=Path, default=SUMMARY, help="where to write the JSON summary")
    sweep = parser.add_argument_group("the sweep benchmark's set (instead of the full one)")
    sweep.add_argument("--due", type=int, help="certificates due for each of the three sweeps (needs --certificates)")
    sweep.add_argument("--per-client", type=int, default=100, help="certificates per client organisation")
    return parser.parse_args(argv)


def sizes_of(args: argparse.Namespace) -> Sizes:
    """The preset (full or --small), times --scale, then each size flag given."""
    preset = SMALL if args.small else Sizes()
    sizes = preset.scaled(args.scale) if args.scale != 1 else preset
    return replace(sizes, **{f.name: getattr(args, f.name) for f in fields(Sizes) if getattr(args, f.name) is not None})


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.due is not None:
        if args.certificates is None:
            raise SystemExit("--due needs --certificates")
        seeded = seed(args.database_url, certificates=args.certificates, due=args.due, today=args.today,
                      per_client=args.per_client)
        print(f"seeded CB {seeded.cb_id}: {seeded.certificates} certificates, {seeded.clients} clients, "
              f"due on {seeded.today}: {seeded.due}")
        return
    try:
        report = build(args.database_url, sizes_of(args), seed=args.seed, today=args.today)
    except (ValueError, PermissionError) as exc:  # sizes that cannot be met, a filled database, a role without COPY
        raise SystemExit(f"python -m bench.seed: {exc}") from exc
    print("\n".join(report.lines()), file=sys.stderr)
    args.summary.parent.mkdir(parents=True, exist_ok=True)
    args.summary.write_text(json.dumps(report.summary, indent=2) + "\n")
    print(json.dumps(report.summary, indent=2))


if __name__ == "__main__":
    main()
