"""The outbound half of rule V4: does ``domain`` publish ``token``? One HTTP GET or one DNS TXT lookup, bounded
by ``GRC_MARK_CHECK_TIMEOUT_SECONDS``, through the SSRF guard of ``grc.outbound``. Every failure comes back as a
reason a licensee can act on, never as an exception.

- http: ``GET https://{domain}/.well-known/grc-mark/{token}`` must answer 200 with the token as its body (blanks
  around it ignored). The host is resolved by the configured nameservers (``GRC_DNS_NAMESERVERS``) or the system,
  refused if internal and not allow-listed, and the call pinned to the address checked; redirects are not
  followed (they could lead past the guard). ``GRC_MARK_HTTP_CHALLENGE_PORT`` (not in production) makes it plain
  http on that port, for tests.
- dns: a TXT record at ``_grc-mark.{domain}`` whose value is the token. The question goes to the configured
  nameservers (the operator's, not a tenant's choice), so no guard is needed for it.
"""
from __future__ import annotations

from dataclasses import dataclass

import dns.exception
import dns.resolver
import httpx

from grc import outbound
from grc.config import Settings
from grc.marks.models import ProofMethod

WELL_KNOWN = "/.well-known/grc-mark/"
DNS_LABEL = "_grc-mark"
MAX_BODY = 1024  # the token is 43 characters; a page is not read
USER_AGENT = "grc-domain-check/1"


@dataclass(frozen=True)
class Probe:
    """The outcome of one check: ``reason`` says why it failed (None when the token was found)."""

    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None


def challenge_url(domain: str, token: str, settings: Settings) -> str:
    """Where the HTTP challenge's token is fetched."""
    port = settings.mark_http_challenge_port
    origin = f"http://{domain}:{port}" if port else f"https://{domain}"
    return origin + WELL_KNOWN + token


def record_name(domain: str) -> str:
    """Where the DNS challenge's TXT record lives."""
    return f"{DNS_LABEL}.{domain}"


def probe(method: ProofMethod, domain: str, token: str, settings: Settings) -> Probe:
    """Does ``domain`` publish ``token`` the ``method`` way?"""
    return (http_probe if method == ProofMethod.http else dns_probe)(domain, token, settings)


def http_probe(domain: str, token: str, settings: Settings) -> Probe:
    url, timeout = challenge_url(domain, token, settings), settings.mark_check_timeout_seconds
    try:
        reply = outbound.call("GET", url, settings.webhook_allowed_hosts, {"user-agent": USER_AGENT}, timeout,
                              limit=MAX_BODY, resolve=outbound.resolver_for(settings.nameservers, timeout))
    except outbound.DestinationRefused as exc:
        return Probe(f"{url} was not called: {exc}")
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return Probe(f"{url} could not be fetched: {outbound.failure_text(exc)}")
    status, body = reply.status, reply.body
    if status != 200:
        return Probe(f"{url} answered HTTP {status}; it must answer 200 with the token as its body")
    if body.strip() != token.encode():
        return Probe(f"{url} answered 200 but its body is not the token of this challenge")
    return Probe()


def dns_probe(domain: str, token: str, settings: Settings) -> Probe:
    name, timeout = record_name(domain), settings.mark_check_timeout_seconds
    try:
        answer = outbound.name_resolver(settings.nameservers, timeout).resolve(name, "TXT")
    except dns.resolver.NXDOMAIN:
        return Probe(f"{name} does not exist: publish a TXT record there whose value is the token")
    except dns.resolver.NoAnswer:
        return Probe(f"{name} has no TXT record: publish one whose value is the token")
    except dns.exception.Timeout:
        return Probe(f"no DNS answer for {name} within {timeout} s")
    except dns.exception.DNSException as exc:
        return Probe(f"the TXT lookup of {name} failed: {outbound.failure_text(exc)}")
    values = [b"".join(record.strings).decode("utf-8", "replace") for record in answer]
    if token not in (value.strip() for value in values):
        return Probe(f"{name} has {len(values)} TXT record(s), none of which is the token of this challenge")
    return Probe()
