"""The paths a user runs (issue 17), each beside dhcpd-pools on the same journal in one run.

On a journal written as of the real clock (the ``leasewatch`` command reads the time itself),
with a command inventory listing 550,000 live MACs (all active leases' MACs but 10,000, which
become orphans, plus MACs of VMs holding no lease, as a CMDB export would):

- ``leasewatch report --format json`` with that inventory;
- ``leasewatch scan`` as cron runs it: a fresh process each time, the state file kept from
  the run before (one untimed run first makes it), dry run;
- ``leasewatch inventory`` alone;
- the daemon's first scan: its peak RSS (VmHWM) when it logs "scan done".

Each is timed under /usr/bin/time like the parse bench; ratios are to dhcpd-pools' median.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.generate import generate

LIVE = 550_000
ORPHANS = 10_000
TARGETS = {  # issue 17: (time, memory) ratios to dhcpd-pools
    "report --format json + inventory": (1.3, 3.0),
    "scan (cron, state kept, dry run)": (1.5, 3.0),
    "daemon first scan": (None, 3.0),
}


def write_inventory(conf: Path, leases: Path, out: Path, now: datetime) -> int:
    """The active leases' MACs but ``ORPHANS``, padded with lease-less VMs to ``LIVE``."""
    from leasewatch.config import ServerConfig
    from leasewatch.leases.isc import IscLeaseSource

    table = IscLeaseSource(ServerConfig("bench", "isc", leases=leases, dhcpd_conf=conf)).read()
    held = [m for m in map(table.leases.mac, table.leases.census(now).active) if m is not None]
    live = held[ORPHANS:LIVE]
    extra = LIVE - len(live)
    live += [f"52:55:00:{n >> 16 & 255:02x}:{n >> 8 & 255:02x}:{n & 255:02x}" for n in range(extra)]
    out.write_text("\n".join(live) + "\n", encoding="ascii")
    return len(held)


def write_config(directory: Path, conf: Path, leases: Path, inventory: Path) -> Path:
    path = directory / "leasewatch.toml"
    path.write_text(
        f"""[[servers]]
name = "bench"
kind = "isc"
leases = "{leases}"
dhcpd_conf = "{conf}"

[[inventory]]
name = "cmdb"
kind = "command"
command = ["cat", "{inventory}"]
timeout = 120

[daemon]
every = "1h"

[state]
path = "{directory / "state.db"}"
""",
        encoding="ascii",
    )
    return path


def daemon_first_scan(config: Path, timeout: float = 600) -> dict[str, float]:
    """Start the daemon, wait for its first "scan done", read its peak RSS, stop it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "leasewatch", "-c", str(config), "daemon"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    started = time.perf_counter()
    try:
        assert proc.stderr is not None
        deadline = started + timeout
        for line in proc.stderr:
            if "scan done" in line:
                wall = time.perf_counter() - started
                status = Path(f"/proc/{proc.pid}/status").read_text()
                hwm = next(int(s.split()[1]) for s in status.splitlines() if s.startswith("VmHWM"))
                return {"wall_s": wall, "peak_rss_mb": hwm / 1024}
            if time.perf_counter() > deadline:
                break
        raise SystemExit(f"the daemon logged no finished scan: {proc.poll()}")
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)


def measure(directory: Path, blocks: int, runs: int) -> dict[str, Any]:
    """Every case on one journal of ``blocks`` blocks; the result for the JSON and table."""
    from bench.__main__ import DHCPD_POOLS, runs_of, versus

    now = datetime.now(UTC)
    gen = generate(directory, blocks, seed=2, now=now)
    inventory = directory / "inventory.txt"
    active = write_inventory(gen.conf, gen.leases, inventory, now)
    config = write_config(directory, gen.conf, gen.leases, inventory)
    lw = [sys.executable, "-m", "leasewatch", "-c", str(config)]
    state = directory / "state.db"
    state.unlink(missing_ok=True)
    subprocess.run([*lw, "scan"], check=True, capture_output=True)  # the state cron keeps
    cases = {
        "dhcpd-pools -f j": [DHCPD_POOLS, "-c", str(gen.conf), "-l", str(gen.leases), "-f", "j"],
        "report --format json + inventory": [*lw, "report", "--format", "json"],
        "scan (cron, state kept, dry run)": [*lw, "scan"],
        "inventory alone": [*lw, "inventory"],
    }
    out: dict[str, Any] = {"blocks": blocks, "active": active, "live_macs": LIVE, "cases": {}}
    for name, argv in cases.items():
        print(f"#   {name} x{runs}", file=sys.stderr, flush=True)
        out["cases"][name] = runs_of(argv, runs, ok=(0, 1, 2))[0]
    print("#   daemon first scan", file=sys.stderr, flush=True)
    state.unlink(missing_ok=True)
    load = os.getloadavg()[0]
    out["cases"]["daemon first scan"] = {
        **daemon_first_scan(config),
        "median_s": None,
        "load_1m": load,
    }
    versus(out["cases"], out["cases"]["dhcpd-pools -f j"])
    gen.leases.unlink()
    return out


def print_result(r: dict[str, Any]) -> None:
    print(
        f"\n(load: the one-minute load average as each case began, on {os.cpu_count()} cores; "
        "leasewatch reads a big journal with two processes only while it leaves a core free; "
        "cpu s: user + system seconds of the process and its children, so above the wall "
        "time when both cores worked; PYTHONUNBUFFERED "
        f"{'set: stdout unbuffered' if os.environ.get('PYTHONUNBUFFERED') else 'unset'})"
    )
    print(
        f"user paths, {r['blocks']} blocks ({r['active']} active leases), command inventory "
        f"of {r['live_macs']} live MACs:"
    )
    print_cases(r["cases"], TARGETS)


def print_cases(
    cases: dict[str, dict[str, Any]], targets: Mapping[str, tuple[float | None, float | None]]
) -> None:
    """One line a case: times, memory, ratios to dhcpd-pools, load, and its target if any."""
    head = (
        f"{'case':<36} {'median s':>9} {'cpu s':>6} {'peak MB':>8} {'t/dp':>6} {'mem/dp':>7} "
        f"{'load':>5} target"
    )
    print(head)
    print("-" * len(head))
    for name, c in cases.items():
        t, m = targets.get(name, (None, None))
        target = " ".join(
            f"{what}<={limit}x {'met' if got <= limit else 'NOT met'}"
            for what, limit, got in (
                ("t", t, c.get("time_vs_dhcpd_pools")),
                ("mem", m, c["rss_vs_dhcpd_pools"]),
            )
            if limit is not None and got is not None
        )
        seconds = "-" if c["median_s"] is None else f"{c['median_s']:.2f}"
        cpu = "-" if c.get("median_cpu_s") is None else f"{c['median_cpu_s']:.2f}"
        ratio = c.get("time_vs_dhcpd_pools")
        print(
            f"{name:<36} {seconds:>9} {cpu:>6} {c['peak_rss_mb']:>8.0f} "
            f"{'-' if ratio is None else f'{ratio:.2f}':>6} {c['rss_vs_dhcpd_pools']:>7.2f} "
            f"{c['load_1m']:>5.1f} {target}"
        )
