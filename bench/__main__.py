"""``python -m bench [--quick] [--runs N] [--sizes N,...] [--usage-blocks N] [--v6-ias N]``.

Generates journals (bench/generate.py) under a temporary directory, then runs on the same
files: leasewatch (parse + pool counts + analysis, in a fresh process), dhcpd-pools
(``-f j``, the C tool operators use) and isc-dhcp-leases (one run above 100k blocks: it
takes half a minute and 3 GB at 1M). Checks that they agree on active and backup counts per
range, prints a table (median of the runs, min-max, peak RSS from /usr/bin/time, ratios to
dhcpd-pools and isc-dhcp-leases) and writes a JSON file. Then measures an incremental
re-scan after 1,000 appended blocks on the biggest file, the paths a user runs beside
dhcpd-pools (report and cron scan with a 550,000-MAC inventory, the daemon's first scan:
bench/usage.py), one event's scan on the same journal and inventory (bench/events.py), a
dhcpd -6 journal of 100,000 IAs beside ``dhcpd-pools --ip-version=6`` (bench/isc6.py),
orphan matching (bench/orphans.py), paging through 100,000 leases of a real kea-dhcp4
(bench/kea.py), and fifty slow inventories with twenty slow servers read in one scan
(bench/sources.py).
"""

from __future__ import annotations

import argparse
import csv
import gc
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

from bench import events, isc6, kea, orphans, sources, usage
from bench.generate import generate

DHCPD_POOLS = "/usr/bin/dhcpd-pools"
ISC_MANY = 100_000  # above this, isc-dhcp-leases runs once (about 30 s and 3 GB at 1M)


class Timed(NamedTuple):
    """One run measured from outside: wall and CPU seconds (user + system, the process and
    its children: a big journal is read by two), peak RSS in MB, what it printed."""

    wall: float
    cpu: float
    rss_mb: float
    stdout: str


