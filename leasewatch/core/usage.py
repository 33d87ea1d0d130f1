"""Pool utilization: count each server's current leases into its ranges and networks.

utilization = active / size, as dhcpd-pools and Stork compute it. ``backup`` leases
(failover: free, but owned by the peer) and ``abandoned`` ones (declined by a client, kept
out of use until the pool runs dry) are counted apart; ``free`` is what remains.
"""

from __future__ import annotations

import dataclasses
from bisect import bisect_right
from collections.abc import Callable, Iterable
from datetime import datetime

from leasewatch.model import (
    BindingState,
    Lease,
    Level,
    NetworkUsage,
    PoolUsage,
    Range,
    ServerSnapshot,
    Thresholds,
)

ThresholdsFor = Callable[[str], Thresholds]


def level_for(size: int, active: int, free: int, thresholds: Thresholds) -> Level:
    """The level a pool or network is at: the ratio or the free count, whichever trips first."""
    ratio = active / size if size else 0.0
    t = thresholds
    if size and (
        ratio >= t.critical_at or (t.critical_free is not None and free <= t.critical_free)
    ):
        return Level.CRITICAL
    if size and (ratio >= t.warn_at or (t.warn_free is not None and free <= t.warn_free)):
        return Level.WARN
    return Level.OK


class RangeIndex:
    """Finds the range holding an address in O(log n): ranges sorted by first address."""

    def __init__(self, ranges: Iterable[Range]) -> None:
        self.ranges = sorted(ranges, key=lambda r: int(r.first))
        self._firsts = [int(r.first) for r in self.ranges]
        self._lasts = [int(r.last) for r in self.ranges]

    def find(self, ip: int) -> int | None:
        """Index into ``ranges`` of the range holding ``ip`` (an int), or None."""
        i = bisect_right(self._firsts, ip) - 1
        if i >= 0 and ip <= self._lasts[i]:
            return i
        return None


def count(
    server: ServerSnapshot,
    thresholds_for: ThresholdsFor,
    now: datetime,
) -> tuple[tuple[NetworkUsage, ...], list[tuple[Lease, str | None]]]:
    """Return the server's networks with their pools, and each active lease with its network.

    Active means binding state active and not past its end: a lease dhcpd has not yet
    expired in the file is free to hand out again.
    """
    index = RangeIndex(server.ranges)
    n = len(index.ranges)
    active = [0] * n
    backup = [0] * n
    abandoned = [0] * n
    active_leases: list[tuple[Lease, str | None]] = []
    find = index.find
    ranges = index.ranges
    name = server.server
    for lease in server.leases:
        state = lease.state
        if state is BindingState.ACTIVE:
            if lease.ends is not None and lease.ends <= now:
                continue
            if lease.server != name:  # findings name their server; adapters may leave it out
                lease = dataclasses.replace(lease, server=name)
            i = find(int(lease.ip))
            if i is not None:
                active[i] += 1
                active_leases.append((lease, ranges[i].network))
            else:
                active_leases.append((lease, None))
        elif state is BindingState.BACKUP:
            i = find(int(lease.ip))
            if i is not None:
                backup[i] += 1
        elif state is BindingState.ABANDONED or state is BindingState.DECLINED:
            i = find(int(lease.ip))
            if i is not None:
                abandoned[i] += 1

    pools_by_network: dict[str, list[PoolUsage]] = {}
    for i, r in enumerate(ranges):
        t = thresholds_for(r.network)
        free = max(r.size - active[i] - backup[i] - abandoned[i], 0)
        pools_by_network.setdefault(r.network, []).append(
            PoolUsage(
                server=server.server,
                network=r.network,
                subnet=r.subnet,
                first=r.first,
                last=r.last,
                size=r.size,
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
        free = max(size - act - bu - ab, 0)
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
    return tuple(networks), active_leases


def _network_sort_key(name: str) -> tuple[int, str]:
    # named shared networks first, then lone subnets in address order
    head = name.split("/", 1)[0]
    parts = head.split(".")
    if len(parts) == 4 and all(p.isdigit() for p in parts):
        return (1, ".".join(p.zfill(3) for p in parts))
    return (0, name)
