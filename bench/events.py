"""One event's scan at fleet scale: a VM undefined, from the event to the release decision.

The daemon's path (``Daemon.on_event``) on a journal like the user-path cases' (bench/usage.py:
the active leases' MACs but 10,000 listed by a command inventory of 550,000 live MACs): one
``Scanner`` kept across scans as the daemon keeps it, a first scan for the baseline
(untimed), then per run one VM holding an active lease leaves the listing and the event's
work is timed: ``Scanner.vanished`` (the event's inventory re-read and compared with its
last read), then ``Scanner.scan(only_macs=..., reuse=...)``: the servers read again (the ISC
journal incrementally), the other inventories read again, the analysis, the plan of the
vanished MAC's lease, state and history written. ``[reaper] grace = "0s"``: nothing waits.
Every second run is timed step by step instead (the same calls, one at a time).
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.generate import generate
from bench.usage import LIVE, write_config, write_inventory

INVENTORY = "cmdb"  # the inventory entry bench/usage.py's config names


def _steps(scanner: Any, state: Any, only: frozenset[str]) -> tuple[dict[str, float], str]:
    """What ``scan`` does, timed call by call."""
    from leasewatch.scan import gc_paused

    out: dict[str, float] = {}
    start = time.perf_counter()
    servers = scanner.read_servers()
    out["servers_s"] = time.perf_counter() - start
    start = time.perf_counter()
    inventories = scanner.read_inventories(reuse=INVENTORY)
    out["inventories_s"] = time.perf_counter() - start
    start = time.perf_counter()
    with gc_paused():
        analysis = scanner._analyse(servers, inventories, state)
    out["analyse_s"] = time.perf_counter() - start
    start = time.perf_counter()
    result = scanner.act(analysis, state, only_macs=only, send_alerts=False)
    out["plan_record_s"] = time.perf_counter() - start
    return out, _decision(result, only)


def _decision(result: Any, only: frozenset[str]) -> str:
    """The plan's word on the vanished MAC's lease, after checking it is the one planned.

    The bench server has no OMAPI key, so the orphan is kept (``keep-no-backend``): every
    read and the analysis are done as for a release, and the plan is pure; only a scan
    that applies would then talk to OMAPI, which a dry run never does."""
    from leasewatch.model import Verdict

    plan = result.plan
    if len(plan) != 1 or plan[0].finding.lease.mac not in only:
        raise SystemExit(f"event scan: expected the vanished MAC's lease alone, got {plan}")
    if plan[0].finding.verdict is not Verdict.ORPHAN:
        raise SystemExit(f"event scan: the vanished MAC's lease is no orphan: {plan[0]}")
    return str(plan[0].code.value)


def measure(directory: Path, blocks: int, runs: int) -> dict[str, Any]:
    """``runs`` events (at least two: one timed whole, one step by step) on a journal of
    ``blocks`` blocks; the result for the JSON and the table."""
    from leasewatch.config import load
    from leasewatch.scan import Scanner
    from leasewatch.state import State

    runs = max(runs, 2)
    now = datetime.now(UTC)
    gen = generate(directory, blocks, seed=3, now=now)
    inventory = directory / "event-inventory.txt"
    write_inventory(gen.conf, gen.leases, inventory, now)
    config = write_config(directory, gen.conf, gen.leases, inventory)
    config.write_text(
        config.read_text().replace("[daemon]", '[reaper]\ngrace = "0s"\n\n[daemon]'),
        encoding="ascii",
    )
    state_path = directory / "event-state.db"
    state_path.unlink(missing_ok=True)
    scanner = Scanner(load(config, {}))
    state = State.open(state_path)
    # the inventory lists the leases' MACs first (write_inventory): these hold a lease
    listed = inventory.read_text(encoding="ascii").splitlines()
    whole: list[float] = []
    vanish: list[float] = []
    steps: list[dict[str, float]] = []
    decision = ""
    try:
        start = time.perf_counter()
        scanner.scan(state, send_alerts=False)  # the daemon's scan before any event
        first = time.perf_counter() - start
        for run in range(runs):
            gone = listed.pop(run * 997)  # a VM holding an active lease is undefined
            inventory.write_text("\n".join(listed) + "\n", encoding="ascii")
            start = time.perf_counter()
            vanished = scanner.vanished(INVENTORY)
            vanish.append(time.perf_counter() - start)
            if vanished != frozenset({gone}):
                raise SystemExit(f"event: expected {gone} gone, got {vanished}")
            if run % 2:
                timed, decision = _steps(scanner, state, vanished)
                steps.append(timed)
                continue
            result = scanner.scan(state, only_macs=vanished, reuse=INVENTORY, send_alerts=False)
            whole.append(time.perf_counter() - start)
            decision = _decision(result, vanished)
    finally:
        state.close()
        gen.leases.unlink()
    out: dict[str, Any] = {
        "blocks": blocks,
        "live_macs": LIVE,
        "first_scan_s": first,
        "runs": runs,
        "median_s": statistics.median(whole),
        "median_vanished_s": statistics.median(vanish),
        "decision": decision,
    }
    for key in steps[0]:
        out[f"median_{key}"] = statistics.median(s[key] for s in steps)
    return out


def print_result(r: dict[str, Any]) -> None:
    print(
        f"\none event's scan (a VM holding a lease undefined -> the plan for that lease), "
        f"{r['blocks']} blocks, {r['live_macs']} live MACs: {r['median_s']:.2f} s "
        f"(median of {(r['runs'] + 1) // 2}; the daemon's first scan {r['first_scan_s']:.2f} s; "
        f"decision {r['decision']})"
    )
    inside = ", ".join(
        f"{key.removeprefix('median_').removesuffix('_s')} {value:.2f}"
        for key, value in r.items()
        if key.startswith("median_") and key != "median_s"
    )
    print(f"  inside, seconds: {inside}")
