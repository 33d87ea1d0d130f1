"""The analysis matches leases against a MacSet by number in bulk: the same verdicts as
matching MAC strings one by one against a set of strings."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address, IPv4Network

from leasewatch.core.analysis import analyse
from leasewatch.macset import MacSet
from leasewatch.model import (
    BindingState,
    InventorySnapshot,
    Lease,
    LeaseList,
    Range,
    ServerSnapshot,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
POOL = Range(
    IPv4Address("198.18.1.0"), IPv4Address("198.18.4.255"), IPv4Network("198.18.0.0/16"), "lab"
)


def test_bulk_matching_by_number_agrees_with_strings() -> None:
    """Leases with a MAC listed, not listed, or without one: the analysis over
    a MacSet inventory equals the one over the same MACs as a frozenset of strings."""
    rng = random.Random(5)
    leases = []
    listed = set()
    for i in range(1000):
        mac = ":".join(f"{rng.randrange(256):02x}" for _ in range(6))
        if rng.random() < 0.7:
            listed.add(mac)
        shown = None if rng.random() < 0.05 else mac  # sources give MACs as parse_mac does
        leases.append(
            Lease(
                IPv4Address(int(POOL.first) + i),
                BindingState.ACTIVE,
                shown,
                NOW - timedelta(hours=1),
                NOW + timedelta(hours=1),
                f"vm-{i}",
            )
        )
    server = ServerSnapshot("dhcp1", "kea", ranges=(POOL,), leases=LeaseList(leases))
    as_numbers = InventorySnapshot("hv", "command", MacSet(listed))
    as_strings = InventorySnapshot("hv", "command", frozenset(listed))
    bulk = analyse([server], [as_numbers], now=NOW)
    one_by_one = analyse([server], [as_strings], now=NOW)
    assert (bulk.live, bulk.orphans, bulk.unknown) == (
        one_by_one.live, one_by_one.orphans, one_by_one.unknown,
    )  # fmt: skip
    assert bulk.live > 0 and bulk.orphans and bulk.unknown
