"""Pool utilization: count each server's current leases into its ranges and networks.

utilization = active / size, as dhcpd-pools and Stork compute it, in exact integers (a /64
holds 2**64 addresses). A prefix-delegation pool counts delegated prefixes; a network's PD
pools are counted apart from its addresses (``usage_name``). ``backup`` leases
(failover: free, but owned by the peer) and ``abandoned`` ones (declined by a client, kept
out of use until the pool runs dry) are counted apart; ``free`` is what remains.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from datetime import datetime

from leasewatch.model import (
    Level,
    NetworkUsage,
    PoolUsage,
    ServerSnapshot,
    Thresholds,
    free_of,
    parse_address,
    usage_name,
)

ThresholdsFor = Callable[[str], Thresholds]


def level_for(size: int, active: int, free: int, thresholds: Thresholds) -> Level:
    """The level a pool or network is at (``Thresholds.level``, the one rule)."""
    return thresholds.level(size, active, free)


def count(
    server: ServerSnapshot,
    thresholds_for: ThresholdsFor,
    now: datetime,
) -> tuple[tuple[NetworkUsage, ...], list[tuple[str | None, Sequence[int]]]]:
    """Return the server's networks with their pools, and its active addresses by network.

    Active means binding state active and not past its end: a lease dhcpd has not yet
    expired in the file is free to hand out again. The addresses come as (network, sorted
    int addresses) per range, then (None, the active addresses outside every range).

    Counting is a bisection of the census's sorted addresses per range, never a loop over
    the leases: each range takes the addresses from its first to its last, or to the next
    range's first when ranges overlap (a configuration dhcpd refuses anyway).
    """
    census = server.leases.census(now)
    ranges = sorted(server.ranges, key=lambda r: int(r.first))
    n = len(ranges)
    bounds = [
        (
            int(r.first),
            int(r.last) if i + 1 == n else min(int(r.last), int(ranges[i + 1].first) - 1),
        )
        for i, r in enumerate(ranges)
    ]
    active_at = _slices(census.active, bounds)
    active = [b - a for a, b in active_at]
    backup = [b - a for a, b in _slices(census.backup, bounds)]
    abandoned = [b - a for a, b in _slices(census.abandoned, bounds)]
    groups: list[tuple[str | None, Sequence[int]]] = []
    outside: list[int] = []
    done = 0
    for r, (a, b) in zip(ranges, active_at, strict=True):
        outside.extend(census.active[done:a])
        groups.append((r.network, census.active[a:b]))
        done = b
    outside.extend(census.active[done:])
    if outside:
        groups.append((None, outside))

    pools_by_network: dict[str, list[PoolUsage]] = {}
    for i, r in enumerate(ranges):
        name = usage_name(r.network, r.kind)
        t = thresholds_for(name)
        free = free_of(r.size, active[i], backup[i], abandoned[i])
        pools_by_network.setdefault(name, []).append(
            PoolUsage(
                server=server.server,
                network=r.network,
                subnet=r.subnet,
                first=r.first,
                last=r.last,
                size=r.size,
                kind=r.kind,
                delegated_len=r.delegated_len,
                active=active[i],
                backup=backup[i],
                abandoned=abandoned[i],
                level=level_for(r.size, active[i], free, t),
            )
        )
    networks = []
    for name, pools in pools_by_network.items():
        size = sum(p.size for p in pools)
        act = sum(p.active for p in pools)
        bu = sum(p.backup for p in pools)
        ab = sum(p.abandoned for p in pools)
        free = free_of(size, act, bu, ab)
        networks.append(
            NetworkUsage(
                server=server.server,
                name=name,
                size=size,
                active=act,
                backup=bu,
                abandoned=ab,
                level=level_for(size, act, free, thresholds_for(name)),
                pools=tuple(pools),
            )
        )
    networks.sort(key=lambda u: _network_sort_key(u.name))
    return tuple(networks), groups


def _slices(ips: Sequence[int], bounds: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """For each (first, last), where its addresses start and end in the sorted ``ips``."""
    out = []
    for first, last in bounds:
        a = bisect_left(ips, first)
        out.append((a, max(a, bisect_right(ips, last))))
    return out


def _network_sort_key(name: str) -> tuple[int, int, int, str]:
    # named shared networks first, then lone subnets in address order, IPv4 before IPv6
    address = parse_address(name.split("/", 1)[0])
    if address is None:
        return (0, 0, 0, name)
    return (1, address.version, int(address), name)
