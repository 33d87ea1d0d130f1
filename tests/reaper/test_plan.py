"""Tests for the reaper's safety rules (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address, IPv4Network

from leasewatch.config import ReaperConfig
from leasewatch.core.analysis import analyse
from leasewatch.model import (
    Action,
    BindingState,
    InventorySnapshot,
    Lease,
    LeaseList,
    Range,
    ServerSnapshot,
)
from leasewatch.reaper.plan import plan

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
POOL = Range(
    IPv4Address("198.18.1.202"), IPv4Address("198.18.1.222"), IPv4Network("198.18.1.192/27"), "lab"
)


def orphans(n: int, *, complete: bool = True, starts: datetime | None = None):  # type: ignore[no-untyped-def]
    """An analysis with n orphaned leases (no VM alive but one)."""
    leases = tuple(
        Lease(
            IPv4Address(int(POOL.first) + i),
            BindingState.ACTIVE,
            mac=f"52:54:00:00:00:{i:02x}",
            starts=starts or NOW - timedelta(days=1),
            ends=NOW + timedelta(days=2),
            server="s",
        )
        for i in range(n)
    )
    snap = ServerSnapshot(
        server="s", kind="isc", ranges=(POOL,), leases=LeaseList(leases), complete=complete
    )
    live = InventorySnapshot(source="hv", kind="file", macs=frozenset({"52:54:00:ff:ff:ff"}))
    return analyse(
        [snap],
        [live],
        now=NOW,
        first_missing={f"52:54:00:00:00:{i:02x}": NOW - timedelta(hours=1) for i in range(n)},
    )


def actions(releases) -> list[Action]:  # type: ignore[no-untyped-def]
    """The actions of a plan, in order."""
    return [r.action for r in releases]


def test_releases_orphans_past_grace_up_to_the_cap() -> None:
    """max_per_run caps releases; the rest are kept with a reason."""
    result = plan(orphans(5), ReaperConfig(grace=timedelta(minutes=30), max_per_run=3), NOW, ["s"])
    assert actions(result) == [Action.RELEASE] * 3 + [Action.KEEP] * 2
    assert "max_per_run (3)" in result[-1].reason


def test_grace_keeps_recently_missing_and_young_leases() -> None:
    """Missing for less than grace, or a lease younger than grace: keep."""
    result = plan(orphans(1), ReaperConfig(grace=timedelta(hours=2)), NOW, ["s"])
    assert actions(result) == [Action.KEEP]
    assert "grace is 2h" in result[0].reason
    young = orphans(1, starts=NOW - timedelta(minutes=5))
    result = plan(young, ReaperConfig(grace=timedelta(minutes=30)), NOW, ["s"])
    assert "younger than grace" in result[0].reason


def test_truncated_journal_releases_nothing() -> None:
    """A leases file that ended mid-block is not reaped on."""
    result = plan(orphans(2, complete=False), ReaperConfig(grace=timedelta(0)), NOW, ["s"])
    assert actions(result) == [Action.KEEP, Action.KEEP]
    assert "mid-block" in result[0].reason


def test_protect_and_missing_backend() -> None:
    """Protected MACs and networks, and servers without a backend, are kept."""
    policy = ReaperConfig(
        grace=timedelta(0),
        protect_macs=frozenset({"52:54:00:00:00:00"}),
        protect_networks=(IPv4Network("198.18.1.203/32"),),
    )
    result = plan(orphans(3), policy, NOW, ["s"])
    assert actions(result) == [Action.KEEP, Action.KEEP, Action.RELEASE]
    result = plan(orphans(1), ReaperConfig(grace=timedelta(0)), NOW, [])
    assert "no release backend" in result[0].reason
