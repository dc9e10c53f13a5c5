"""J5, the webhook address guard (``grc.outbound.check_destination``, which the V4 domain checks share): a tenant's
webhook URL must not make the server call itself, its network or the cloud's metadata service. The guard takes the
resolver as a parameter, so each scenario names the addresses a host "resolves" to; no DNS server is asked."""
from __future__ import annotations

import ipaddress

import pytest

from grc.outbound import DestinationRefused, check_destination, is_internal

PUBLIC = "93.184.215.14"


def resolving_to(*addresses: str):  # type: ignore[no-untyped-def]
    def resolve(_host: str, _port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
        return [ipaddress.ip_address(address) for address in addresses]

    return resolve


def refusal(url: str, *addresses: str, allowed: str = "") -> str | None:
    """Why the guard refuses ``url`` when its host resolves to ``addresses`` (None: it may be called)."""
    try:
        check_destination(url, allowed, resolving_to(*addresses))
    except DestinationRefused as refused:
        return str(refused)
    return None


def test_J5_a_public_https_receiver_is_accepted_and_the_call_is_pinned_to_the_address_checked() -> None:
    assert refusal("https://hooks.example.com/in", PUBLIC) is None
    pinned = check_destination("https://hooks.example.com:8443/in", "", resolving_to(PUBLIC, "2606:2800:220:1::1"))
    assert [str(address) for address in pinned] == [PUBLIC, "2606:2800:220:1::1"]


@pytest.mark.parametrize(("address", "what"), [
    ("127.0.0.1", "loopback"),
    ("::1", "IPv6 loopback"),
    ("10.1.2.3", "private 10/8"),
    ("172.16.5.4", "private 172.16/12"),
    ("192.168.1.1", "private 192.168/16"),
    ("169.254.169.254", "link-local: the cloud metadata service"),
    ("100.100.100.200", "shared 100.64/10, where some clouds serve metadata"),
    ("0.0.0.0", "unspecified"),
    ("224.0.0.1", "multicast"),
    ("240.0.0.1", "reserved"),
    ("fc00::1", "IPv6 unique local"),
    ("fe80::1", "IPv6 link-local"),
    ("fec0::1", "IPv6 site-local"),
    ("::ffff:127.0.0.1", "loopback inside an IPv4-mapped IPv6 address"),
    ("2002:a9fe:a9fe::1", "169.254.169.254 inside a 6to4 address"),
], ids=lambda value: str(value))
def test_J5_a_host_resolving_to_an_internal_address_is_refused(address: str, what: str) -> None:
    reason = refusal("https://hooks.example.com/in", address)
    assert reason is not None and "internal address" in reason, what


@pytest.mark.parametrize("address", [PUBLIC, "8.8.8.8", "2606:2800:220:1::1"])
def test_J5_globally_routable_addresses_are_not_internal(address: str) -> None:
    assert not is_internal(ipaddress.ip_address(address))


def test_J5_one_internal_address_among_public_ones_is_enough_to_refuse() -> None:
    """A name may resolve to several addresses; the call could go to any of them."""
    assert refusal("https://hooks.example.com/in", PUBLIC, "10.1.2.3") is not None


@pytest.mark.parametrize(("url", "reason"), [
    ("ftp://hooks.example.com/in", "only http and https"),
    ("file:///etc/passwd", "only http and https"),
    ("hooks.example.com/in", "only http and https"),
    ("http:///no-host", "names no host"),
    ("https://hooks.example.com:99999/", "port"),
    ("http://[::1/", "not a URL"),
])
def test_J5_a_url_that_is_not_an_http_address_of_a_host_is_refused(url: str, reason: str) -> None:
    assert reason in (refusal(url, PUBLIC) or "accepted")


def test_J5_the_operator_allow_list_lets_named_hosts_and_networks_through() -> None:
    # a host allowed by name is not even resolved: nothing to pin
    assert check_destination("http://hooks.internal:8080/", "hooks.internal", resolving_to()) == []
    assert refusal("http://hooks.lan/", "10.1.2.3", allowed=" 10.0.0.0/8 , other.lan") is None
    assert refusal("http://mapped.example/", "::ffff:127.0.0.1", allowed="127.0.0.1") is None
    # only what is listed: another internal address of the same host is still refused
    assert refusal("http://hooks.lan/", "10.1.2.3", "192.168.1.1", allowed="10.0.0.0/8") is not None
    assert refusal("http://other.internal/", "10.1.2.3", allowed="hooks.internal") is not None


def test_J5_with_the_real_resolver_localhost_is_refused_and_a_name_that_cannot_resolve_too() -> None:
    """Neither asks a DNS server: localhost comes from the hosts file, and an empty label fails in the IDNA codec."""
    with pytest.raises(DestinationRefused, match="internal address"):
        check_destination("http://localhost:5000/", "")
    with pytest.raises(DestinationRefused, match="does not resolve"):
        check_destination("https://hooks..example/", "")
