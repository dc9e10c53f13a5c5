"""A client generated from the committed spec works against the running API, as an integrator would use it.

This is what "OpenAPI as a product" promises: someone runs ``openapi-python-client`` on ``openapi/openapi.json``
and gets typed methods that sign in, read the caller and walk a cursor-paginated list. If a schema the server
really sends cannot be parsed by the generated models, or pagination cannot be driven through the generated
signatures, this test fails where an integrator would.
"""
from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tests.world import PASSWORD, World

pytestmark = pytest.mark.slow

SPEC = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"
PACKAGE = "grc_client"
EMAIL = "cb_admin@cb-a.test"
# The generator settings an integrator uses too (examples/README.md): no post hooks (the default ones call ruff,
# which a test machine need not have), the client organisation's model renamed so it cannot be confused with the
# generated HTTP `Client`, documents and exports as bytes, credentials as text.
GENERATOR_CONFIG = SPEC.with_name("python-client-config.json")


@pytest.fixture(scope="module")
def grc_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The generated package, importable for this module only (sys.path and sys.modules restored after)."""
    root = tmp_path_factory.mktemp("generated-client")
    generate(SPEC, root / PACKAGE, GENERATOR_CONFIG)
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def generate(spec: Path, output: Path, config: Path) -> None:
    command = [
        sys.executable, "-m", "openapi_python_client", "generate",
        "--path", str(spec), "--output-path", str(output), "--meta", "none", "--config", str(config),
        "--fail-on-warning",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, f"openapi-python-client failed:\n{result.stdout}\n{result.stderr}"


def sign_in(grc_client: ModuleType, base_url: str) -> str:
    from grc_client.api.auth import login
    from grc_client.models import Login, TokenPair

    with grc_client.Client(base_url=base_url, raise_on_unexpected_status=True) as anonymous:
        tokens = login.sync(client=anonymous, body=Login(email=EMAIL, password=PASSWORD))
    assert isinstance(tokens, TokenPair), tokens
    assert tokens.token_type == "Bearer" and tokens.expires_in > 0
    return tokens.access_token


def test_an_integrator_signs_in_reads_me_and_walks_the_users_list(
    grc_client: ModuleType, live_server: str, world: World
) -> None:
    from grc_client.api.auth import me
    from grc_client.api.users import list_users
    from grc_client.models import Me, UserPage

    token = sign_in(grc_client, live_server)
    with grc_client.AuthenticatedClient(base_url=live_server, token=token, raise_on_unexpected_status=True) as api:
        caller = me.sync(client=api)
        assert isinstance(caller, Me), caller
        assert (caller.email, caller.principal_type, caller.tenant.slug) == (EMAIL, "user", "cb-a")
        assert "cb_admin" in caller.roles

        emails, pages, cursor = [], 0, None
        while True:
            page = list_users.sync(client=api, limit=2, cursor=cursor)
            assert isinstance(page, UserPage), page
            assert len(page.items) <= 2
            emails += [user.email for user in page.items]
            pages += 1
            cursor = page.next_cursor
            if cursor is None:
                break
            assert pages < 50, "pagination does not terminate"

    assert sorted(emails) == sorted(world.emails("cb-a")), "every user of the tenant exactly once"
    assert len(emails) == len(set(emails))
    assert pages > 1, "the world has more than two users per tenant, so this walked several pages"


def test_every_generated_operation_imports(grc_client: ModuleType) -> None:
    """A schema named like a class the generator writes itself (``Response``: the HTTP answer) breaks the
    modules that use it at import; an integrator would meet it on the first call of that operation."""
    api = importlib.import_module(PACKAGE + ".api")
    modules = [name for _, name, is_package in pkgutil.walk_packages(api.__path__, PACKAGE + ".api.") if not is_package]
    assert len(modules) > 100
    for name in modules:
        importlib.import_module(name)


def test_the_generated_client_reports_a_wrong_password_as_a_problem(grc_client: ModuleType, live_server: str) -> None:
    """Documented errors come back as the typed Problem model, not as an exception or raw bytes."""
    from grc_client.api.auth import login
    from grc_client.models import Login, Problem

    with grc_client.Client(base_url=live_server) as anonymous:
        response = login.sync_detailed(client=anonymous, body=Login(email=EMAIL, password="not the password"))
    assert response.status_code == 401
    assert isinstance(response.parsed, Problem)
    assert response.parsed.status == 401 and response.parsed.title == "Unauthorized"
