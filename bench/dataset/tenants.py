"""Tenants and their users, as ``create_certification_body`` and ``create_client`` make them: a CB (``Office``)
with its staff, policy and numbering counters, and the client state every part of a client's story shares
(``ClientBase``), with the client's onboarding. The names, countries and legal forms they are given live here."""
from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from bench.dataset.clock import DAY, MINUTE, iso_day, moment
from bench.dataset.plan import HISTORY_DAYS, NAMES, CbPlan, ClientPlan
from bench.dataset.schemes import Standard
from bench.dataset.story import Run, Scheduler
from bench.dataset.trail import Actor, Chain, stamped, user
from grc.numbering import render_number

if TYPE_CHECKING:
    from bench.dataset.certification import CertState

COUNTRIES = [("FR", "Europe/Paris", "Paris", 20), ("DE", "Europe/Berlin", "Stuttgart", 20),
             ("GB", "Europe/London", "Leeds", 12), ("IT", "Europe/Rome", "Milan", 10),
             ("ES", "Europe/Madrid", "Valencia", 8), ("NL", "Europe/Amsterdam", "Rotterdam", 6),
             ("BE", "Europe/Brussels", "Antwerp", 4), ("PL", "Europe/Warsaw", "Wroclaw", 5),
             ("US", "America/New_York", "Boston", 8), ("IN", "Asia/Kolkata", "Pune", 4),
             ("JP", "Asia/Tokyo", "Osaka", 2), ("BR", "America/Sao_Paulo", "Campinas", 1)]
COUNTRY_WEIGHTS = list(itertools.accumulate(country[3] for country in COUNTRIES))
TRADES = [("Components", "precision machined components"), ("Logistics", "freight and warehousing services"),
          ("Software", "business software development"), ("Foods", "chilled food production"),
          ("Medical", "medical device distribution"), ("Engineering", "engineering consultancy"),
          ("Energy", "solar installation services"), ("Textiles", "technical textile manufacturing"),
          ("Plastics", "injection-moulded plastic parts"), ("Analytics", "data analytics services"),
          ("Robotics", "industrial robot integration"), ("Packaging", "corrugated packaging"),
          ("Pharma", "contract pharmaceutical packaging"), ("Hosting", "cloud hosting services"),
          ("Foundry", "aluminium die casting"), ("Facilities", "facility management services")]
LEGAL_FORMS = {"FR": "SAS", "DE": "GmbH", "GB": "Ltd", "IT": "S.p.A.", "ES": "S.L.", "NL": "B.V.", "BE": "NV",
               "PL": "Sp. z o.o.", "US": "Inc.", "IN": "Pvt Ltd", "JP": "K.K.", "BR": "Ltda"}
FIRST_NAMES = ["Anna", "Ben", "Chloé", "David", "Elif", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Kenji",
               "Lena", "Marco", "Nadia", "Omar", "Paula", "Rafael", "Sofia", "Tomás", "Yara"]
LAST_NAMES = ["Bauer", "Costa", "Dubois", "Evans", "Fischer", "García", "Hansen", "Ivanova", "Jansen", "Kowalski",
              "Laurent", "Müller", "Novak", "Okafor", "Rossi", "Schmidt", "Tanaka", "Weber", "Yilmaz", "Zimmer"]


def person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def _country(rng: random.Random) -> tuple[str, str, str, int]:
    return rng.choices(COUNTRIES, cum_weights=COUNTRY_WEIGHTS)[0]


def _tenant_row(kind: str, name: str, slug: str, country: tuple[str, str, str, int], street: int) -> dict[str, Any]:
    code, zone, city, _ = country
    return {"kind": kind, "name": name, "slug": slug, "legal_name": f"{name} {LEGAL_FORMS[code]}", "country": code,
            "address": f"{street} Industrial Way, {city}", "street": f"{street} Industrial Way", "city": city,
            "address_needs_review": False, "sites": [], "timezone": zone}


def user_row(tenant_id: str, email: str, name: str, roles: list[str], password_hash: str) -> dict[str, Any]:
    return {"tenant_id": tenant_id, "email": email, "name": name, "password_hash": password_hash, "roles": roles,
            "is_active": True}


@dataclass(frozen=True)
class Person:
    id: str
    email: str
    name: str


