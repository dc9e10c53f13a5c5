"""Settings read once from environment variables.

Every setting has a documented default that makes the embedded mode (SQLite, in-process jobs) work with no
configuration at all; production refuses to start on the development secret.
"""
from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

DEV_SECRET = "grc-development-secret-do-not-use-in-production"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return default if raw in (None, "") else int(raw)


def _default_database_url() -> str:
    return f"sqlite:///{PROJECT_ROOT / 'instance' / 'grc.sqlite3'}"


@dataclass(frozen=True)
class Settings:
    """The whole configuration of one process; see the README table for each variable."""

    env: str = field(default_factory=lambda: _env("GRC_ENV", "development"))
    database_url: str = field(default_factory=lambda: _env("GRC_DATABASE_URL", _default_database_url()))
    redis_url: str = field(default_factory=lambda: _env("GRC_REDIS_URL", ""))
    secret_key: str = field(default_factory=lambda: _env("GRC_SECRET_KEY", DEV_SECRET))
    # Seals the CBs' private signing keys at rest (V1); empty = derived from GRC_SECRET_KEY (development only).
    key_encryption_key: str = field(default_factory=lambda: _env("GRC_KEY_ENCRYPTION_KEY", ""))
    access_token_minutes: int = field(default_factory=lambda: _env_int("GRC_ACCESS_TOKEN_MINUTES", 15))
    refresh_token_days: int = field(default_factory=lambda: _env_int("GRC_REFRESH_TOKEN_DAYS", 30))
    login_rate_limit_ip: str = field(default_factory=lambda: _env("GRC_LOGIN_RATE_LIMIT_IP", "20 per minute"))
    login_rate_limit_account: str = field(
        default_factory=lambda: _env("GRC_LOGIN_RATE_LIMIT_ACCOUNT", "5 per minute")
    )
    mfa_ticket_minutes: int = field(default_factory=lambda: _env_int("GRC_MFA_TICKET_MINUTES", 5))
    public_rate_limit: str = field(default_factory=lambda: _env("GRC_PUBLIC_RATE_LIMIT", "60 per minute"))
    max_body_bytes: int = field(default_factory=lambda: _env_int("GRC_MAX_BODY_BYTES", 1024 * 1024))
    log_level: str = field(default_factory=lambda: _env("GRC_LOG_LEVEL", "INFO"))
    queue_name: str = field(default_factory=lambda: _env("GRC_QUEUE", "grc"))
    storage_backend: str = field(default_factory=lambda: _env("GRC_STORAGE", "local"))
    storage_location: str = field(
        default_factory=lambda: _env("GRC_STORAGE_LOCATION", str(PROJECT_ROOT / "instance" / "evidence"))
    )
    evidence_max_bytes: int = field(default_factory=lambda: _env_int("GRC_EVIDENCE_MAX_BYTES", 10 * 1024 * 1024))
    inline_scheduler_seconds: int = field(default_factory=lambda: _env_int("GRC_INLINE_SCHEDULER_SECONDS", 60))
    smtp_host: str = field(default_factory=lambda: _env("GRC_SMTP_HOST", ""))
    smtp_port: int = field(default_factory=lambda: _env_int("GRC_SMTP_PORT", 587))
    smtp_username: str = field(default_factory=lambda: _env("GRC_SMTP_USERNAME", ""))
    smtp_password: str = field(default_factory=lambda: _env("GRC_SMTP_PASSWORD", ""))
    smtp_starttls: bool = field(default_factory=lambda: _env("GRC_SMTP_STARTTLS", "true").lower() == "true")
    mail_from: str = field(default_factory=lambda: _env("GRC_MAIL_FROM", "grc <no-reply@grc.invalid>"))
    public_base_url: str = field(default_factory=lambda: _env("GRC_PUBLIC_BASE_URL", "http://127.0.0.1:5000"))
    # Hosts or networks (comma separated, e.g. "127.0.0.1,10.0.0.0/8,hooks.internal") that webhooks and the mark
    # domain checks may reach although they are loopback or private; empty = public addresses only (grc.outbound).
    webhook_allowed_hosts: str = field(default_factory=lambda: _env("GRC_WEBHOOK_ALLOWED_HOSTS", ""))
    webhook_timeout_seconds: int = field(default_factory=lambda: _env_int("GRC_WEBHOOK_TIMEOUT_SECONDS", 10))
    # Seconds one call to an accreditation registry (IAF CertSearch, G2) may take: a bulk upload of 100 records.
    registry_timeout_seconds: int = field(default_factory=lambda: _env_int("GRC_REGISTRY_TIMEOUT_SECONDS", 30))
    # Seconds one call to a tenant's OpenID provider (discovery, token, keys) may take during a sign-in (I1).
    sso_timeout_seconds: int = field(default_factory=lambda: _env_int("GRC_SSO_TIMEOUT_SECONDS", 10))
    # Webhook calls and e-mails one delivery run sends at once (threads of one worker process, J6).
    delivery_concurrency: int = field(default_factory=lambda: _env_int("GRC_DELIVERY_CONCURRENCY", 8))
    # Nameservers the domain checks ask, "host:port" comma separated (e.g. "127.0.0.1:5353"); empty = the system's.
    dns_nameservers: str = field(default_factory=lambda: _env("GRC_DNS_NAMESERVERS", ""))
    # Days between re-checks of a proven mark-licence domain (V4).
    mark_domain_recheck_days: int = field(default_factory=lambda: _env_int("GRC_MARK_DOMAIN_RECHECK_DAYS", 7))
    # Seconds one domain check (DNS lookups and HTTP call together) may take.
    mark_check_timeout_seconds: int = field(default_factory=lambda: _env_int("GRC_MARK_CHECK_TIMEOUT_SECONDS", 5))
    # Empty: the HTTP challenge is fetched over https on port 443. A port: over plain http on that port, for tests
    # and development only (production refuses it).
    mark_http_challenge_port: str = field(default_factory=lambda: _env("GRC_MARK_HTTP_CHALLENGE_PORT", ""))

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def uses_redis(self) -> bool:
        """Without a Redis URL jobs run in-process (the embedded default)."""
        return bool(self.redis_url)

    @property
    def sends_email(self) -> bool:
        """Without an SMTP host, notifications stay in-app (and webhooks); no e-mail is queued."""
        return bool(self.smtp_host)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def nameservers(self) -> list[tuple[str, int]]:
        """``GRC_DNS_NAMESERVERS`` as (IP, port) pairs ("10.0.0.2", "127.0.0.1:5353", "[::1]:53"); port 53 unless
        given. Raises ValueError for anything else (``check`` refuses to start on it)."""
        found = []
        for entry in filter(None, (item.strip() for item in self.dns_nameservers.split(","))):
            host, port = entry, "53"
            if entry.startswith("["):
                host, _, rest = entry[1:].partition("]")
                port = rest.removeprefix(":") or port
            elif entry.count(":") == 1:
                host, port = entry.split(":")
            found.append((str(ipaddress.ip_address(host)), int(port)))
        return found

    def check(self) -> None:
        """Refuse configurations that are unsafe in production, or that would not send anything."""
        if self.delivery_concurrency < 1:
            raise RuntimeError("GRC_DELIVERY_CONCURRENCY must be at least 1 (e-mails and webhook calls sent at once)")
        if self.is_production and self.secret_key == DEV_SECRET:
            raise RuntimeError("GRC_SECRET_KEY must be set in production (the development secret is public)")
        if self.is_production and len(self.secret_key) < 32:
            raise RuntimeError("GRC_SECRET_KEY must be at least 32 characters in production")
        if self.is_production and len(self.key_encryption_key) < 32:
            raise RuntimeError("GRC_KEY_ENCRYPTION_KEY must be set to at least 32 random characters in production: it "
                               "seals the certification bodies' signing keys (V1)")
        try:
            self.nameservers  # noqa: B018 - parsed only to refuse a bad value at start-up
        except ValueError as exc:
            raise RuntimeError("GRC_DNS_NAMESERVERS must list IP addresses with optional ports, e.g. "
                               f"'127.0.0.1:5353,[::1]:53' ({exc})") from exc
        if self.mark_http_challenge_port and (self.is_production or not self.mark_http_challenge_port.isdigit()):
            raise RuntimeError("GRC_MARK_HTTP_CHALLENGE_PORT (plain http on a port, for tests) must be a port number, "
                               "and is refused in production: domains prove themselves over https there")
