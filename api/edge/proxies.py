"""Who the client is: the TCP peer, or behind trusted reverse proxies the right-most untrusted hop.

`X-Forwarded-For` is a list each proxy appends its peer to, so only the entries our own proxies wrote
(the right end) can be believed; anything left of the first hop that is not one of ours is the client's
to choose and never used.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from starlette.types import Scope

Network = IPv4Network | IPv6Network


def _parse(host: str) -> IPv4Address | IPv6Address | None:
    host = host.strip()
    if host.startswith("[") and "]" in host:  # "[2001:db8::1]:443"
        host = host[1 : host.index("]")]
    try:
        return ip_address(host)
    except ValueError:
        return None


def _trusted(address: IPv4Address | IPv6Address | None, proxies: Sequence[Network]) -> bool:
    return address is not None and any(address in network for network in proxies)


def resolve_client_ip(peer: str | None, forwarded_for: str | None, proxies: Sequence[Network]) -> str:
    """The client's address given the TCP peer, the joined `X-Forwarded-For` values and our proxies."""
    if peer is None:
        return "unknown"
    current = peer
    if not proxies or not _trusted(_parse(peer), proxies) or not forwarded_for:
        return current
    for hop in reversed(forwarded_for.split(",")):
        address = _parse(hop)
        if address is None:
            # A trusted proxy handed on something that is no address: the last one we can name.
            return current
        current = str(address)
        if not _trusted(address, proxies):
            return current
    return current  # every hop is one of ours: the left-most


def client_ip(scope: Scope, proxies: Sequence[Network]) -> str:
    """`resolve_client_ip` for an ASGI request (every `X-Forwarded-For` header, in order)."""
    client = scope.get("client")
    hops = [v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"x-forwarded-for"]
    return resolve_client_ip(client[0] if client else None, ",".join(hops) or None, proxies)