class Office:
    """A certification body while its history is written: its chain, its staff and its numbering counters."""

    def __init__(self, run: Run, plan: CbPlan, platform_admin: Actor) -> None:
        """``create_certification_body`` by the platform admin, then the staff its admin adds (one auditor per
        500 clients, one more manager per 20,000) and, for some, a policy of their own."""
        self.run, self.plan, self.sched = run, plan, Scheduler(run.rec.loader.checkpoint)
        self.rng = random.Random(f"{run.seed}/cb/{plan.index}")
        self.created = moment(run.today - timedelta(days=HISTORY_DAYS + self.rng.randint(30, 400)), 10.0)
        self.id = run.rec.ids.new(self.created)
        self.chain = Chain(self.id)
        self.certificates = 0
        self.findings: dict[int, int] = {}
        self.org = SimpleNamespace(name=plan.name, slug=plan.slug)
        row = _tenant_row("certification_body", plan.name, plan.slug, _country(self.rng), plan.index + 1)
        run.rec.created(self.chain, "tenants", stamped(row, self.id, self.created, self.created), self.created,
                        platform_admin)
        self.admin = self._hire("cb_admin", "admin", 0, platform_admin)
        by_admin = user(self.admin.id)
        self.managers = [self._hire("certification_manager", f"manager{n}", 1, by_admin)
                         for n in range(1, 2 + len(plan.clients) // 20_000)]
        self.auditors = [self._hire("auditor", f"auditor{n}", 1, by_admin)
                         for n in range(1, 1 + min(300, max(2, len(plan.clients) // 500)))]
        self._hire("cb_viewer", "viewer", 1, by_admin)
        if plan.policy is not None:
            when = self.created + 2 * DAY
            run.rec.created(self.chain, "cb_policies", stamped({**plan.policy, "tenant_id": self.id},
                                                              run.rec.ids.new(when), when, when), when, by_admin)

    def card(self) -> dict[str, Any]:
        """What the load runner needs of this CB: who to log in as."""
        return {"id": self.id, "slug": self.plan.slug, "name": self.plan.name, "admin_email": self.admin.email,
                "manager_email": self.managers[0].email, "auditor_email": self.auditors[0].email,
                "certificates": self.plan.certificates, "clients": len(self.plan.clients)}

    def _hire(self, role: str, mailbox: str, day: int, actor: Actor) -> Person:
        when = self.created + day * DAY + self.chain.seq * MINUTE
        hired = Person(self.run.rec.ids.new(when), f"{mailbox}@{self.plan.slug}.bench.invalid", person(self.rng))
        row = user_row(self.id, hired.email, hired.name, [role], self.run.password_hash)
        self.run.rec.created(self.chain, "users", stamped(row, hired.id, when, when), when, actor)
        return hired

    def manager(self) -> Person:
        return self.rng.choice(self.managers)

    def next_certificate_number(self, scheme: Standard, year: int) -> str:
        """C4: the CB's template filled with its counter, as ``new_certificate`` numbers."""
        self.certificates += 1
        return render_number(self.plan.rules["numbering_template"], cb=self.plan.slug, scheme=scheme.code,
                             year=year, seq=self.certificates)

    def next_finding_number(self, year: int) -> str:
        self.findings[year] = self.findings.get(year, 0) + 1
        return f"F-{year}-{self.findings[year]:05d}"

    def close(self) -> None:
        """The chain head and the counters the services go on numbering from."""
        rec = self.run.rec
        rec.close_chain(self.chain)
        counters = {"certificate": self.certificates, **{f"finding-{y}": n for y, n in self.findings.items()}}
        for name, value in counters.items():
            if value:
                rec.row("counters", {"tenant_id": self.id, "name": name, "value": value})


class ClientBase:
    """A client organisation while its history is written: what every part of its story (certification.py,
    findings.py, marks.py, risks.py) reads and writes, and its onboarding. ``clients.ClientStory`` composes the
    parts; ``__slots__`` because the big CB holds about 180,000 clients at once."""

    __slots__ = ("activity", "admin", "certs", "chain", "id", "office", "org", "plan", "run")
    activity: str
    admin: Person
    certs: list[CertState]  # issued so far, in the order of the plan's certificates
    chain: Chain
    id: str
    office: Office
    org: SimpleNamespace
    plan: ClientPlan
    run: Run

    def __init__(self, office: Office, plan: ClientPlan) -> None:
        self.office, self.run, self.plan = office, office.run, plan
        self.certs = []

    @property
    def rng(self) -> random.Random:
        """The CB's generator: the scheduler's order is fixed, so sharing it stays deterministic, and a generator
        per client would cost 2.5 KB each (hundreds of MB for the big CB)."""
        return self.office.rng

    def create_client(self) -> None:
        """The CB's admin creates the client: tenant, relationship and client_admin (``create_client``)."""
        rng, rec, office, when = self.rng, self.run.rec, self.office, moment(self.plan.onboarded, 9.0)
        trade = rng.choice(TRADES)
        name, slug = f"{rng.choice(NAMES)} {trade[0]}", f"client-{rng.getrandbits(64):016x}"
        row = _tenant_row("client_organisation", name, slug, _country(rng), rng.randint(1, 400))
        self.activity, self.org = trade[1], SimpleNamespace(**row)
        self.id = rec.ids.new(when)
        self.chain = Chain(self.id)
        by_admin = user(office.admin.id)
        rec.created(self.chain, "tenants", stamped(row, self.id, when, when), when, by_admin)
        relationship = {"tenant_id": office.id, "client_tenant_id": self.id, "status": "active",
                        "started_on": iso_day(self.plan.onboarded)}
        rec.created(office.chain, "client_relationships",
                    stamped(relationship, rec.ids.new(when), when, when, None), when, by_admin)
        self.admin = Person(rec.ids.new(when), f"admin@{row['slug']}.bench.invalid", person(rng))
        admin = user_row(self.id, self.admin.email, self.admin.name, ["client_admin"], self.run.password_hash)
        rec.created(self.chain, "users", stamped(admin, self.admin.id, when, when), when, by_admin)
