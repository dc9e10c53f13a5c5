"""A whole certification cycle, as an integrator walks it with a client generated from openapi/openapi.json.

The certification body's integration signs in as an API client (client credentials), subscribes to the signed
``certificate.granted`` webhook (delivered to a loopback server this script starts), registers a client
organisation and plans and runs its stage 1 and stage 2 audits. The acts ISO/IEC 17021-1 holds a person accountable
for are made by the people, signed in as themselves: the auditor raises the finding, reviews the plan, verifies and
closes it; the client answers and implements it; the certification manager decides. The integration then reads the
certificate, checks it as the public would, and verifies the webhook's signature. The client organisation finally
keeps a risk register: a risk and its assessment.

The client is generated from the spec into a temporary directory each run, so it is always the spec's. Every
attribute is read as it comes: the spec lists what answers always carry, so the generated models have no UNSET to
check. See examples/README.md for how to run it against ``python3 dev.py run``.
"""
from __future__ import annotations

import argparse
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import uuid
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from standardwebhooks.webhooks import Webhook

SPEC = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"
GENERATOR_CONFIG = SPEC.with_name("python-client-config.json")
TODAY = date.today()


def generate_client(into: Path) -> None:
    """Generate the ``grc_client`` package from the committed spec into ``into`` and make it importable."""
    subprocess.run([sys.executable, "-m", "openapi_python_client", "generate", "--path", str(SPEC),
                    "--output-path", str(into / "grc_client"), "--meta", "none", "--config", str(GENERATOR_CONFIG)],
                   check=True, capture_output=True, timeout=120)
    sys.path.insert(0, str(into))


