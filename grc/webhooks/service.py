"""Webhook subscriptions, their delivery log and the webhook channel of the delivery runner (J5).

A tenant admin subscribes a URL to event types; the relay (``grc.notifications.service``) gives each matching
active subscription one ``Delivery`` per event, and the runner (``grc.notifications.delivery``) calls ``send``
until the receiver answers 2xx. Calls are signed the Standard Webhooks way: ``webhook-id`` names the event
(``msg_<outbox message id>``), so retries and redeliveries carry the same id and receivers can deduplicate.

The secret is shown once (on creation and rotation) and kept in clear because HMAC needs it. The SSRF guard
(``grc.outbound.check_destination``) refuses URLs that resolve to internal addresses, at subscription time and
again at every send, because DNS answers change.
"""
from __future__ import annotations

import base64
import functools
import json
import secrets
import uuid
from datetime import UTC
from typing import Any

import httpx
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook

from grc import tenancy
from grc.api import paginate
from grc.audit_notes import name_action
from grc.config import Settings
from grc.db import utcnow
from grc.errors import InvalidField, NotFound
from grc.events import OutboxMessage
from grc.extensions import db
from grc.notifications import catalogue
from grc.notifications import delivery as runner
from grc.notifications.delivery import DeliveryFailed
from grc.notifications.models import Delivery, DeliveryChannel, WebhookSubscription
from grc.outbound import DestinationRefused, IPAddress, check_destination, failure_text, pinned_request

WEBHOOK_ADMINS = ("cb_admin", "client_admin")
ALL_EVENTS = "*"
SECRET_PREFIX = "whsec_"
SECRET_BYTES = 24
USER_AGENT = "grc-webhooks/1"


def _allowed_hosts() -> str:
    settings: Settings = current_app.config["GRC_SETTINGS"]
    return settings.webhook_allowed_hosts


# --------------------------------------------------------------------------- subscriptions


@tenancy.path_resource("subscription_id")
def visible_subscription(subscription_id: uuid.UUID) -> WebhookSubscription | None:
    return db.session.get(WebhookSubscription, subscription_id)


@tenancy.path_resource("delivery_id")
def visible_delivery(delivery_id: uuid.UUID) -> Delivery | None:
    return db.session.get(Delivery, delivery_id)


def event_types() -> list[dict[str, str]]:
    """The event types a subscription may choose (the catalogue's topics, in its order)."""
    return [{"type": event.topic, "summary": event.summary} for event in catalogue.EVENTS.values()]


