"""J4 e-mail channel: notifications leave as plain-text + HTML e-mails through a real (local) SMTP server,
are retried with backoff while the server is down, and end up ``dead`` (never silently dropped) when refused."""
from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import timedelta
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import select

from grc import events, tenancy
from grc.db import utcnow
from grc.extensions import db
from grc.jobs.job_functions import deliver_notifications, relay_outbox
from grc.notifications import catalogue, email
from grc.notifications.delivery import (
    MAX_DELIVERY_ATTEMPTS,
    RETRY_SCHEDULE,
    DeliveryFailed,
    deliver_due,
)
from grc.notifications.models import (
    Delivery,
    DeliveryChannel,
    DeliveryStatus,
    Notification,
)
from tests.test_certification import TODAY, Decisions

SUSPENDED = "certificate.suspended"
# who hears a suspension (CB_MANAGERS + CLIENT) on each side of cb-a's relationship with client-a
RECIPIENTS = sorted(["cb_admin@cb-a.test", "certification_manager@cb-a.test", "client_admin@client-a.test"])
REFUSAL = "550 5.1.1 Recipient address rejected: User unknown"


# --------------------------------------------------------------------------- a real SMTP server on 127.0.0.1


@dataclass
class Inbox:
    """aiosmtpd handler keeping every accepted message; ``refuse`` makes it answer RCPT with that reply."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelope_recipients: list[str] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    refuse: str | None = None

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]) -> str:
        if self.refuse:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelope_recipients.extend(envelope.rcpt_tos)
        self.messages.append(BytesParser(policy=default_policy).parsebytes(envelope.original_content))
        return "250 Message accepted for delivery"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"grc", b"s3cret")
        if ok:
            self.logins.append(auth_data.login.decode())
        return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535 itself


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class MailServer:
    """An aiosmtpd server that can be stopped and started again on the same port (the mail server 'comes back')."""

    def __init__(self, **smtp_options: Any) -> None:
        self.port, self.inbox, self.options = free_port(), Inbox(), smtp_options
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port, **self.options)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def received(self, topic: str = SUSPENDED) -> list[EmailMessage]:
        return [mail for mail in self.inbox.messages if mail["X-GRC-Event"] == topic]


@pytest.fixture
def mail_server() -> Iterator[MailServer]:
    server = MailServer()
    server.start()
    yield server
    server.stop()


@contextmanager
def mail_via(app, port: int | None, **overrides: Any) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Send the app's e-mail to 127.0.0.1:``port`` for one test (``None``: no SMTP host, e-mail is off)."""
    settings = app.config["GRC_SETTINGS"]
    smtp = {"smtp_host": "127.0.0.1", "smtp_port": port} if port else {"smtp_host": ""}
    app.config["GRC_SETTINGS"] = replace(settings, smtp_starttls=False, **smtp, **overrides)
    try:
        yield
    finally:
        app.config["GRC_SETTINGS"] = settings


# --------------------------------------------------------------------------- helpers


def run_jobs(app) -> None:  # type: ignore[no-untyped-def]
    """What the scheduler does next: relay the outbox, then send what is due."""
    with app.app_context():
        relay_outbox()
        deliver_notifications()


def active_certificate(app, client, world) -> tuple[Decisions, dict[str, Any]]:  # type: ignore[no-untyped-def]
    """cb-a grants client-a a certificate; everything that caused is relayed with e-mail off, so that only the
    suspension that follows is mailed."""
    cert = Decisions(client, world)
    certificate = cert.grant()
    with mail_via(app, None):
        run_jobs(app)
    return cert, certificate


def suspend(cert: Decisions, certificate: dict[str, Any]) -> dict[str, Any]:
    until = (TODAY + timedelta(days=60)).isoformat()
    suspended = cert.act(certificate, "suspend", reason="Surveillance audit <refused> & not rescheduled", until=until)
    assert suspended["status"] == "suspended"
    return suspended