class Receiver(ThreadingHTTPServer):
    """The integrator's webhook endpoint: every delivery (headers, body) lands in ``deliveries``."""

    def __init__(self) -> None:
        self.deliveries: queue.Queue[tuple[dict[str, str], bytes]] = queue.Queue()
        super().__init__(("127.0.0.1", 0), ReceiverHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/grc-events"


class ReceiverHandler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.deliveries.put((dict(self.headers.items()), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


def step(text: str) -> None:
    print(f"- {text}", flush=True)


def walk(base_url: str, people: argparse.Namespace) -> None:
    """The cycle, step by step (the generated package is imported here: it exists once ``generate_client`` ran)."""
    from grc_client import AuthenticatedClient, Client
    from grc_client.api.api_clients import create_api_client
    from grc_client.api.audits import complete_audit, create_audit, start_audit
    from grc_client.api.auth import login, me, token
    from grc_client.api.certification import create_decision, get_certificate
    from grc_client.api.clients import create_client
    from grc_client.api.findings import (
        close_finding,
        raise_finding,
        report_finding_implementation,
        respond_to_finding,
        review_finding_plan,
        verify_finding,
    )
    from grc_client.api.public_certificates import get_public_certificate
    from grc_client.api.risks import assess_risk, create_risk, create_risk_register
    from grc_client.api.schemes import list_schemes
    from grc_client.api.webhooks import create_webhook
    from grc_client.models import (
        ApiClientCreate,
        ApiClientCreateRolesItem,
        AssessmentCreate,
        AuditComplete,
        AuditCreate,
        AuditCreateType,
        ClientCreate,
        ClientCredentials,
        Close,
        DecisionCreate,
        DecisionCreateOutcome,
        FindingCreate,
        FindingCreateGrade,
        FindingResponse,
        Implementation,
        Login,
        NewAdmin,
        PlanReview,
        Rating,
        RegisterCreate,
        RiskCreate,
        Verification,
        WebhookCreate,
    )

    anonymous = Client(base_url=base_url, raise_on_unexpected_status=True)

    def signed_in(email: str, password: str) -> AuthenticatedClient:
        tokens = login.sync(client=anonymous, body=Login(email=email, password=password))
        return AuthenticatedClient(base_url=base_url, token=tokens.access_token, raise_on_unexpected_status=True)

    run = uuid.uuid4().hex[:8]  # names unique per run, so the script can run again against the same server

    # The CB's administrator registers the integration once; from then on it signs in with its id and secret.
    client_id, client_secret = os.environ.get("GRC_CLIENT_ID"), os.environ.get("GRC_CLIENT_SECRET")
    if not (client_id and client_secret):
        admin = signed_in(people.admin, people.password)
        roles = [ApiClientCreateRolesItem.CB_ADMIN, ApiClientCreateRolesItem.CERTIFICATION_MANAGER]
        created = create_api_client.sync(client=admin, body=ApiClientCreate(name=f"Example integration {run}",
                                                                             roles=roles))
        client_id, client_secret = created.client_id, created.client_secret
        step(f"API client {created.name} registered ({created.client_id})")
    tokens = token.sync(client=anonymous, body=ClientCredentials(client_id=client_id, client_secret=client_secret))
    cb = AuthenticatedClient(base_url=base_url, token=tokens.access_token, raise_on_unexpected_status=True)
    caller = me.sync(client=cb)
    step(f"signed in as {caller.name} of {caller.tenant.name} (token valid {tokens.expires_in} s)")
    auditor, manager = signed_in(people.auditor, people.password), signed_in(people.manager, people.password)
    lead_auditor = me.sync(client=auditor)
    iso_9001 = next(scheme for scheme in list_schemes.sync(client=cb, limit=100).items if scheme.code == "ISO 9001")

    # The signed events the integration wants, delivered to its own endpoint.
    receiver = Receiver()
    subscription = create_webhook.sync(client=cb, body=WebhookCreate(url=receiver.url,
                                                                     event_types=["certificate.granted"]))
    step(f"webhook {subscription.id} subscribed to {', '.join(subscription.event_types)}")

    shop_admin = NewAdmin(email=f"admin-{run}@shop.example", name="Sven Shop", password=f"shop-password-{run}")
    organisation = create_client.sync(client=cb, body=ClientCreate(
        name=f"Example Shop {run}", legal_name=f"Example Shop {run} GmbH", country="DE",
        address="Hauptstrasse 1, 10115 Berlin", admin=shop_admin))
    step(f"client organisation {organisation.name} ({organisation.country}) registered, client since "
         f"{organisation.client_since}")
    shop = signed_in(shop_admin.email, shop_admin.password)

    def audit(kind: AuditCreateType, start: date, end: date) -> Any:
        planned = create_audit.sync(client=cb, body=AuditCreate(
            client_id=organisation.id, scheme_ids=[iso_9001.id], type_=kind, planned_start=start, planned_end=end,
            lead_auditor_id=lead_auditor.id))
        start_audit.sync(audit_id=planned.id, client=auditor)
        return planned

    stage1 = audit(AuditCreateType.STAGE1, TODAY - timedelta(days=30), TODAY - timedelta(days=30))
    complete_audit.sync(audit_id=stage1.id, client=auditor,
                        body=AuditComplete(completed_on=TODAY - timedelta(days=30)))
    stage2 = audit(AuditCreateType.STAGE2, TODAY - timedelta(days=2), TODAY)
    finding = raise_finding.sync(audit_id=stage2.id, client=auditor, body=FindingCreate(
        grade=FindingCreateGrade.MINOR, clause="8.5.1", requirement="ISO 9001:2015 8.5.1 controlled release",
        evidence="2 of 5 sampled orders had no release record.", statement="Release of orders is not recorded."))
    complete_audit.sync(audit_id=stage2.id, client=auditor, body=AuditComplete(completed_on=TODAY))
    step(f"stage 1 {stage1.id} and stage 2 {stage2.id} audited; finding {finding.number} ({finding.grade}) raised")

    # CAPA: the client answers and implements, the auditor reviews, verifies and closes.
    respond_to_finding.sync(finding_id=finding.id, client=shop, body=FindingResponse(
        correction="Release records completed for the 2 orders.", root_cause="No release checklist.",
        corrective_action_plan="Introduce a release checklist in the order system.",
        target_date=TODAY + timedelta(days=30)))
    review_finding_plan.sync(finding_id=finding.id, client=auditor, body=PlanReview(accepted=True))
    report_finding_implementation.sync(finding_id=finding.id, client=shop, body=Implementation(
        implementation_evidence="Checklist live since this week; 20 orders sampled, all released with a record."))
    verify_finding.sync(finding_id=finding.id, client=auditor, body=Verification(effective=True))
    closed = close_finding.sync(finding_id=finding.id, client=auditor, body=Close(comment="Verified effective."))
    step(f"finding {closed.number}: {' -> '.join(event.to_status for event in closed.history)}")

    decision = create_decision.sync(client=manager, body=DecisionCreate(
        outcome=DecisionCreateOutcome.GRANT, client_id=organisation.id, scheme_id=iso_9001.id,
        audit_ids=[stage1.id, stage2.id], scope="Online retail of household goods",
        rationale="Stage 1 and stage 2 complete; the only finding is verified and closed."))
    certificate = get_certificate.sync(certificate_id=decision.certificate_id, client=cb)
    step(f"decision {decision.outcome}: certificate {certificate.number} {certificate.status}, "
         f"valid until {certificate.expiry_date}, scope {certificate.current.scope!r}")

    check = get_public_certificate.sync(caller.tenant.slug, certificate.number, client=anonymous)
    step(f"public check: {check.number} is {check.status} for {check.client_name} ({check.standard})")

    headers, body = receiver.deliveries.get(timeout=60)
    event = Webhook(subscription.secret).verify(body, headers)  # raises unless signed with the subscription's secret
    assert event["type"] == "certificate.granted" and event["data"]["number"] == certificate.number, event
    step(f"webhook delivery {headers['webhook-id']} verified: {event['type']} {event['data']['number']}")
    receiver.shutdown()

    owner = me.sync(client=shop)
    register = create_risk_register.sync(client=shop, body=RegisterCreate(
        name="E-commerce risks", scope="Online shop, payments, fulfilment", owner_id=owner.id))
    risk = create_risk.sync(register_id=register.id, client=shop, body=RiskCreate(
        title="Card-not-present fraud", category="fraud", owner_id=owner.id,
        causes="Stolen card data used at checkout", consequences="Chargebacks and fees"))
    assessment = assess_risk.sync(risk_id=risk.id, client=shop, body=AssessmentCreate(
        inherent=Rating(likelihood=4, consequence=4), current=Rating(likelihood=3, consequence=4),
        target=Rating(likelihood=2, consequence=3), rationale="Workshop with the payments team"))
    current = assessment.ratings["current"]
    step(f"risk {risk.reference} {risk.title!r} assessed: current level {current['level']} (score {current['score']})")
    print(json.dumps({"certificate": certificate.number, "finding": closed.number, "risk": risk.reference}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:5000")
    parser.add_argument("--admin", default="admin@acme-cert.example",
                        help="the CB administrator who registers the API client (unless GRC_CLIENT_ID is set)")
    parser.add_argument("--auditor", default="auditor@acme-cert.example", help="the lead auditor")
    parser.add_argument("--manager", default="manager@acme-cert.example", help="the certification manager")
    parser.add_argument("--password", default="demo-password-2026", help="their password (the demo's)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        generate_client(Path(workdir))
        walk(args.base_url, args)


if __name__ == "__main__":
    main()
