"""Orphan matching: 100,000 active leases against 10,000 live VMs, and twice that.

Times ``core.analysis.analyse`` in this process (counting, the orphan rules, building the
findings) on an ISC journal table, with one healthy inventory covering every network. Every
tenth lease's MAC is a live VM; the rest are orphans, the worst case for the findings built.
Doubling both sizes should double the time: the check that matching is linear.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from leasewatch.core.analysis import analyse
from leasewatch.leases.isc import JournalTable, Row
from leasewatch.model import InventorySnapshot, Range, ServerSnapshot
from leasewatch.scan import gc_paused

NOW = datetime(2025, 1, 1, tzinfo=UTC)
BASE = int(IPv4Address("100.64.0.0"))


def _case(leases: int, vms: int) -> tuple[ServerSnapshot, InventorySnapshot]:
    subnets = (leases >> 16) + 1
    ranges = tuple(
        Range(
            IPv4Address(BASE + (i << 16) + 1),
            IPv4Address(BASE + (i << 16) + 65534),
            IPv4Network(f"{IPv4Address(BASE + (i << 16))}/16"),
            f"net{i}",
        )
        for i in range(subnets)
    )
    ends = int(NOW.timestamp()) + 3600
    rows: dict[int, Row] = {}
    macs: list[str] = []
    for n in range(leases):
        mac = f"52:54:00:{n >> 16 & 255:02x}:{n >> 8 & 255:02x}:{n & 255:02x}"
        rows[BASE + (n // 65534 << 16) + n % 65534 + 1] = (ends, ends - 7200, mac.encode(), None)
        if n % (leases // vms) == 0 and len(macs) < vms:
            macs.append(mac)
    server = ServerSnapshot("bench", "isc", ranges=ranges, leases=JournalTable(rows, "bench"))
    return server, InventorySnapshot("hv", "command", frozenset(macs))


def measure(runs: int = 3) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for leases, vms in ((100_000, 10_000), (200_000, 20_000)):
        server, inventory = _case(leases, vms)
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            with gc_paused():
                result = analyse([server], [inventory], now=NOW)
            times.append(time.perf_counter() - start)
        if result.live != vms or len(result.orphans) != leases - vms:
            raise SystemExit(f"orphans: {result.live} live, {len(result.orphans)} orphans")
        out[f"{leases}/{vms}"] = {
            "leases": leases,
            "vms": vms,
            "median_s": statistics.median(times),
            "us_per_lease": statistics.median(times) / leases * 1e6,
        }
    small, big = out.values()
    out["doubling_ratio"] = big["median_s"] / small["median_s"]
    return out


def print_result(r: dict[str, Any]) -> None:
    print()
    for m in r.values():
        if isinstance(m, dict):
            print(
                f"orphan matching, {m['leases']} active leases vs {m['vms']} live VMs: "
                f"{m['median_s']:.2f} s ({m['us_per_lease']:.1f} us per lease)"
            )
    print(f"doubling both sizes takes {r['doubling_ratio']:.2f}x the time (linear: 2x)")


if __name__ == "__main__":
    print_result(measure())
