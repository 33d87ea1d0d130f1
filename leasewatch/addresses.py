"""Addresses of both families, pool kinds and MAC evidence. Part of ``leasewatch.model``
(import them from there).

Sizes and counts are Python ints, which are exact at any size: a /64 holds 2**64 addresses,
more than a float (or SQLite's INTEGER) carries exactly. Addresses travel as ints where the
ISC fast path needs them; an int below 2**32 is an IPv4 address (``address_of``): the
IPv4-compatible IPv6 addresses (``::a.b.c.d``, deprecated by RFC 4291) are never leased.
"""

from __future__ import annotations

import enum
import re
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

Address = IPv4Address | IPv6Address
Subnet = IPv4Network | IPv6Network


_DUID = re.compile(r"[0-9a-f]{2}(?:[:-]?[0-9a-f]{2}){2,129}")


def normalize_duid(text: str) -> str | None:
    """A DHCPv6 DUID as Kea writes it (``00:01:00:01:...``, lower-case hex with colons), from
    that form, dashes or bare hex; None when ``text`` is not one (RFC 8415: 3 to 130 bytes)."""
    raw = text.strip().lower()
    if not _DUID.fullmatch(raw):
        return None
    digits = raw.replace(":", "").replace("-", "")
    return ":".join(digits[i : i + 2] for i in range(0, len(digits), 2))


def address_of(value: int) -> Address:
    """The address an int stands for (see the module's docstring on the two families)."""
    return ip_address(value)


def parse_address(text: str) -> Address | None:
    """An IPv4 or IPv6 address written as reports write it, or None when ``text`` is not one."""
    try:
        return ip_address(text.strip())
    except ValueError:
        return None


class PoolKind(enum.StrEnum):
    """What a pool hands out (the value is the ``kind`` of a pool in JSON and CSV)."""

    ADDRESS = "address"  # an IPv4 range, a DHCPv6 IA_NA pool
    TEMPORARY = "temporary"  # DHCPv6 IA_TA (dhcpd's ``range6 ... temporary``)
    PREFIX = "prefix"  # DHCPv6 IA_PD: delegated prefixes of one length, counted as prefixes


class MacSource(enum.StrEnum):
    """Where a lease's MAC came from, which says how far it may be trusted.

    HARDWARE is what the server saw on the wire: a DHCPv4 chaddr, or Kea's v6 ``hw-address``
    (Kea fills it from its ``mac-sources``; operators list ``ipv6-link-local`` before
    ``duid``). DUID is a MAC leasewatch took out of a DUID-LL or DUID-LLT: weak, because a
    client keeps its DUID (dhclient stores it in its lease file) and a cloned VM keeps its
    template's, with the template's MAC inside. A lease whose MAC is weak is never an orphan
    unless ``[reaper] trust_duid_mac`` says so (``leasewatch.core.orphans``).
    """

    HARDWARE = "hardware"
    DUID = "duid"


def pool_size(first: Address, last: Address, kind: PoolKind, delegated_len: int | None) -> int:
    """Addresses from ``first`` to ``last``; a PD pool's count of delegated prefixes (exact)."""
    span = int(last) - int(first) + 1
    if kind is PoolKind.PREFIX and delegated_len is not None:
        return span >> (first.max_prefixlen - delegated_len)
    return span


def pool_label(first: Address, last: Address, kind: PoolKind, delegated_len: int | None) -> str:
    """``first-last``; a PD pool as its prefix and the delegated length (``2001:db8::/40 /56``)."""
    if kind is PoolKind.PREFIX and delegated_len is not None:
        span = int(last) - int(first) + 1
        if span & (span - 1) == 0:  # a whole prefix, as Kea and dhcpd configure them
            return f"{first}/{first.max_prefixlen - span.bit_length() + 1} /{delegated_len}"
    return f"{first}-{last}"


def within(ip: object, first: Address, last: Address) -> bool:
    """Whether ``ip`` lies from ``first`` to ``last`` (another family never does)."""
    # the families do not compare (ipaddress raises TypeError): another family is outside
    return (
        isinstance(ip, IPv4Address | IPv6Address)
        and ip.version == first.version
        and int(first) <= int(ip) <= int(last)
    )


def usage_name(network: str, kind: PoolKind) -> str:
    """The name a network's pools are counted under: a network's prefix-delegation pools
    count delegated prefixes, not addresses, so they make a network of their own
    (``<network> prefixes``) with its own utilization, thresholds, history and forecast."""
    return f"{network} {PREFIXES}" if kind is PoolKind.PREFIX else network


PREFIXES = "prefixes"


def figure(count: int) -> str:
    """A count for a human: exact up to ten digits (every IPv4 figure), beyond that ``2^64``
    for a power of two and ``1.8e19`` otherwise (a /64 holds 2^64 addresses; the JSON and
    CSV carry the exact integer)."""
    if count < 10**10:
        return str(count)
    if count & (count - 1) == 0:
        return f"2^{count.bit_length() - 1}"
    mantissa, exponent = f"{count:.1e}".split("e")
    return f"{mantissa}e{int(exponent)}"
