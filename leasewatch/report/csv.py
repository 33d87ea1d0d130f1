"""``report --format csv``: one row per pool, then (after a blank line) one per orphan.

Values are exact (a hostname keeps its control characters; ``csv`` quotes them).
"""

from __future__ import annotations

import csv
from typing import TextIO

from leasewatch.app.results import Report
from leasewatch.model import Analysis
from leasewatch.report.interface import Output, nothing_to_show

# sizes are exact integers (a /64 pool: 18446744073709551616); kind and delegated_len came
# with IPv6, last so that readers by position keep working
POOL_COLUMNS = ("server", "network", "subnet", "first", "last", "size", "active", "backup",
                "abandoned", "free", "utilization", "level", "kind", "delegated_len",
                "pair")  # fmt: skip
ORPHAN_COLUMNS = ("server", "network", "ip", "mac", "hostname", "ends", "missing_since")


def render(analysis: Analysis, out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(POOL_COLUMNS)
    paired = {pair.name for pair in analysis.pairs}
    for p in analysis.pools:
        writer.writerow(
            (p.server, p.network, p.subnet, p.first, p.last, p.size, p.active, p.backup,
             p.abandoned, p.free, f"{p.utilization:.4f}", p.level.value, p.kind.value,
             "" if p.delegated_len is None else p.delegated_len,
             p.server if p.server in paired else "")
        )  # fmt: skip
    out.write("\n")
    writer.writerow(ORPHAN_COLUMNS)
    for f in analysis.orphans:
        lease = f.lease
        writer.writerow(
            (
                lease.server,
                f.network or "",
                lease.label,
                lease.mac or "",
                lease.hostname or "",
                lease.ends.isoformat(timespec="seconds") if lease.ends else "never",
                f.missing_since.isoformat(timespec="seconds") if f.missing_since else "",
            )
        )


def report(result: Report, output: Output) -> None:
    if not nothing_to_show(result.analysis, output):
        render(result.analysis, output.out)
