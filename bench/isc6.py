"""A dhcpd -6 journal (dhcpd6.leases, bench/generate6.py) beside ``dhcpd-pools --ip-version=6``.

Both read the same dhcpd6.conf and journal (100,000 IAs by default) in a fresh process:
leasewatch as the parse bench runs it (bench/worker.py: the snapshot and the analysis),
dhcpd-pools with ``-f j``. They must agree on the active addresses of every range6.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from bench.generate6 import generate6


def _dhcpd_pools_used(out: str) -> dict[str, int]:
    """dhcpd-pools' ``used`` per range6, keyed ``first-last`` as leasewatch names a pool."""
    return {s["range"].replace(" - ", "-"): s["used"] for s in json.loads(out)["subnets"]}


def measure(directory: Path, ias: int, runs: int) -> dict[str, Any]:
    """Both tools ``runs`` times on one journal of ``ias`` IAs: medians, peaks, agreement."""
    from bench.__main__ import DHCPD_POOLS, runs_of, versus

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
        out["tools"][tool], printed = runs_of(command, runs)
        if tool == "leasewatch":
            counts[tool] = {k: v[0] for k, v in json.loads(printed)["counts"].items()}
        else:
            counts[tool] = _dhcpd_pools_used(printed)
    reference = counts["dhcpd-pools -6"]
    ours = counts["leasewatch"]
    out["agrees"] = bool(reference) and {k: ours.get(k) for k in reference} == reference
    versus(out["tools"], out["tools"]["dhcpd-pools -6"])
    gen.leases.unlink()
    return out


def print_result(r: dict[str, Any]) -> None:
    from bench.usage import print_cases

    print(
        f"\ndhcpd -6 journal, {r['ias']} IAs ({r['blocks']} blocks, {r['file_mb']:.0f} MB), "
        "active addresses per range6 "
        + ("agree" if r["agrees"] else "DISAGREE")
        + " (leasewatch: snapshot + analysis in a fresh process):"
    )
    print_cases(r["tools"], {})
