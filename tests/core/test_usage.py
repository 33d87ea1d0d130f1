"""Tests for pool counting and levels (pure: no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address, IPv4Network

from leasewatch.core.usage import count, level_for
from leasewatch.model import (
    BindingState,
    Lease,
    LeaseList,
    Level,
    Range,
    ServerSnapshot,
    Thresholds,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
NET = IPv4Network("198.18.1.192/27")


def rng(first: str, last: str, network: str = "198.18.1.192/27") -> Range:
    """A range in the seed's /27."""
    return Range(IPv4Address(first), IPv4Address(last), NET, network)


def lease(ip: str, state: BindingState = BindingState.ACTIVE, **kw: object) -> Lease:
    """An active lease ending tomorrow unless told otherwise."""
    kw.setdefault("ends", NOW + timedelta(days=1))
    kw.setdefault("mac", "52:54:00:00:00:01")
    return Lease(IPv4Address(ip), state, **kw)  # type: ignore[arg-type]


def test_level_ratio_and_free_count() -> None:
    """The ratio or the free count, whichever trips first, sets the level."""
    t = Thresholds(warn_at=0.8, critical_at=0.9, warn_free=5, critical_free=2)
    assert level_for(100, 10, 90, t) is Level.OK
    assert level_for(100, 80, 20, t) is Level.WARN
    assert level_for(100, 90, 10, t) is Level.CRITICAL
    assert level_for(21, 16, 5, t) is Level.WARN
    assert level_for(21, 10, 2, t) is Level.CRITICAL
    assert level_for(0, 0, 0, t) is Level.OK


def test_range_edges() -> None:
    """First and last addresses belong to the range; neighbours do not (they are outside)."""
    ips = ("198.18.1.202", "198.18.1.222", "198.18.1.223", "198.18.1.196", "198.18.1.194")
    server = ServerSnapshot(
        server="dhcp1",
        kind="isc",
        ranges=(rng("198.18.1.202", "198.18.1.222"), rng("198.18.1.194", "198.18.1.195")),
        leases=LeaseList(lease(ip) for ip in ips),
    )
    (net,), active = count(server, lambda _n: Thresholds(), NOW)
    assert [p.active for p in net.pools] == [1, 2]  # .194; .202 and .222
    assert [(n, [str(IPv4Address(ip)) for ip in group]) for n, group in active][-1] == (
        None,
        ["198.18.1.196", "198.18.1.223"],
    )


def test_count_states_and_expired_active() -> None:
    """Active past its end is free; backup (the failover peer's share of free) and abandoned
    are counted apart, and backup is free."""
    server = ServerSnapshot(
        server="dhcp1",
        kind="isc",
        ranges=(rng("198.18.1.202", "198.18.1.222"),),
        leases=LeaseList(
            (
                lease("198.18.1.202"),
                lease("198.18.1.203", ends=None),
                lease("198.18.1.204", ends=NOW - timedelta(seconds=1)),
                lease("198.18.1.205", BindingState.BACKUP),
                lease("198.18.1.206", BindingState.ABANDONED),
                lease("198.18.1.207", BindingState.FREE),
                lease("198.18.1.100"),
            )
        ),
    )
    networks, active = count(server, lambda _n: Thresholds(), NOW)
    (net,) = networks
    assert (net.size, net.active, net.backup, net.abandoned, net.free) == (21, 2, 1, 1, 18)
    assert net.utilization == 2 / 21
    assert [(n, [str(IPv4Address(ip)) for ip in ips]) for n, ips in active] == [
        ("198.18.1.192/27", ["198.18.1.202", "198.18.1.203"]),
        (None, ["198.18.1.100"]),
    ]


def test_shared_network_sums_its_ranges() -> None:
    """A shared network's counts are the sums over its ranges, each keeping its own."""
    server = ServerSnapshot(
        server="s",
        kind="isc",
        ranges=(
            rng("198.18.1.194", "198.18.1.203", "lab"),
            rng("198.18.1.210", "198.18.1.219", "lab"),
        ),
        leases=LeaseList(lease(f"198.18.1.{i}") for i in range(194, 203)),
    )
    (net,), _ = count(server, lambda _n: Thresholds(), NOW)
    assert (net.name, net.size, net.active) == ("lab", 20, 9)
    assert [p.active for p in net.pools] == [9, 0]
    assert net.pools[0].level is Level.CRITICAL
    assert net.level is Level.OK
