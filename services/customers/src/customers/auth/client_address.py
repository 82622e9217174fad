"""The client's address, as the login throttle counts it."""

import ipaddress
from collections.abc import Sequence

from customers.config import IpNetwork


def client_address(
    peer: str | None, forwarded_for: str | None, trusted_proxies: Sequence[IpNetwork]
) -> str:
    """The socket peer; when that peer is a trusted proxy, the nearest untrusted X-Forwarded-For
    hop (entries left of it could be written by anyone, so they are not believed)."""
    address = peer or "unknown"
    if not forwarded_for or not _is_trusted(address, trusted_proxies):
        return address
    for hop in reversed([hop.strip() for hop in forwarded_for.split(",") if hop.strip()]):
        if not _is_trusted(hop, trusted_proxies):
            return hop
        address = hop
    return address


def _is_trusted(address: str, trusted_proxies: Sequence[IpNetwork]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted_proxies)
