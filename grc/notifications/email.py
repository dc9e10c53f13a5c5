"""The e-mail channel (J4): one plain-text + HTML message per ``Delivery``, handed to the configured SMTP server.

``send`` is called by the delivery runner (``grc.notifications.delivery``), which owns retries, backoff and the
dead state; this module only builds the message (with the session) and returns the call that reports the server's
verdict (run in the runner's pool, without the session). Every failure becomes a ``DeliveryFailed`` carrying the
SMTP reply code when there was one, so the delivery log shows *why* (550 = the address does not exist: no amount
of retrying will help; no code = the server could not be reached).
The ``Message-ID`` is derived from the delivery id, so a retry after a lost acknowledgement is recognisably the
same message to the mail systems downstream and is shown once.
"""
from __future__ import annotations

import functools
import smtplib
import ssl
import uuid
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Any

from flask import current_app
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.orm import Session

from grc.auth.models import User
from grc.config import Settings
from grc.events import OutboxMessage
from grc.notifications import catalogue
from grc.notifications import delivery as delivery_channels
from grc.notifications.delivery import DeliveryFailed
from grc.notifications.models import Delivery, DeliveryChannel

SMTP_TIMEOUT_SECONDS = 10
ACCEPTED = 250  # smtplib's sendmail raises unless the server answered DATA with 250
SUBJECT_PREFIX = "[grc] "
# How payload keys read in a message; other keys are shown with their name humanised, ids never.
LABELS = {
    "number": "Number", "reference": "Reference", "status": "Status", "grade": "Grade", "type": "Type",
    "due_on": "Due date", "due_date": "Due date", "threshold": "Days before the due date",
    "expiry_date": "Expiry date", "expires_on": "Expires on", "current_level": "Current level",
}
HIDDEN_KEYS = frozenset({"id", "email", "slug"})

_templates = Environment(
    loader=PackageLoader("grc.notifications", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


@delivery_channels.sender(DeliveryChannel.email)
def send(session: Session, delivery: Delivery, message: OutboxMessage) -> delivery_channels.Call:
    """Build one e-mail delivery with the session; the call (run in the runner's pool, without the session) hands
    it to the SMTP server, returns the reply code and raises ``DeliveryFailed`` when it did not go out."""
    settings: Settings = current_app.config["GRC_SETTINGS"]
    if not settings.smtp_host:
        raise DeliveryFailed("no SMTP host is configured (GRC_SMTP_HOST)")
    return functools.partial(transmit, settings, build(session, settings, delivery, message))


def build(session: Session, settings: Settings, delivery: Delivery, message: OutboxMessage) -> EmailMessage:
    """The complete message: headers for threading and filtering, a text part, then the same as HTML."""
    event = catalogue.EVENTS.get(message.topic)
    heading = catalogue.title(event, message.payload) if event else message.topic
    context = {
        "title": heading,
        "summary": event.summary if event else "",
        "facts": facts(message.payload),
        "name": recipient_name(session, delivery.user_id),
        "recipient": delivery.recipient,
        "topic": message.topic,
        "app_url": settings.public_base_url.rstrip("/"),
    }
    mail = EmailMessage()
    mail["From"] = settings.mail_from
    mail["To"] = delivery.recipient
    mail["Subject"] = SUBJECT_PREFIX + " ".join(heading.split())  # no line breaks from payload text in a header
    mail["Date"] = formatdate(usegmt=True)
    mail["Message-ID"] = message_id(delivery.id, settings.mail_from)
    mail["X-GRC-Event"] = message.topic
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: out-of-office replies must not answer it
    mail.set_content(_templates.get_template("email.txt").render(context))
    mail.add_alternative(_templates.get_template("email.html").render(context), subtype="html")
    return mail


def facts(payload: dict[str, Any]) -> list[tuple[str, str]]:
    """The payload's human-meaningful facts as (label, value) rows; ids are for machines and stay out."""
    rows = []
    for key, value in payload.items():
        if key in HIDDEN_KEYS or key.endswith("_id") or value in (None, "", [], {}) or isinstance(value, dict):
            continue
        if key == "threshold" and isinstance(value, int) and value < 0:
            rows.append(("Days overdue", str(-value)))  # escalations count days past the due date
            continue
        shown = ", ".join(str(item) for item in value) if isinstance(value, list) else str(value)
        rows.append((LABELS.get(key, key.replace("_", " ").capitalize()), shown))
    return rows


def recipient_name(session: Session, user_id: uuid.UUID | None) -> str | None:
    """The greeting uses the user's current name; a deleted user (or none) gets a neutral greeting."""
    user = session.get(User, user_id) if user_id else None
    return user.name if user is not None else None


def message_id(delivery_id: uuid.UUID, mail_from: str) -> str:
    """``<delivery-id@sender-domain>``: the same on every retry, so a duplicate is recognised downstream."""
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "grc.invalid"
    return f"<{delivery_id}@{domain}>"


def transmit(settings: Settings, mail: EmailMessage) -> int:
    """Hand the message to the SMTP server; every way this can fail is reported as ``DeliveryFailed``."""
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
            _secure(smtp, settings)
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password)
            smtp.send_message(mail)
    except smtplib.SMTPRecipientsRefused as exc:
        code, text = next(iter(exc.recipients.values()))
        raise DeliveryFailed(f"recipient refused: {code} {_text(text)}", code) from exc
    except smtplib.SMTPResponseException as exc:
        raise DeliveryFailed(f"SMTP server replied {exc.smtp_code} {_text(exc.smtp_error)}", exc.smtp_code) from exc
    except (smtplib.SMTPException, OSError) as exc:  # refused connection, timeout, dropped connection, TLS
        raise DeliveryFailed(f"SMTP server {settings.smtp_host}:{settings.smtp_port} unreachable: "
                             f"{type(exc).__name__}: {exc}") from exc
    return ACCEPTED


def _secure(smtp: smtplib.SMTP, settings: Settings) -> None:
    """Upgrade to TLS when configured and offered; credentials never travel in clear when TLS was asked for."""
    smtp.ehlo()
    if settings.smtp_starttls and smtp.has_extn("starttls"):
        smtp.starttls(context=ssl.create_default_context())
        smtp.ehlo()
    elif settings.smtp_starttls and settings.smtp_username:
        raise DeliveryFailed("the SMTP server does not offer STARTTLS; refusing to send the password in clear")


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
