"""Settings that would leave the process unable to do its work are refused when it starts."""
from __future__ import annotations

import pytest

from grc.config import Settings


@pytest.mark.parametrize("concurrency", [0, -1])
def test_J6_a_sender_that_could_send_nothing_at_once_is_refused_at_start(concurrency: int) -> None:
    with pytest.raises(RuntimeError, match="GRC_DELIVERY_CONCURRENCY"):
        Settings(delivery_concurrency=concurrency).check()



def test_V4_the_nameservers_the_domain_checks_ask_are_ip_addresses_with_optional_ports() -> None:
    settings = Settings(dns_nameservers=" 10.0.0.2, 127.0.0.1:5353 ,[::1]:5300,[2001:db8::53]")
    assert settings.nameservers == [("10.0.0.2", 53), ("127.0.0.1", 5353), ("::1", 5300), ("2001:db8::53", 53)]
    assert Settings(dns_nameservers="").nameservers == []  # the system's
    for bad in ("ns1.example.com", "127.0.0.1:port", "300.1.1.1"):
        with pytest.raises(RuntimeError, match="GRC_DNS_NAMESERVERS"):
            Settings(dns_nameservers=bad).check()


def test_V4_plain_http_challenges_on_a_port_are_for_tests_never_production() -> None:
    Settings(env="test", mark_http_challenge_port="8080").check()
    with pytest.raises(RuntimeError, match="GRC_MARK_HTTP_CHALLENGE_PORT"):
        Settings(env="test", mark_http_challenge_port="http").check()
    with pytest.raises(RuntimeError, match="refused in production"):
        Settings(env="production", secret_key="s" * 40, key_encryption_key="k" * 40,
                 mark_http_challenge_port="8080").check()
