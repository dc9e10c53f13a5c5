"""Calls the server makes to addresses its tenants chose: webhook receivers (J5), the domains a mark licensee
proves (V4), a CB's registry address (G2) and a tenant's identity provider (I1). One SSRF guard for all, so none can
make the server call itself, its network or the cloud's metadata service.

``check_destination`` refuses a URL unless every address its host resolves to is public, or the operator allowed
it (``GRC_WEBHOOK_ALLOWED_HOSTS``: host names and IPs/CIDRs that may be reached although internal); the call is
then pinned to the address checked (``pinned``), because a second DNS answer could point inside (DNS rebinding).
Names are resolved by the system, or by the nameservers ``GRC_DNS_NAMESERVERS`` names (``name_resolver``).
"""
from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import dns.exception
import dns.nameserver
import dns.resolver
import httpx

DEFAULT_PORTS = {"http": 80, "https": 443}

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[IPAddress]]
Nameserver = tuple[str, int]


class DestinationRefused(ValueError):
    """A URL the server will not call: not http(s), no host, unresolvable, or an internal address."""


def check_destination(url: str, allowed_hosts: str, resolve: Resolver | None = None) -> list[IPAddress]:
    """Refuse ``url`` unless every address its host resolves to is public, or the host or address is allowed;
    returns the addresses checked (none for a host allowed by name), so the call can be pinned to them.

    ``allowed_hosts`` is the operator's comma-separated list of host names and IPs/CIDRs that may be reached
    although internal (a receiver on the same network); anything else internal would let a tenant make the
    server call its own metadata service (169.254.169.254), database or admin ports.
    """
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket
        raise DestinationRefused("not a URL") from exc
    if parts.scheme not in DEFAULT_PORTS:
        raise DestinationRefused("only http and https URLs are called")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise DestinationRefused("the URL names no host")
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError as exc:
        raise DestinationRefused("the port is not a number from 0 to 65535") from exc
    names, networks = _allow_list(allowed_hosts)
    if host in names:
        return []
    addresses = (resolve or resolve_host)(host, port)
    for address in map(_unwrapped, addresses):
        if is_internal(address) and not any(address in network for network in networks):
            raise DestinationRefused(f"{host} resolves to {address}, an internal address (loopback, private, "
                                     "link-local, multicast, reserved or unspecified); only public hosts are called")
    return addresses


def allows(host: str, allowed_hosts: str) -> bool:
    """Whether the operator's list names ``host``, or it is an IP address inside a network the list names."""
    names, networks = _allow_list(allowed_hosts)
    host = host.strip().lower().rstrip(".")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host in names
    return any(address in network for network in networks)


