"""Tests for ``observe`` with memory: a daemon records a lease again only when it changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address, IPv4Network

from leasewatch.core.analysis import analyse
from leasewatch.model import (
    BindingState,
    InventorySnapshot,
    Lease,
    LeaseList,
    Range,
    ServerSnapshot,
    Verdict,
)
from leasewatch.sightings import REFRESH, observe

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
POOL = Range(
    IPv4Address("198.18.1.10"), IPv4Address("198.18.1.99"), IPv4Network("198.18.1.0/24"), "lab"
)
MACS = [f"52:54:00:00:01:{n:02x}" for n in range(10, 20)]


def server(ends: datetime = NOW + timedelta(days=2), renewed: int | None = None) -> ServerSnapshot:
    """Ten active leases, built anew (as every Kea read builds them); one maybe renewed."""
    leases = [
        Lease(
            IPv4Address(int(POOL.first) + i),
            BindingState.ACTIVE,
            mac,
            NOW - timedelta(hours=1),
            ends + (timedelta(hours=1) if i == renewed else timedelta()),
            f"vm-{i}",
        )
        for i, mac in enumerate(MACS)
    ]
    return ServerSnapshot("dhcp1", "kea", ranges=(POOL,), leases=LeaseList(leases))


def inventory(*gone: str) -> InventorySnapshot:
    return InventorySnapshot("hv", "command", frozenset(m for m in MACS if m not in gone))


def test_first_observation_records_every_lease_and_vm() -> None:
    """Without memory (a one-off scan) every active lease with a MAC is recorded."""
    seen, memory = observe(analyse([server()], [inventory()], now=NOW))
    assert len(seen.leases) == 10 and seen.vms == frozenset(MACS)
    assert {v for _s, v in seen.leases} == {Verdict.LIVE}
    assert len(memory.leases["dhcp1"]) == 10 and len(memory.vms) == 10


def test_unchanged_leases_are_left_out_until_refresh() -> None:
    """The next scans record only what changed: a lease renewed, a VM gone (with the last
    scan that saw it, so its lifetime stays exact), then everything again after REFRESH."""
    _, memory = observe(analyse([server()], [inventory()], now=NOW))
    later = NOW + timedelta(minutes=5)
    seen, memory = observe(analyse([server()], [inventory()], now=later), memory)
    assert seen.leases == () and seen.vms == frozenset() and seen.vms_last_seen == ()

    renewed = NOW + timedelta(minutes=10)
    seen, memory = observe(analyse([server(renewed=3)], [inventory()], now=renewed), memory)
    assert [(str(s.ip), v) for s, v in seen.leases] == [("198.18.1.13", Verdict.LIVE)]

    gone = NOW + timedelta(minutes=15)
    seen, memory = observe(analyse([server(renewed=3)], [inventory(MACS[5])], now=gone), memory)
    (only,) = seen.leases
    assert (only[0].mac, only[1], only[0].orphaned_at) == (MACS[5], Verdict.ORPHAN, gone)
    assert seen.vms_last_seen == ((MACS[5], renewed),)

    # Each lease is recorded again between half of REFRESH and REFRESH after it was last.
    due = NOW + REFRESH
    seen, memory = observe(analyse([server(renewed=3)], [inventory(MACS[5])], now=due), memory)
    assert {str(s.ip) for s, _v in seen.leases} >= {
        str(IPv4Address(int(POOL.first) + i)) for i in range(10) if i not in (3, 5)
    }
    assert seen.vms == frozenset(MACS) - {MACS[5]}


def test_an_unreadable_server_keeps_its_memory() -> None:
    """A server that could not be read this time is neither recorded nor forgotten."""
    _, memory = observe(analyse([server()], [inventory()], now=NOW))
    broken = ServerSnapshot("dhcp1", "kea", error="kea server 'dhcp1': down")
    seen, after = observe(analyse([broken], [inventory()], now=NOW), memory)
    assert seen.leases == () and after == memory
