"""Which address the login throttle counts: X-Forwarded-For only from trusted proxies."""

import ipaddress

import pytest

from customers.auth.client_address import client_address

GATEWAY = [ipaddress.ip_network("10.0.0.0/8")]


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "trusted", "expected"),
    [
        ("203.0.113.5", None, [], "203.0.113.5"),
        ("203.0.113.5", "198.51.100.1", [], "203.0.113.5"),  # nobody trusted: header ignored
        ("203.0.113.5", "198.51.100.1", GATEWAY, "203.0.113.5"),  # peer is no proxy
        ("10.0.0.2", "198.51.100.1", GATEWAY, "198.51.100.1"),
        ("10.0.0.2", "6.6.6.6, 198.51.100.1", GATEWAY, "198.51.100.1"),  # spoofed left entry
        ("10.0.0.2", "198.51.100.1, 10.0.0.3", GATEWAY, "198.51.100.1"),  # two proxies
        ("10.0.0.2", "10.0.0.4, 10.0.0.3", GATEWAY, "10.0.0.4"),
        ("10.0.0.2", "", GATEWAY, "10.0.0.2"),
        (None, None, GATEWAY, "unknown"),
    ],
)
def test_client_address(peer, forwarded_for, trusted, expected) -> None:
    assert client_address(peer, forwarded_for, trusted) == expected