def email_deliveries(app, topic: str | None = SUSPENDED) -> list[Delivery]:  # type: ignore[no-untyped-def]
    with app.app_context(), tenancy.system_scope(db.session):
        stmt = select(Delivery).where(Delivery.channel == DeliveryChannel.email)
        if topic is not None:
            stmt = stmt.where(Delivery.topic == topic)
        return sorted(db.session.scalars(stmt), key=lambda row: row.recipient)


def body(mail: EmailMessage, subtype: str) -> str:
    part = mail.get_body((subtype,))
    assert part is not None
    return part.get_content()


# --------------------------------------------------------------------------- scenarios


def test_J4_a_suspension_is_emailed_as_text_and_html_to_each_recipient_and_to_no_one_else(
        app, client, world, mail_server):
    assert sorted(catalogue.EVENTS[SUSPENDED].roles) == ["cb_admin", "certification_manager", "client_admin"]
    cert, certificate = active_certificate(app, client, world)
    with mail_via(app, mail_server.port):
        suspend(cert, certificate)
        run_jobs(app)
    mails = mail_server.received()
    assert sorted(mail["To"] for mail in mails) == RECIPIENTS == sorted(mail_server.inbox.envelope_recipients)
    assert not [m for m in mail_server.inbox.messages if "cb-b" in m["To"] or "client-b" in m["To"]]
    rows = {row.recipient: row for row in email_deliveries(app)}
    settings = app.config["GRC_SETTINGS"]
    for mail in mails:
        assert mail.get_content_type() == "multipart/alternative"
        assert [part.get_content_type() for part in mail.iter_parts()] == ["text/plain", "text/html"]
        assert mail["Subject"] == f"[grc] Certificate {certificate['number']} suspended"
        assert mail["From"] == settings.mail_from and mail["Auto-Submitted"] == "auto-generated"
        assert mail["X-GRC-Event"] == SUSPENDED
        row = rows[mail["To"]]
        assert mail["Message-ID"] == email.message_id(row.id, settings.mail_from)
        assert row.status == DeliveryStatus.delivered and row.attempts == 1 and row.response_status == 250
        text, html = body(mail, "plain"), body(mail, "html")
        for part in (text, html):
            assert certificate["number"] in part and "A certificate was suspended." in part
            assert "Expiry date" in part and certificate["expiry_date"] in part
            assert certificate["id"] not in part and str(world.tenants["client-a"]) not in part  # ids stay out
            assert settings.public_base_url in part and SUSPENDED in part
        assert "<table" in html and "<script" not in html
    [to_cb_admin] = [mail for mail in mails if mail["To"] == "cb_admin@cb-a.test"]
    assert "Hello CB admin," in body(to_cb_admin, "plain")


def test_J4_payload_text_is_escaped_in_the_html_part_and_verbatim_in_the_text_part(app, world, mail_server):
    hostile = '<script>alert("x")</script> & Co'
    with mail_via(app, mail_server.port):
        with app.app_context(), tenancy.system_scope(db.session):
            events.publish(db.session, SUSPENDED, {"certificate_id": str(uuid.uuid4()), "number": hostile,
                                                   "client_id": str(world.tenants["client-a"])},
                           tenant_id=world.tenants["cb-a"])
            db.session.commit()
        run_jobs(app)
    mails = mail_server.received()
    assert len(mails) == len(RECIPIENTS)
    for mail in mails:
        assert hostile in mail["Subject"] and hostile in body(mail, "plain")
        html = body(mail, "html")
        assert "<script>" not in html and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in html


