"""The analysis judges the same with compact MacSet inventories as with frozensets of strings."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address, IPv4Network

from leasewatch.core.analysis import analyse
from leasewatch.macset import MacSet, mac_text
from leasewatch.model import (
    Analysis,
    BindingState,
    InventorySnapshot,
    Lease,
    LeaseList,
    Range,
    ServerSnapshot,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
RANGES = tuple(
    Range(
        IPv4Address(f"198.18.{n}.10"),
        IPv4Address(f"198.18.{n}.250"),
        IPv4Network(f"198.18.{n}.0/24"),
        f"net{n}",
    )
    for n in range(4)
)


def _server(macs: list[str]) -> ServerSnapshot:
    leases = tuple(
        Lease(
            IPv4Address(int(RANGES[i % 4].first) + i // 4),
            BindingState.ACTIVE,
            mac=m,
            ends=NOW + timedelta(hours=1),
            server="dhcp1",
        )
        for i, m in enumerate(macs)
    )
    return ServerSnapshot(server="dhcp1", kind="isc", ranges=RANGES, leases=LeaseList(leases))


Verdicts = tuple[int, int, list[tuple[str, object, str]], list[tuple[str, object, str]]]


def _verdicts(result: Analysis) -> Verdicts:
    return (
        result.live,
        result.unwatched,
        [(str(f.lease.ip), f.verdict, f.reason) for f in result.orphans],
        [(str(f.lease.ip), f.verdict, f.reason) for f in result.unknown],
    )


def test_macset_and_frozenset_inventories_judge_alike() -> None:
    """Two overlapping inventories (one scoped) over four networks: same live, orphans, unknown."""
    rng = random.Random(5)
    macs = [mac_text(0x525400000000 + rng.randrange(1 << 24)) for _ in range(800)]
    fleet = frozenset(rng.sample(macs, 500))
    lab = frozenset(rng.sample(macs, 200))
    plain = [
        InventorySnapshot("fleet", "command", fleet),
        InventorySnapshot("lab", "libvirt", lab, networks=("net1", "net2")),
    ]
    compact = [dataclasses.replace(inv, macs=MacSet(inv.macs)) for inv in plain]
    server = _server(macs)
    expected = _verdicts(analyse([server], plain, now=NOW))
    assert _verdicts(analyse([server], compact, now=NOW)) == expected
    assert expected[0] > 0 and expected[2]  # both live leases and orphans were judged
