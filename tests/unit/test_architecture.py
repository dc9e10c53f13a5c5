"""The house keeps its shape (docs/ARCHITECTURE.md): layers low to high, no import circles, no imports hidden inside
functions, reactions as event subscriptions and session hooks only where the commit pipeline lists them.

Every import of every module under ``grc/`` is read from its source (``ast``), module level and inside functions,
so a new module is held to the rules the day it is added. A module's layer is found from its name by ``LAYERS``;
a module no rule names fails the test until someone places it.
"""
from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

GRC = Path(__file__).resolve().parents[2] / "grc"

INFRASTRUCTURE = (
    "grc", "grc.config", "grc.errors", "grc.dumping", "grc.schemas", "grc.api", "grc.db", "grc.extensions",
    "grc.numbering", "grc.rls", "grc.tenancy", "grc.events", "grc.redis_connection", "grc.ratelimit", "grc.uow",
    "grc.viewcache", "grc.guard", "grc.openapi", "grc.dbmigrate", "grc.request_log", "grc.metrics", "grc.api_docs",
    "grc.spreadsheet", "grc.outbound", "grc.credential_verifier", "grc.sealing", "grc.additions", "grc.audit_notes",
)
# Domains in dependency order: each may import the ones before it, never one after it (that is a subscription).
DOMAINS = ("tenants", "auth", "auditlog", "sso", "scim", "schemes", "signing", "audits", "findings", "actions",
           "certification", "marks", "registry", "credentials", "risks", "evidence", "notifications", "webhooks")
# Entry points: they call the domains and are called by nobody in grc/ but the composition root.
ENTRY_PACKAGES = ("grc.jobs", "grc.web", "grc.demo")
ENTRY_MODULES = ("grc.health", "grc.commit_pipeline", "grc.models", "grc.app", "grc.cli", "grc.wsgi")
ROUTES = re.compile(r"^grc\.\w+\.(\w+_)?routes$")


@dataclass(frozen=True)
class Import:
    module: str
    target: str
    line: int
    in_function: bool