def test_J4_when_the_mail_server_is_down_the_change_commits_and_the_email_goes_out_once_it_is_back(
        app, client, world, mail_server):
    cert, certificate = active_certificate(app, client, world)
    mail_server.stop()
    with mail_via(app, mail_server.port):
        assert suspend(cert, certificate)["status"] == "suspended"  # the change does not wait for the mail server
        run_jobs(app)
        waiting = email_deliveries(app)
        assert [row.recipient for row in waiting] == RECIPIENTS
        for row in waiting:
            assert row.status == DeliveryStatus.pending and row.attempts == 1 and row.response_status is None
            assert "unreachable" in row.last_error and row.available_at > utcnow()
        mail_server.start()
        with app.app_context(), tenancy.system_scope(db.session):
            counts = deliver_due(db.session, now=utcnow() + RETRY_SCHEDULE[0] + timedelta(seconds=1))
        assert counts == {"delivered": len(RECIPIENTS), "retrying": 0, "dead": 0}
        run_jobs(app)  # nothing is due any more: no second copy
    mails = mail_server.received()
    assert sorted(mail["To"] for mail in mails) == RECIPIENTS
    sent = email_deliveries(app)
    assert all(row.status == DeliveryStatus.delivered and row.attempts == 2 and row.last_error is None for row in sent)
    settings = app.config["GRC_SETTINGS"]
    assert {mail["Message-ID"] for mail in mails} == {email.message_id(row.id, settings.mail_from) for row in sent}


def test_J4_a_refused_recipient_is_retried_on_schedule_then_dead_with_the_smtp_code(app, client, world, mail_server):
    mail_server.inbox.refuse = REFUSAL
    cert, certificate = active_certificate(app, client, world)
    with mail_via(app, mail_server.port):
        suspend(cert, certificate)
        run_jobs(app)
        assert all(row.attempts == 1 and row.status == DeliveryStatus.pending for row in email_deliveries(app))
        now = utcnow()
        with app.app_context(), tenancy.system_scope(db.session):
            for _ in range(MAX_DELIVERY_ATTEMPTS - 1):  # travel past each backoff in turn
                now += timedelta(days=1)
                deliver_due(db.session, now=now)
    dead = email_deliveries(app)
    assert [row.recipient for row in dead] == RECIPIENTS
    for row in dead:
        assert row.status == DeliveryStatus.dead and row.attempts == MAX_DELIVERY_ATTEMPTS
        assert row.response_status == 550 and "User unknown" in row.last_error
    assert mail_server.inbox.messages == []


def test_J4_without_an_smtp_host_no_email_is_queued_but_the_in_app_notifications_are(app, client, world):
    cert, certificate = active_certificate(app, client, world)
    with mail_via(app, None):
        suspend(cert, certificate)
        run_jobs(app)
    assert email_deliveries(app, topic=None) == []
    with app.app_context(), tenancy.system_scope(db.session):
        told = db.session.scalars(select(Notification.user_id).where(Notification.topic == SUSPENDED))
        assert sorted(told) == sorted(world.users[address] for address in RECIPIENTS)


def test_J4_the_smtp_login_is_used_when_a_username_is_configured(app):
    server = MailServer(auth_require_tls=False, auth_exclude_mechanism=["LOGIN"])  # PLAIN: one try per login
    server.options["authenticator"] = server.inbox.authenticate
    server.start()
    try:
        settings = replace(app.config["GRC_SETTINGS"], smtp_host="127.0.0.1", smtp_port=server.port,
                           smtp_starttls=False, smtp_username="grc", smtp_password="s3cret")
        assert email.transmit(settings, probe_mail()) == 250
        assert server.inbox.logins == ["grc"] and len(server.inbox.messages) == 1
        with pytest.raises(DeliveryFailed) as refused:
            email.transmit(replace(settings, smtp_password="wrong"), probe_mail())
        assert refused.value.status == 535
    finally:
        server.stop()


def test_J4_credentials_are_not_sent_in_clear_when_starttls_is_asked_for_but_not_offered(app, mail_server):
    settings = replace(app.config["GRC_SETTINGS"], smtp_host="127.0.0.1", smtp_port=mail_server.port,
                       smtp_starttls=True, smtp_username="grc", smtp_password="s3cret")
    with pytest.raises(DeliveryFailed, match="STARTTLS"):
        email.transmit(settings, probe_mail())
    assert mail_server.inbox.messages == []


def probe_mail() -> EmailMessage:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "grc <no-reply@grc.invalid>", "someone@cb-a.test", "[grc] probe"
    mail.set_content("probe")
    return mail
