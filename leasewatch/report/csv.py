"""``report --format csv``: one row per pool, then (after a blank line) one per orphan.

Values are exact (a hostname keeps its control characters; ``csv`` quotes them).
"""

from __future__ import annotations

import csv
from typing import TextIO

from leasewatch.app.results import Report
from leasewatch.model import Analysis
from leasewatch.report.interface import Output, nothing_to_show

POOL_COLUMNS = ("server", "network", "subnet", "first", "last", "size", "active", "backup",
                "abandoned", "free", "utilization", "level")  # fmt: skip
ORPHAN_COLUMNS = ("server", "network", "ip", "mac", "hostname", "ends", "missing_since")


def render(analysis: Analysis, out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(POOL_COLUMNS)
    for p in analysis.pools:
        writer.writerow(
            (p.server, p.network, p.subnet, p.first, p.last, p.size, p.active, p.backup,
             p.abandoned, p.free, f"{p.utilization:.4f}", p.level.value)
        )  # fmt: skip
    out.write("\n")
    writer.writerow(ORPHAN_COLUMNS)
    for f in analysis.orphans:
        lease = f.lease
        writer.writerow(
            (
                lease.server,
                f.network or "",
                lease.ip,
                lease.mac or "",
                lease.hostname or "",
                lease.ends.isoformat(timespec="seconds") if lease.ends else "never",
                f.missing_since.isoformat(timespec="seconds") if f.missing_since else "",
            )
        )


def report(result: Report, output: Output) -> None:
    if not nothing_to_show(result.analysis, output):
        render(result.analysis, output.out)