def module_name(path: Path) -> str:
    parts = list(path.relative_to(GRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(GRC.rglob("*.py"))}


def resolve(name: str) -> str | None:
    """The grc module an imported name lives in (``grc.events.publish`` -> ``grc.events``)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(module: str) -> Iterator[Import]:
    path = MODULES[module]
    tree = ast.parse(path.read_text(), str(path))
    functions = [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]
    nested = {id(inner) for function in functions for inner in ast.walk(function) if inner is not function}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
                base = ".".join(anchor[: len(anchor) - node.level + 1] + ([base] if base else []))
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]  # importing a name runs its module
        else:
            continue
        for name in names:
            target = resolve(name)
            if target is not None and target != module and not module.startswith(target + "."):
                yield Import(module, target, node.lineno, id(node) in nested)


EDGES = [edge for module in MODULES for edge in imports_of(module)]


def layer_of(module: str) -> tuple[int, str]:
    """(rank, name): infrastructure 0, the domains 1..n in order, entry points last."""
    if module in INFRASTRUCTURE:
        return 0, "infrastructure"
    if ROUTES.match(module) or module in ENTRY_MODULES or module.startswith(ENTRY_PACKAGES):
        return len(DOMAINS) + 1, "entry points"
    package = module.split(".")[1]
    if package in DOMAINS:
        return DOMAINS.index(package) + 1, f"domain {package}"
    raise AssertionError(f"{module} has no layer: place it in tests/unit/test_architecture.py and docs/ARCHITECTURE.md")


@pytest.mark.parametrize("module", sorted(MODULES))
def test_every_module_has_a_layer(module: str) -> None:
    layer_of(module)


def test_no_import_runs_up_a_layer() -> None:
    upward = [f"{edge.module}:{edge.line} imports {edge.target} "
              f"({layer_of(edge.module)[1]} -> {layer_of(edge.target)[1]})"
              for edge in EDGES if layer_of(edge.target)[0] > layer_of(edge.module)[0]]
    assert upward == [], "a lower layer reacts to a higher one by subscribing (grc.events.on), not by importing:\n" \
        + "\n".join(upward)


def test_no_import_hides_inside_a_function() -> None:
    hidden = [f"{edge.module}:{edge.line} imports {edge.target}" for edge in EDGES if edge.in_function]
    assert hidden == [], "imports of project modules belong at the top of the module:\n" + "\n".join(hidden)


def test_no_import_circles() -> None:
    graph: dict[str, set[str]] = {module: set() for module in MODULES}
    for edge in EDGES:
        graph[edge.module].add(edge.target)
    circles = [sorted(component) for component in strongly_connected(graph) if len(component) > 1]
    assert circles == []


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's components, iteratively (no recursion limit to meet)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(component)
    return components


def test_no_module_listens_to_sessions_on_import() -> None:
    """Session hooks are the commit pipeline's list, installed by create_app; none registers itself on import."""
    found = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in ("listens_for", "listen") and module != "grc.events" \
                    and any(isinstance(arg, ast.Name) and arg.id == "Session" for arg in node.args):
                found.append(f"{module}:{node.lineno}")
    assert found == []


def test_the_commit_pipeline_is_installed_in_its_order() -> None:
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from grc.app import create_app
    from grc.commit_pipeline import PIPELINE

    create_app(database_url="sqlite://")
    assert [hook.when for hook in PIPELINE] == [
        "do_orm_execute", "do_orm_execute", "after_begin", "before_flush", "before_flush", "after_flush",
        "before_commit", "before_commit", "after_commit", "after_rollback", "after_rollback"]
    assert all(event.contains(Session, hook.when, hook.run) for hook in PIPELINE)


def test_reactions_across_domains_are_subscriptions() -> None:
    """M2, C6, F3 and R4: the lower domain announces, the higher one subscribes (nothing imports upward for them)."""
    import grc.app  # noqa: F401 - every domain module, so every subscription is registered
    from grc import events

    registered = set(events.subscriptions())
    assert {
        (("certificate.*",), "grc.marks.service.certificate_changed"),  # M2: licences follow their certificates
        (("audit.completed",), "grc.certification.service.refresh_surveillance_due"),  # C6
        (("audit.planned",), "grc.findings.service.minors_due_by_next_audit"),  # F3
        (("action.created",), "grc.risks.service.treatment_started"),  # R4
        (("certificate.*",), "grc.credentials.service.certificate_changed"),  # V2, V3: signed revisions, bits
        (("mark_licence.*",), "grc.credentials.licences.licence_changed"),  # V2, V3: licences too (M2)
        (("certificate.renewed", "certificate.restored"), "grc.credentials.licences.licences_follow_expiry"),
    } <= registered


# The only imports of later domains a route module makes, each for what that later domain derives or owns: the
# audit programme (certification derives it from audits and findings), a tenant's creation with its first admin
# (auth.onboarding, T1) and its schemes, the public lookups' shared rate limit (certification.public). Anything else
# a later domain adds to an answer it registers (grc.additions), so packages knot no further.
ROUTES_SERVING_LATER_DOMAINS = {("grc.audits.routes", "certification"), ("grc.tenants.routes", "auth"),
                                ("grc.tenants.routes", "schemes"), ("grc.signing.routes", "certification")}


def test_route_modules_import_no_later_domain_but_what_they_serve() -> None:
    """A route is an entry point, but importing a later domain from it ties the two packages into a knot: the
    registry's sync state and the licence's credential are registered additions, not imports."""
    reaching_up = sorted(
        f"{edge.module}:{edge.line} imports {edge.target}" for edge in EDGES
        if ROUTES.match(edge.module) and _reaches_later_domain(edge)
        and (edge.module, edge.target.split(".")[1]) not in ROUTES_SERVING_LATER_DOMAINS
    )
    assert not reaching_up, "\n".join(reaching_up)


def _reaches_later_domain(edge: Import) -> bool:
    own = edge.module.split(".")[1]
    rank, name = layer_of(edge.target)
    return own in DOMAINS and name.startswith("domain") and rank > DOMAINS.index(own) + 1