def resolve_host(host: str, port: int) -> list[IPAddress]:
    """Every address the host resolves to (a name may resolve to a public and an internal one)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError) as exc:  # ValueError: what the IDNA codec refuses
        raise DestinationRefused(f"{host} does not resolve") from exc
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def _unwrapped(address: IPAddress) -> IPAddress:
    """The IPv4 address inside an IPv4-mapped (::ffff:127.0.0.1) or 6to4 IPv6 address, which reach it."""
    if isinstance(address, ipaddress.IPv6Address):
        return address.ipv4_mapped or address.sixtofour or address
    return address


def is_internal(address: IPAddress) -> bool:
    """Loopback, private, link-local (cloud metadata), multicast, reserved, unspecified, site-local, or otherwise
    not globally routable (100.64.0.0/10, where some clouds serve metadata too)."""
    return (address.is_loopback or address.is_private or address.is_link_local or address.is_multicast
            or address.is_reserved or address.is_unspecified or not address.is_global
            or (isinstance(address, ipaddress.IPv6Address) and address.is_site_local))


def _allow_list(allowed_hosts: str) -> tuple[set[str], list[IPNetwork]]:
    names: set[str] = set()
    networks: list[IPNetwork] = []
    for entry in filter(None, (item.strip().lower().rstrip(".") for item in allowed_hosts.split(","))):
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            names.add(entry)
    return names, networks


# --------------------------------------------------------------------------- name resolution


def name_resolver(nameservers: list[Nameserver], timeout: float) -> dns.resolver.Resolver:
    """A DNS resolver asking ``nameservers`` (none: the system's, from /etc/resolv.conf), giving up after
    ``timeout`` seconds in all."""
    resolver = dns.resolver.Resolver(configure=not nameservers)
    if nameservers:
        resolver.nameservers = [dns.nameserver.Do53Nameserver(host, port) for host, port in nameservers]
    resolver.timeout = resolver.lifetime = timeout
    return resolver


def resolver_for(nameservers: list[Nameserver], timeout: float) -> Resolver:
    """The guard's resolver: the system's (``resolve_host``), or the A and AAAA records the configured
    nameservers give, so a test (or a split-horizon operator) decides where a name points."""
    if not nameservers:
        return resolve_host
    resolver = name_resolver(nameservers, timeout)

    def resolve(host: str, _port: int) -> list[IPAddress]:
        try:
            answer = resolver.resolve_name(host)
        except dns.exception.DNSException as exc:  # NXDOMAIN, no A/AAAA, timeouts
            raise DestinationRefused(f"{host} does not resolve ({type(exc).__name__})") from exc
        return [ipaddress.ip_address(address) for address in answer.addresses()]

    return resolve


# --------------------------------------------------------------------------- calling the address checked

# One client per process: building one loads the CA bundle (16 ms, two thirds of a webhook delivery's cost). It is
# built when the module is imported, so a `grc worker` builds it once and every job it forks inherits it; built on
# first use, each job built its own, and the calls of a batch, running side by side, each built one at once. It keeps
# no connection alive, so each call still connects afresh to the address its guard checked, with its own SNI.
HTTP = httpx.Client(follow_redirects=False, limits=httpx.Limits(max_keepalive_connections=0))


def pinned_request(method: str, url: str, addresses: list[IPAddress], headers: dict[str, str], timeout: float,
                   content: bytes | None = None) -> httpx.Response:
    """A streamed request (the caller reads what it needs and closes it) to the first address the guard checked
    (IPv4 first, as most servers listen there), with the original host in ``Host`` and in TLS (SNI and certificate
    check). Redirects are not followed: they could lead past the guard. Raises ``httpx.HTTPError``."""
    target, extensions = httpx.URL(url), dict[str, Any]()
    pinned = sorted(addresses, key=lambda address: address.version)[:1]
    if pinned and target.host != str(pinned[0]):
        headers = {**headers, "host": target.netloc.decode("ascii")}
        extensions = {"sni_hostname": target.host}
        target = target.copy_with(host=str(pinned[0]))
    request = HTTP.build_request(method, target, content=content, headers=headers, extensions=extensions,
                                 timeout=timeout)
    return HTTP.send(request, stream=True)


@dataclass(frozen=True)
class Reply:
    """An answer read through ``call``: its status, headers and at most ``limit`` + 1 bytes of its body."""

    status: int
    headers: httpx.Headers
    body: bytes


def call(method: str, url: str, allowed_hosts: str, headers: dict[str, str], timeout: float, *, limit: int,
         content: bytes | None = None, resolve: Resolver | None = None) -> Reply:
    """The guarded call whose answer is read: the guard, the call pinned to the address it checked, at most
    ``limit`` + 1 bytes of the body (``read_at_most``), the connection closed. Raises ``DestinationRefused`` or
    ``httpx.HTTPError`` (``failure_text`` says which)."""
    addresses = check_destination(url, allowed_hosts, resolve)
    response = pinned_request(method, url, addresses, headers, timeout, content)
    try:
        return Reply(response.status_code, response.headers, read_at_most(response, limit))
    finally:
        response.close()


def read_at_most(response: httpx.Response, limit: int) -> bytes:
    """At most ``limit`` + 1 bytes of a streamed body: enough to tell "too large" from the whole answer, without
    reading what a receiver chose to send beyond it."""
    head = b""
    for chunk in response.iter_bytes():
        head += chunk
        if len(head) > limit:
            break
    return head[:limit + 1]


def failure_text(exc: Exception) -> str:
    """Timeouts and connection errors say little in ``str()``: their type name first."""
    return ": ".join(filter(None, (type(exc).__name__, str(exc))))
