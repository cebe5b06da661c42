"""Where an `http:` step may connect: public addresses only, unless someone allowed more.

An `http:` step's url may be a template, so whoever may start a run (or answer a step) may
choose where the server sends a request and read the answer back as outputs. Without a
check that is a way into the bot's own network: the cloud metadata service (credentials),
the database, admin consoles on localhost.

So the host is resolved once, every address it resolves to is checked, and the connection
is made to a checked address (never to the name again: a second lookup could answer
differently, which is DNS rebinding). Refused, unless allowed:

- loopback, private (RFC 1918, fc00::/7), link-local, multicast, unspecified, reserved and
  other special-purpose addresses (anything that is not a public address);
- the cloud metadata addresses (169.254.169.254, fd00:ec2::254, ...);
- IPv6 forms that carry one of those IPv4 addresses (::ffff:a.b.c.d, 6to4, NAT64).

Allowed by:

- the workflow's `egress: {allow: [...]}`: a host name (the url's host, compared without
  case), an address, or a network in CIDR form;
- the setting `HTTP_ALLOW_PRIVATE=true`, for every non-public address except the metadata
  addresses: those hold the machine's credentials, so only an `egress.allow` entry naming
  the address itself (or the host name) lets a request reach them.

A refusal is a failure another try cannot fix: it is not retried, and the step escalates.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from bot.settings import get_settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# host, port -> the addresses it resolves to, as text, in the order to try them.
Resolver = Callable[[str, int], Sequence[str]]

# Instance metadata services: AWS, GCP, Azure, OpenStack, DigitalOcean and Oracle answer on
# the first; AWS over IPv6 on the second; ECS task credentials and Alibaba Cloud on the others.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(text) for text in ("169.254.169.254", "fd00:ec2::254", "169.254.170.2", "100.100.100.200")
)
PRIVATE_NETWORKS = tuple(
    ipaddress.ip_network(text) for text in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)
NAT64_NETWORKS = tuple(ipaddress.ip_network(text) for text in ("64:ff9b::/96", "64:ff9b:1::/48"))


class EgressRefused(Exception):
    """A request that would reach an address nobody allowed; the message says how to allow it."""


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the system resolver gives for `host` (literal addresses included), once each."""
    found: list[str] = []
    for *_, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        address = str(sockaddr[0]).split("%", 1)[0]  # an IPv6 zone (`fe80::1%eth0`) is not part of the address
        if address not in found:
            found.append(address)
    return found


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, NAT64), if any."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if any(address in network for network in NAT64_NETWORKS):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def classify(address: IPAddress) -> str | None:
    """What makes `address` one to refuse (`a private address`, ...), or None for a public one."""
    if address in METADATA_ADDRESSES:
        return "the cloud metadata address"
    inner = embedded_ipv4(address)
    if inner is not None:  # the IPv4 address is where the packets go: it decides
        found = classify(inner)
        return None if found is None else f"{found} ({inner})"
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return "a site-local address"
    if address.is_reserved:
        return "a reserved address"
    if any(address in network for network in PRIVATE_NETWORKS if network.version == address.version):
        return "a private address"
    if address.is_private or not address.is_global:
        return "a special-purpose address, not a public one"
    return None


def is_metadata(address: IPAddress) -> bool:
    inner = embedded_ipv4(address)
    return address in METADATA_ADDRESSES or (inner is not None and inner in METADATA_ADDRESSES)


def _parse_entries(entries: Iterable[str]) -> tuple[frozenset[str], tuple[IPNetwork, ...]]:
    hosts: set[str] = set()
    networks: list[IPNetwork] = []
    for entry in entries:
        text = str(entry).strip()
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            hosts.add(normal_host(text))
    return frozenset(hosts), tuple(networks)


def normal_host(host: str) -> str:
    """A host name as compared: without case, brackets or a final dot."""
    return host.strip().strip("[]").rstrip(".").lower()


@dataclass(frozen=True)
class EgressPolicy:
    """What an `http:` step may reach besides public addresses.

    `allow` is the workflow's `egress.allow`; `allow_private` is `HTTP_ALLOW_PRIVATE` (None:
    read the process's settings when a request is checked); `resolve` looks names up (tests
    give their own, so that a name can stand for any address).
    """

    allow: tuple[str, ...] = ()
    allow_private: bool | None = None
    resolve: Resolver = field(default=system_resolver, compare=False)

    def addresses(self, host: str, port: int) -> list[str]:
        """Resolve `host` once and check every address; the addresses to connect to.

        Raises `EgressRefused` when any address is not allowed (a name that points both
        inside and outside is refused whole), `OSError` when the name does not resolve.
        """
        resolved = list(self.resolve(host, port))
        if not resolved:
            raise OSError(f"{host} resolves to no address")
        hosts, networks = _parse_entries(self.allow)
        if normal_host(host) in hosts:
            return resolved  # the admin named this host: whatever it resolves to is theirs
        for text in resolved:
            address = ipaddress.ip_address(text)
            reason = classify(address)
            if reason is None or self._allowed(address, networks):
                continue
            shown = text if normal_host(host) == normal_host(text) else f"{text} ({host})"
            raise EgressRefused(f"refused: {shown} is {reason}; {self._advice(address)}")
        return resolved

    def _allowed(self, address: IPAddress, networks: tuple[IPNetwork, ...]) -> bool:
        forms = [address] + [inner for inner in (embedded_ipv4(address),) if inner is not None]
        if is_metadata(address):
            # Only an entry for exactly this address: a wide network was not written for it.
            return any(network.num_addresses == 1 and form in network for network in networks for form in forms)
        if any(form in network for network in networks for form in forms if form.version == network.version):
            return True
        return self.private_allowed()

    def private_allowed(self) -> bool:
        if self.allow_private is not None:
            return self.allow_private
        return get_settings().http_allow_private

    @staticmethod
    def _advice(address: IPAddress) -> str:
        if is_metadata(address):
            return "allow it by naming it in egress.allow (HTTP_ALLOW_PRIVATE does not cover it)"
        return "allow it with egress.allow or HTTP_ALLOW_PRIVATE"
