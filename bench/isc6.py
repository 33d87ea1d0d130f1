"""A dhcpd -6 journal (dhcpd6.leases, bench/generate6.py) beside ``dhcpd-pools --ip-version=6``.

Both read the same dhcpd6.conf and journal (100,000 IAs by default) in a fresh process:
leasewatch as the parse bench runs it (bench/worker.py: the snapshot and the analysis),
dhcpd-pools with ``-f j``. They must agree on the active addresses of every range6.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any

from bench.generate6 import generate6


def _dhcpd_pools_used(out: str) -> dict[str, int]:
    """dhcpd-pools' ``used`` per range6, keyed ``first-last`` as leasewatch names a pool."""
    return {s["range"].replace(" - ", "-"): s["used"] for s in json.loads(out)["subnets"]}


def measure(directory: Path, ias: int, runs: int) -> dict[str, Any]:
    """Both tools ``runs`` times on one journal of ``ias`` IAs: medians, peaks, agreement."""
    from bench.__main__ import DHCPD_POOLS, timed

    gen = generate6(directory, ias)
    argv = {
        "dhcpd-pools -6": [
            DHCPD_POOLS,
            "--ip-version=6",
            "-c",
            str(gen.conf),
            "-l",
            str(gen.leases),
        ],
        "leasewatch": [
            sys.executable,
            "-m",
            "bench.worker",
            "leasewatch",
            str(gen.conf),
            str(gen.leases),
        ],
    }
    argv["dhcpd-pools -6"] += ["-f", "j"]
    out: dict[str, Any] = {
        "ias": ias,
        "blocks": gen.blocks,
        "file_mb": gen.leases.stat().st_size / 2**20,
        "tools": {},
    }
    counts: dict[str, dict[str, int]] = {}
    for tool, command in argv.items():
        print(f"#   {tool} x{runs}", file=sys.stderr, flush=True)
        walls, cpus, rsss, loads = [], [], [], []
        for _ in range(runs):
            loads.append(os.getloadavg()[0])
            run = timed(command)
            walls.append(run.wall)
            cpus.append(run.cpu)
            rsss.append(run.rss_mb)
            if tool == "leasewatch":
                theirs = json.loads(run.stdout)["counts"]
                counts[tool] = {k: v[0] for k, v in theirs.items()}
            else:
                counts[tool] = _dhcpd_pools_used(run.stdout)
        out["tools"][tool] = {
            "median_s": statistics.median(walls),
            "median_cpu_s": statistics.median(cpus),
            "peak_rss_mb": max(rsss),
            "load_1m": statistics.median(loads),
        }
    reference = counts["dhcpd-pools -6"]
    ours = counts["leasewatch"]
    out["agrees"] = bool(reference) and {k: ours.get(k) for k in reference} == reference
    base = out["tools"]["dhcpd-pools -6"]
    for tool in out["tools"].values():
        tool["time_vs_dhcpd_pools"] = tool["median_s"] / base["median_s"]
        tool["rss_vs_dhcpd_pools"] = tool["peak_rss_mb"] / base["peak_rss_mb"]
    gen.leases.unlink()
    return out


def print_result(r: dict[str, Any]) -> None:
    print(
        f"\ndhcpd -6 journal, {r['ias']} IAs ({r['blocks']} blocks, {r['file_mb']:.0f} MB), "
        "active addresses per range6 "
        + ("agree" if r["agrees"] else "DISAGREE")
        + " (leasewatch: snapshot + analysis in a fresh process):"
    )
    head = (
        f"{'tool':<16} {'median s':>9} {'cpu s':>6} {'peak MB':>8} {'t/dp':>6} {'mem/dp':>7} "
        f"{'load':>5}"
    )
    print(head)
    print("-" * len(head))
    for tool, t in r["tools"].items():
        print(
            f"{tool:<16} {t['median_s']:>9.2f} {t['median_cpu_s']:>6.2f} {t['peak_rss_mb']:>8.0f} "
            f"{t['time_vs_dhcpd_pools']:>6.2f} {t['rss_vs_dhcpd_pools']:>7.2f} {t['load_1m']:>5.1f}"
        )
