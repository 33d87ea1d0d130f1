"""One measured run in a fresh process: ``python -m bench.worker TOOL CONF LEASES``.

Prints one JSON line: per-range counts ``{"first-last": [active, backup]}`` and the time
spent inside the process. The parent measures wall time and peak RSS from outside.
"""

from __future__ import annotations

import json
import sys
import time
from bisect import bisect_right
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from bench.generate import NOW
from leasewatch.leases import dhcpd_conf
from leasewatch.model import Range

SPLIT: dict[str, float] = {}


def count_ranges(
    ranges: Iterable[Range], current: Iterable[tuple[int, str]]
) -> dict[str, list[int]]:
    """Active and backup per range, for isc-dhcp-leases' blocks (leasewatch uses its core)."""
    ordered = sorted(ranges, key=lambda r: int(r.first))
    firsts = [int(r.first) for r in ordered]
    lasts = [int(r.last) for r in ordered]
    counts = [[0, 0] for _ in ordered]
    for ip, state in current:
        slot = 0 if state == "active" else 1 if state == "backup" else -1
        if slot < 0:
            continue
        i = bisect_right(firsts, ip) - 1
        if i >= 0 and ip <= lasts[i]:
            counts[i][slot] += 1
    return {r.label: c for r, c in zip(ordered, counts, strict=True)}


def leasewatch(conf: Path, leases: Path, now: datetime) -> dict[str, list[int]]:
    """The full report path: parse (leasewatch.leases.isc) + core.analysis.analyse."""
    from leasewatch.config import ServerConfig
    from leasewatch.core.analysis import analyse
    from leasewatch.leases.isc import IscLeaseSource
    from leasewatch.scan import gc_paused

    start = time.perf_counter()
    snap = IscLeaseSource(ServerConfig("bench", "isc", leases=leases, dhcpd_conf=conf)).read()
    parsed = time.perf_counter()
    with gc_paused():  # as Scanner.analyse runs it
        analysis = analyse([snap], [], now=now)
    SPLIT.update(parse_s=parsed - start, analyse_s=time.perf_counter() - parsed)
    return {f"{p.first}-{p.last}": [p.active, p.backup] for p in analysis.pools}


def isc_dhcp_leases(conf: Path, leases: Path, now: datetime) -> dict[str, list[int]]:
    import isc_dhcp_leases as lib

    current = {}
    for block in lib.IscDhcpLeases(str(leases)).get(include_backups=True):
        current[block.ip] = block  # the journal: a later block replaces an earlier one
    ranges = dhcpd_conf.parse(conf).ranges
    return count_ranges(
        ranges,
        (
            (
                int.from_bytes(bytes(int(o) for o in ip.split("."))),
                "active" if b.active and (b.end is None or b.end > now) else b.binding_state,
            )
            for ip, b in current.items()
        ),
    )


def main(argv: list[str]) -> int:
    tool, conf, leases = argv
    start = time.perf_counter()
    run = {"leasewatch": leasewatch, "isc-dhcp-leases": isc_dhcp_leases}[tool]
    counts = run(Path(conf), Path(leases), NOW)
    print(json.dumps({"counts": counts, "inside": time.perf_counter() - start, **SPLIT}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
