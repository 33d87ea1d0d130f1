"""Tests for the orphan rules: only a healthy inventory can make an orphan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address, IPv4Network

from leasewatch.core.analysis import analyse
from leasewatch.core.orphans import Judge, next_missing
from leasewatch.model import (
    BindingState,
    FixedHost,
    InventorySnapshot,
    Lease,
    LeaseList,
    Range,
    Reason,
    ServerSnapshot,
    Verdict,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
NET = IPv4Network("198.18.1.192/27")
POOL = Range(IPv4Address("198.18.1.202"), IPv4Address("198.18.1.222"), NET, "lab")


def server(*macs: str | None) -> ServerSnapshot:
    """A server whose pool holds one active lease per MAC, from .202 up."""
    leases = tuple(
        Lease(
            IPv4Address(int(POOL.first) + i),
            BindingState.ACTIVE,
            mac=m,
            ends=NOW + timedelta(days=3),
            server="dhcp1",
        )
        for i, m in enumerate(macs)
    )
    return ServerSnapshot(server="dhcp1", kind="isc", ranges=(POOL,), leases=LeaseList(leases))


def inv(*macs: str, healthy: bool = True, networks: tuple[str, ...] = ()) -> InventorySnapshot:
    """An inventory that lists these MACs."""
    return InventorySnapshot(
        source="hv",
        kind="command",
        macs=frozenset(macs),
        healthy=healthy,
        reason=None if healthy else "exit status 1",
        networks=networks,
    )


A, B, C = "52:54:00:00:00:0a", "52:54:00:00:00:0b", "52:54:00:00:00:0c"


def test_missing_mac_is_orphan_and_listed_mac_is_live() -> None:
    """A MAC the healthy inventory does not list is an orphan; listed ones are live."""
    result = analyse([server(A, B, C)], [inv(A)], now=NOW)
    assert {f.lease.mac for f in result.orphans} == {B, C}
    assert result.live == 1
    assert all(f.missing_since == NOW for f in result.orphans)


def test_unhealthy_inventory_makes_everything_unknown() -> None:
    """A failed inventory orphans nothing: its leases are unknown."""
    result = analyse([server(A, B)], [inv(healthy=False)], now=NOW)
    assert result.orphans == ()
    assert {f.verdict for f in result.unknown} == {Verdict.UNKNOWN}
    assert "inventory hv: exit status 1" in result.errors


def test_empty_inventory_with_active_leases_is_unhealthy() -> None:
    """An inventory that lists no VM while leases are active cannot be trusted."""
    result = analyse([server(A, B)], [inv()], now=NOW)
    assert result.orphans == ()
    assert len(result.unknown) == 2
    assert "listed no VMs" in result.errors[0]


def test_shrunk_inventory_is_unhealthy() -> None:
    """An inventory that lost more than max_shrink of its VMs since last time is distrusted."""
    result = analyse(
        [server(A, B)], [inv(A)], now=NOW, last_healthy_sizes={"hv": 10}, max_shrink=0.5
    )
    assert result.orphans == ()
    assert "shrank from 10 to 1" in result.errors[0]


def test_no_inventory_means_unknown_not_orphan() -> None:
    """With no inventory covering a network, nothing there is an orphan: counted, not judged."""
    result = analyse([server(A, B)], [inv(A, networks=("other",))], now=NOW)
    assert (result.orphans, result.unknown, result.live, result.unwatched) == ((), (), 0, 2)
    judge = Judge(result.inventories, (), {}, NOW)
    assert judge.rule(1, B, "lab") == (Verdict.UNKNOWN, Reason.UNWATCHED, (("network", "lab"),))


def test_scoped_inventory_only_blocks_its_networks() -> None:
    """A broken inventory scoped to another network does not block this one."""
    broken = InventorySnapshot(
        source="kvm", kind="libvirt", healthy=False, reason="down", networks=("other",)
    )
    result = analyse([server(A, B)], [inv(A, networks=("lab",)), broken], now=NOW)
    assert [f.lease.mac for f in result.orphans] == [B]


def test_fixed_host_and_macless_lease_are_never_orphans() -> None:
    """Fixed-address hosts are live; a lease without a MAC is unknown."""
    snap = server(A, None)
    snap = ServerSnapshot(
        server="dhcp1",
        kind="isc",
        ranges=snap.ranges,
        leases=snap.leases,
        fixed=(FixedHost("gw", A, None),),
    )
    result = analyse([snap], [inv(C)], now=NOW)
    assert result.orphans == ()
    assert result.unknown[0].reason == "lease has no hardware address"


def test_next_missing_keeps_clock_through_outage() -> None:
    """Grace clocks survive a scan where the inventory was down, and reset when seen again."""
    earlier = NOW - timedelta(hours=2)
    first = analyse([server(A, B)], [inv(A)], now=NOW, first_missing={B: earlier})
    assert first.orphans[0].missing_since == earlier
    assert next_missing(first.orphans, first.unknown, {B: earlier}, NOW) == {B: earlier}
    outage = analyse([server(A, B)], [inv(healthy=False)], now=NOW)
    assert next_missing(outage.orphans, outage.unknown, {B: earlier}, NOW) == {B: earlier}
    back = analyse([server(A, B)], [inv(A, B)], now=NOW)
    assert next_missing(back.orphans, back.unknown, {B: earlier}, NOW) == {}


def test_pool_taken_mac_is_live_not_orphan() -> None:
    """A MAC taken from the MAC pool is live (its VM may be booting); once returned (not in
    ``pool_taken``) its lease is an orphan again; an unhealthy inventory still makes it
    unknown, and a re-judge with the analysis's set agrees (``why``, ``release``)."""
    taken = analyse([server(A, B, C)], [inv(A)], now=NOW, pool_taken={B})
    assert [f.lease.mac for f in taken.orphans] == [C]
    assert taken.live == 2 and taken.pool_taken == {B}
    judge = Judge(taken.inventories, (), {}, NOW, taken.pool_taken)
    assert judge.rule(1, B, "lab") == (Verdict.LIVE, Reason.LIVE_POOL_TAKEN, ())
    (lease,) = server(B).leases
    assert judge.judge(lease, "lab").code is Reason.LIVE_POOL_TAKEN
    returned = analyse([server(A, B, C)], [inv(A)], now=NOW)
    assert [f.lease.mac for f in returned.orphans] == [B, C]
    outage = analyse([server(A, B)], [inv(healthy=False)], now=NOW, pool_taken={B})
    assert {f.code for f in outage.unknown} == {Reason.UNKNOWN_INVENTORY_FAILED}