def timed(argv: list[str], ok: tuple[int, ...] = (0,)) -> Timed:
    """Run ``argv`` under /usr/bin/time; an exit status outside ``ok`` stops the bench."""
    with tempfile.NamedTemporaryFile("r") as report:
        start = time.perf_counter()
        done = subprocess.run(
            ["/usr/bin/time", "-f", "%U %S %M", "-o", report.name, *argv],
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - start
        if done.returncode not in ok:
            raise SystemExit(f"{argv[0]} failed ({done.returncode}): {done.stderr.strip()}")
        user, system, rss_kb = report.read().split()[-3:]
    return Timed(wall, float(user) + float(system), int(rss_kb) / 1024, done.stdout)


def runs_of(argv: list[str], runs: int, ok: tuple[int, ...] = (0,)) -> tuple[dict[str, float], str]:
    """``argv`` run ``runs`` times: median wall and CPU seconds, peak RSS, median load as
    each run began; and what the last run printed."""
    walls, cpus, rsss, loads = [], [], [], []
    out = ""
    for _ in range(runs):
        loads.append(os.getloadavg()[0])  # a journal is read by two processes on a spare core
        run = timed(argv, ok)
        walls.append(run.wall)
        cpus.append(run.cpu)
        rsss.append(run.rss_mb)
        out = run.stdout
    summary = {
        "median_s": statistics.median(walls),
        "median_cpu_s": statistics.median(cpus),
        "peak_rss_mb": max(rsss),
        "load_1m": statistics.median(loads),
    }
    return summary, out


def versus(cases: dict[str, dict[str, Any]], base: dict[str, Any]) -> None:
    """Each case's time and memory as ratios to ``base`` (dhcpd-pools')."""
    for case in cases.values():
        if case["median_s"] is not None:
            case["time_vs_dhcpd_pools"] = case["median_s"] / base["median_s"]
        case["rss_vs_dhcpd_pools"] = case["peak_rss_mb"] / base["peak_rss_mb"]


def dhcpd_pools_counts(conf: Path, leases: Path) -> dict[str, list[int]]:
    """dhcpd-pools' active (cur) and backup (bu) per range; its JSON has no backup column."""
    out = subprocess.run(
        [DHCPD_POOLS, "-c", str(conf), "-l", str(leases), "-f", "c"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = list(csv.reader(io.StringIO(out.split("\n\n")[0])))
    head = rows[1]
    counts = {}
    for row in rows[2:]:
        if len(row) == len(head):
            r = dict(zip(head, row, strict=True))
            counts[f"{r['first ip']}-{r['last ip']}"] = [int(r["cur"]), int(r["bu"])]
    return counts


def measure(tool: str, conf: Path, leases: Path, runs: int) -> dict[str, Any]:
    print(f"#   {tool} x{runs}", file=sys.stderr, flush=True)
    walls, cpus, rsss, counts, loads = [], [], [], None, []
    splits: dict[str, list[float]] = {}
    for _ in range(runs):
        loads.append(os.getloadavg()[0])
        if tool == "dhcpd-pools":
            argv = [DHCPD_POOLS, "-c", str(conf), "-l", str(leases), "-f", "j"]
        else:
            argv = [sys.executable, "-m", "bench.worker", tool, str(conf), str(leases)]
        run = timed(argv)
        walls.append(run.wall)
        cpus.append(run.cpu)
        rsss.append(run.rss_mb)
        if tool != "dhcpd-pools":
            data = json.loads(run.stdout)
            counts = data["counts"]
            for key in ("parse_s", "analyse_s"):
                if key in data:
                    splits.setdefault(key, []).append(data[key])
    if tool == "dhcpd-pools":
        counts = dhcpd_pools_counts(conf, leases)
    return {
        "tool": tool,
        "median_s": statistics.median(walls),
        "median_cpu_s": statistics.median(cpus),
        "min_s": min(walls),
        "max_s": max(walls),
        "peak_rss_mb": max(rsss),
        "load_1m": statistics.median(loads),
        "runs": runs,
        "counts": counts,
        **{f"median_{k}": statistics.median(v) for k, v in splits.items()},
    }


def incremental(conf: Path, leases: Path, appended: int = 1000) -> dict[str, float]:
    """Full read, append ``appended`` blocks as dhcpd would, re-read with the same source."""
    import random
    from ipaddress import IPv4Address

    from bench.generate import _block
    from leasewatch.config import ServerConfig
    from leasewatch.leases.isc import IscLeaseSource

    src = IscLeaseSource(ServerConfig("bench", "isc", leases=leases, dhcpd_conf=conf))
    start = time.perf_counter()
    kept = src.read()  # held, as the daemon holds its last scan: the re-read must copy
    full = time.perf_counter() - start
    # The first full GC pass after a full parse walks the new rows once (about 60 ms at
    # 1M) and then stops tracking them; in the daemon it falls between scans, so here too.
    gc.collect()
    rng = random.Random(7)
    first = [s.first for s in kept.ranges]
    with leases.open("a") as f:
        for n in range(appended):
            ip = IPv4Address(int(rng.choice(first)) + rng.randrange(60000))
            f.write(_block(rng, ip, "active", 10**8 + n))
    start = time.perf_counter()
    again = src.read()
    inc = time.perf_counter() - start
    if not src.last_was_incremental:
        raise SystemExit("incremental re-scan fell back to a full parse")
    check = IscLeaseSource(ServerConfig("bench", "isc", leases=leases, dhcpd_conf=conf)).read()
    if check != again:
        raise SystemExit("incremental re-scan differs from a full parse")
    return {"full_s": full, "incremental_s": inc, "ratio": inc / full, "appended": appended}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10k and 100k blocks only")
    parser.add_argument("--sizes", help="comma-separated block counts (default 10k,100k,1M)")
    parser.add_argument("--runs", type=int, default=3, help="runs per tool and size (median)")
    parser.add_argument("--out", type=Path, default=Path("bench/results/results.json"))
    parser.add_argument("--dir", type=Path, help="where to write the files (default: a temp dir)")
    parser.add_argument("--no-kea", action="store_true", help="skip the kea-dhcp4 paging bench")
    parser.add_argument(
        "--v6-ias", type=int, default=100_000, help="IAs in the dhcpd -6 journal (0 skips it)"
    )
    parser.add_argument(
        "--usage-blocks",
        type=int,
        help="journal size for the user-path cases (default: the biggest size; 0 skips them)",
    )
    args = parser.parse_args(argv)
    if shutil.which(DHCPD_POOLS) is None:
        raise SystemExit(f"{DHCPD_POOLS} is missing: apt-get install dhcpd-pools (make bench does)")
    sizes = [10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000]
    if args.sizes:
        sizes = [int(s) for s in args.sizes.split(",")]

    results: dict[str, Any] = {
        "sizes": {},
        "leasewatch": "IscLeaseSource.read() + leasewatch.core.analysis.analyse (full report path)",
    }
    with tempfile.TemporaryDirectory(prefix="leasewatch-bench-") as tmp:
        directory = args.dir or Path(tmp)
        directory.mkdir(parents=True, exist_ok=True)
        rows = []
        for size in sizes:
            gen = generate(directory, size)
            mb = gen.leases.stat().st_size / 2**20
            print(f"# {size} blocks, {mb:.0f} MB: {gen.leases}", file=sys.stderr, flush=True)
            tools = ["dhcpd-pools", "leasewatch", "isc-dhcp-leases"]
            measured = {
                t: measure(
                    t,
                    gen.conf,
                    gen.leases,
                    1 if t == "isc-dhcp-leases" and size > ISC_MANY else args.runs,
                )
                for t in tools
            }
            reference = measured["dhcpd-pools"]["counts"]
            for m in measured.values():
                m["agrees"] = m["counts"] == reference
            base = measured["dhcpd-pools"]
            for tool, m in measured.items():
                m["time_vs_dhcpd_pools"] = m["median_s"] / base["median_s"]
                m["rss_vs_dhcpd_pools"] = m["peak_rss_mb"] / base["peak_rss_mb"]
                if "isc-dhcp-leases" in measured:
                    m["speedup_vs_isc_dhcp_leases"] = (
                        measured["isc-dhcp-leases"]["median_s"] / m["median_s"]
                    )
                rows.append((size, mb, tool, m))
            results["sizes"][str(size)] = {
                "file_mb": mb,
                "tools": {
                    t: {k: v for k, v in m.items() if k != "counts"} for t, m in measured.items()
                },
            }
            if size == sizes[-1]:
                results["incremental"] = incremental(gen.conf, gen.leases)
            gen.leases.unlink()
        usage_blocks = sizes[-1] if args.usage_blocks is None else args.usage_blocks
        if usage_blocks:
            print(f"# user paths on {usage_blocks} blocks", file=sys.stderr, flush=True)
            results["usage"] = usage.measure(directory, usage_blocks, args.runs)
            print(f"# one event's scan on {usage_blocks} blocks", file=sys.stderr, flush=True)
            results["events"] = events.measure(directory, usage_blocks, args.runs)
        if args.v6_ias:
            print(f"# dhcpd -6 journal of {args.v6_ias} IAs", file=sys.stderr, flush=True)
            results["isc6"] = isc6.measure(directory, args.v6_ias, args.runs)
    print("# orphan matching", file=sys.stderr, flush=True)
    results["orphans"] = orphans.measure()
    if not args.no_kea:
        print("# kea-dhcp4 paging", file=sys.stderr, flush=True)
        results["kea"] = kea.measure()
    print("# many slow sources in one scan", file=sys.stderr, flush=True)
    results["sources"] = sources.measure()
    print_table(rows, results.get("incremental"))
    if "usage" in results:
        usage.print_result(results["usage"])
        events.print_result(results["events"])
    if "isc6" in results:
        isc6.print_result(results["isc6"])
    orphans.print_result(results["orphans"])
    if "kea" in results:
        kea.print_result(results["kea"])
    sources.print_result(results["sources"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nresults: {args.out}")
    disagree = [f"{s} {t}" for s, _, t, m in rows if not m["agrees"]]
    if "isc6" in results and not results["isc6"]["agrees"]:
        disagree.append("dhcpd -6 journal")
    if disagree:
        print(f"COUNTS DISAGREE: {', '.join(disagree)}", file=sys.stderr)
        return 1
    return 0


def print_table(
    rows: list[tuple[int, float, str, dict[str, Any]]], inc: dict[str, float] | None
) -> None:
    head = (
        f"{'blocks':>9} {'MB':>5} {'tool':<16} {'median s':>9} {'min-max s':>13} "
        f"{'peak MB':>8} {'t/dp':>6} {'mem/dp':>7} {'vs isc':>7} agree"
    )
    print(head)
    print("-" * len(head))
    for size, mb, tool, m in rows:
        speed = m.get("speedup_vs_isc_dhcp_leases")
        print(
            f"{size:>9} {mb:>5.0f} {tool:<16} {m['median_s']:>9.2f} "
            f"{m['min_s']:>6.2f}-{m['max_s']:<6.2f} {m['peak_rss_mb']:>8.0f} "
            f"{m['time_vs_dhcpd_pools']:>6.2f} {m['rss_vs_dhcpd_pools']:>7.2f} "
            f"{(f'{speed:.1f}x' if speed else '-'):>7} {'yes' if m['agrees'] else 'NO'}"
        )
        if "median_parse_s" in m:
            print(
                f"{'':>32}(inside: parse {m['median_parse_s']:.2f} s, "
                f"analyse {m['median_analyse_s']:.2f} s, rest is interpreter start-up; "
                f"cpu {m['median_cpu_s']:.2f} s; "
                f"load {m['load_1m']:.1f} on {os.cpu_count()} cores)"
            )
    if inc:
        print(
            f"\nincremental re-scan after {inc['appended']:.0f} appended blocks: "
            f"{inc['incremental_s'] * 1000:.0f} ms vs full {inc['full_s']:.2f} s "
            f"({inc['ratio'] * 100:.2f} %)"
        )


if __name__ == "__main__":
    sys.exit(main())