def new_secret() -> str:
    """Standard Webhooks secrets are ``whsec_`` and the base64 of 24 to 64 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _checked_url(url: str) -> str:
    try:
        check_destination(url, _allowed_hosts())
    except DestinationRefused as exc:
        raise InvalidField("url", str(exc)) from exc
    return url


def _checked_event_types(types: list[str]) -> list[str]:
    unknown = [name for name in types if name != ALL_EVENTS and name not in catalogue.EVENTS]
    if unknown:
        raise InvalidField("event_types", f"unknown event types: {', '.join(unknown)} (see GET /webhooks/event-types)")
    return list(dict.fromkeys(types))


def create_subscription(session: Session, data: dict[str, Any]) -> tuple[WebhookSubscription, str]:
    """Rule J5: subscribe a URL to event types; returns the subscription and its secret (never shown again)."""
    secret = new_secret()
    subscription = WebhookSubscription(url=_checked_url(data["url"]), description=data.get("description"),
                                       event_types=_checked_event_types(data["event_types"]), secret=secret)
    session.add(subscription)
    session.flush()
    return subscription, secret


def update_subscription(session: Session, subscription: WebhookSubscription,
                        changes: dict[str, Any]) -> WebhookSubscription:
    """Rule J5: a new URL passes the SSRF guard; pending deliveries keep the URL they were made for."""
    if "url" in changes:
        changes = {**changes, "url": _checked_url(changes["url"])}
    if "event_types" in changes:
        changes = {**changes, "event_types": _checked_event_types(changes["event_types"])}
    for key, value in changes.items():
        setattr(subscription, key, value)
    session.flush()
    return subscription


def rotate_secret(session: Session, subscription: WebhookSubscription) -> str:
    """Rule J5: a new signing secret from now on (retries too); the old one stops verifying at once."""
    secret = new_secret()
    subscription.secret = secret
    name_action(session, subscription, "webhook_subscription.secret_rotated")
    session.flush()
    return secret


def delete_subscription(session: Session, subscription: WebhookSubscription) -> None:
    """Its delivery log goes with it (the deliveries' foreign key cascades)."""
    session.delete(subscription)
    session.flush()


def list_subscriptions(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    return paginate(session, select(WebhookSubscription), args, [WebhookSubscription.id])


# --------------------------------------------------------------------------- the delivery log


def delivery_of(subscription: WebhookSubscription, delivery_id: uuid.UUID) -> Delivery:
    """A delivery of this subscription; one of another subscription (or an e-mail) is not found here."""
    found = visible_delivery(delivery_id)
    if found is None or found.subscription_id != subscription.id:
        raise NotFound("No such delivery of this webhook subscription.")
    return found


def list_deliveries(session: Session, subscription: WebhookSubscription, args: dict[str, Any]) -> dict[str, Any]:
    """Rule J5: the subscription's calls, newest first; ``status=dead`` lists those that gave up."""
    stmt = select(Delivery).where(Delivery.subscription_id == subscription.id)
    if args.get("status"):
        stmt = stmt.where(Delivery.status == args["status"])
    return paginate(session, stmt, args, [Delivery.id], descending=True)


def redeliver(session: Session, subscription: WebhookSubscription, delivery: Delivery) -> Delivery:
    """Rule J5: send the event again as a new delivery (the log keeps both) to the subscription's current URL,
    so a receiver fixed by moving it is reached; the delivery job sends it."""
    again = runner.redeliver(session, delivery)
    again.recipient = subscription.url
    session.flush()
    return again


# --------------------------------------------------------------------------- sending (the runner's webhook channel)


@runner.sender(DeliveryChannel.webhook)
def send(session: Session, delivery: Delivery, message: OutboxMessage) -> runner.Call:
    """Prepare one signed event's POST; the call (run in the runner's pool, without the session) returns the 2xx
    status and raises ``DeliveryFailed`` for anything else. A paused or deleted subscription is refused here."""
    subscription = session.get(WebhookSubscription, delivery.subscription_id) if delivery.subscription_id else None
    if subscription is None or not subscription.is_active:
        raise DeliveryFailed("the webhook subscription is paused or deleted")
    settings: Settings = current_app.config["GRC_SETTINGS"]
    return functools.partial(_call, delivery.recipient, settings, subscription.secret, f"msg_{message.id}",
                             event_body(message))


def _call(url: str, settings: Settings, secret: str, webhook_id: str, body: str) -> int:
    """The SSRF guard, then the signed POST to the address it checked. The guard resolves the host here, in the
    pool, so a slow DNS answer holds back no other call; the signature is made here too, so its timestamp is the
    call's own even when the call waited for a free thread."""
    try:
        addresses = check_destination(url, settings.webhook_allowed_hosts)
    except DestinationRefused as exc:
        raise DeliveryFailed(f"refused destination: {exc}") from exc
    return _post(url, addresses, body, signed_headers(secret, webhook_id, body), settings.webhook_timeout_seconds)


def event_body(message: OutboxMessage) -> str:
    """The Standard Webhooks payload shape: the type, when the event happened, and its data."""
    happened = message.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return json.dumps({"type": message.topic, "timestamp": happened, "data": message.payload}, separators=(",", ":"))


def signed_headers(secret: str, webhook_id: str, body: str) -> dict[str, str]:
    """webhook-id is the event's (stable across retries); the timestamp is this attempt's, against replays."""
    now = utcnow()
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, now, body),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


def _post(url: str, addresses: list[IPAddress], body: str, headers: dict[str, str], timeout: int) -> int:
    """POST to the address the guard checked (``grc.outbound.pinned_request``); the answer's body is never read."""
    try:
        response = pinned_request("POST", url, addresses, headers, timeout, content=body.encode())
        status = response.status_code
        response.close()
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise DeliveryFailed(failure_text(exc)) from exc
    if not 200 <= status < 300:
        raise DeliveryFailed(f"the receiver answered HTTP {status}", status)
    return status
