"""Many slow sources in one scan (issue 22): fifty inventories and twenty servers that each
take a second, read by one ``Scanner.analyse`` in about the time of one.

The inventories are real ``command`` sources (``sleep 1``, then one MAC). The servers are
real ISC sources, each over its own small dhcpd.conf and journal, behind a one-second pause
that stands for a slow link or mount: the one thing made up, as a dhcpd cannot be asked to
answer slowly. One after another they would take 70 s; the target is under 3 s.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from leasewatch.config import Config, InventoryConfig, ServerConfig
from leasewatch.leases.isc import IscLeaseSource
from leasewatch.model import ServerSnapshot
from leasewatch.scan import Scanner
from leasewatch.state import State

INVENTORIES = 50
SERVERS = 20
EACH = 1.0  # seconds every source takes
TARGET = 3.0  # seconds for the whole read (issue 22: "in about the time of one")

LEASE = """\
lease 198.18.{n}.10 {{
  starts 4 2024/05/02 10:00:00;
  ends 4 2099/05/02 10:00:00;
  binding state active;
  next binding state free;
  hardware ethernet 52:54:00:00:02:{n:02x};
}}
"""


class SlowIsc(IscLeaseSource):
    """An ISC source on a slow mount: a real read after a one-second pause."""

    def read(self) -> ServerSnapshot:
        time.sleep(EACH)
        return super().read()


def _config(directory: Path) -> Config:
    servers = []
    for n in range(SERVERS):
        conf, leases = directory / f"dhcpd{n}.conf", directory / f"dhcpd{n}.leases"
        conf.write_text(
            f"subnet 198.18.{n}.0 netmask 255.255.255.0 {{ range 198.18.{n}.10 198.18.{n}.200; }}\n"
        )
        leases.write_text(LEASE.format(n=n))
        servers.append(ServerConfig(f"dhcp{n}", "isc", leases=leases, dhcpd_conf=conf))
    inventories = [
        InventoryConfig(
            name=f"hv{n}",
            kind="command",
            command=("sh", "-c", f"sleep {EACH:g}; echo 52:54:00:00:01:{n:02x}"),
            timeout=10.0,
        )
        for n in range(INVENTORIES)
    ]
    return Config(
        path=directory / "leasewatch.toml", servers=tuple(servers), inventory=tuple(inventories)
    )


def measure(runs: int = 3) -> dict[str, Any]:
    """Time ``runs`` reads of every source by a fresh scanner; each must find all healthy."""
    walls = []
    with tempfile.TemporaryDirectory(prefix="leasewatch-bench-sources-") as tmp:
        directory = Path(tmp)
        config = _config(directory)
        for _ in range(runs):
            scanner = Scanner(config, lease_source=SlowIsc)
            state = State.open(directory / "state.db")
            try:
                start = time.perf_counter()
                analysis = scanner.analyse(state)
                walls.append(time.perf_counter() - start)
            finally:
                state.close()
            bad = [s.server for s in analysis.servers if s.error] + [
                i.source for i in analysis.inventories if not i.healthy
            ]
            if bad or len(analysis.servers) != SERVERS:
                raise SystemExit(f"slow sources: not all read: {', '.join(bad)}")
    return {
        "inventories": INVENTORIES,
        "servers": SERVERS,
        "each_s": EACH,
        "one_after_another_s": (INVENTORIES + SERVERS) * EACH,
        "median_s": statistics.median(walls),
        "max_s": max(walls),
        "runs": runs,
        "target_s": TARGET,
        "within_target": max(walls) < TARGET,
    }


def print_result(r: dict[str, Any]) -> None:
    print(
        f"\n{r['inventories']} inventories and {r['servers']} servers of {r['each_s']:g} s each,"
        f" one scan: {r['median_s']:.2f} s median, {r['max_s']:.2f} s max"
        f" (one after another: {r['one_after_another_s']:.0f} s; target under {r['target_s']:g} s:"
        f" {'met' if r['within_target'] else 'MISSED'})"
    )


if __name__ == "__main__":
    print_result(measure())
