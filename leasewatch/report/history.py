"""``leasewatch history``: utilization over time per network, as sparklines in the terminal.

The time range is cut into equal buckets; each bucket shows the *highest* utilization any
scan in it saw (a pool runs dry at its peaks, not its averages), as one of ``▁▂▃▄▅▆▇█``
coloured by the level that peak reached. A bucket with no scan is a blank.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from rich.console import Console
from rich.table import Table
from rich.text import Text

from leasewatch.app.results import Advising
from leasewatch.app.results import History as HistoryResult
from leasewatch.core.advice import Advice
from leasewatch.core.forecast import Sample, free_in
from leasewatch.model import Level, Thresholds, format_duration
from leasewatch.report.interface import Output
from leasewatch.report.table import LEVEL_STYLE, fits, new_table

BLOCKS = "▁▂▃▄▅▆▇█"


@dataclass(frozen=True, slots=True)
class Series:
    """One network's bucketed peaks (None: no scan in that bucket) and its min/max/now."""

    server: str
    network: str
    peaks: tuple[float | None, ...]
    levels: tuple[Level | None, ...]
    low: float
    high: float
    last: float
    last_level: Level
    scans: int


def series(
    samples: Sequence[Sample],
    *,
    start: datetime,
    end: datetime,
    buckets: int,
    thresholds_for: Callable[[str], Thresholds] = lambda _n: Thresholds(),
) -> list[Series]:
    """Bucket every (server, network)'s samples between ``start`` and ``end`` (inclusive)."""
    span = max((end - start).total_seconds(), 1.0)
    groups: dict[tuple[str, str], list[Sample]] = {}
    for s in samples:
        if start <= s.at <= end:
            groups.setdefault((s.server, s.network), []).append(s)
    out = []
    for (server, network), rows in sorted(groups.items()):
        rows.sort(key=lambda s: s.at)
        t = thresholds_for(network)
        peaks: list[float | None] = [None] * buckets
        levels: list[Level | None] = [None] * buckets
        for s in rows:
            # multiply before dividing: scans on bucket edges land in the later bucket exactly
            i = min(int((s.at - start).total_seconds() * buckets / span), buckets - 1)
            u = _ratio(s)
            current = peaks[i]
            if current is None or u > current:
                peaks[i] = u
                levels[i] = t.level(s.size, s.active, free_in(s))
        ratios = [_ratio(s) for s in rows]
        last = rows[-1]
        out.append(
            Series(
                server=server,
                network=network,
                peaks=tuple(peaks),
                levels=tuple(levels),
                low=min(ratios),
                high=max(ratios),
                last=ratios[-1],
                last_level=t.level(last.size, last.active, free_in(last)),
                scans=len(rows),
            )
        )
    return out


def _ratio(s: Sample) -> float:
    return s.active / s.size if s.size else 0.0


def sparkline(peaks: Sequence[float | None], levels: Sequence[Level | None]) -> Text:
    """``▁▂▃▅▇█`` with each block coloured by its level; a gap for an empty bucket."""
    text = Text()
    for peak, level in zip(peaks, levels, strict=True):
        if peak is None or level is None:
            text.append(" ")
            continue
        index = min(int(min(max(peak, 0.0), 1.0) * len(BLOCKS)), len(BLOCKS) - 1)
        text.append(BLOCKS[index], style=LEVEL_STYLE[level])
    return text


def table(rows: Sequence[Series], *, start: datetime, end: datetime) -> Table:
    """One line per network: the sparkline, then min, max and now (names never cut)."""
    servers = {r.server for r in rows}
    t = new_table(
        f"Utilization, last {format_duration(end - start)} "
        f"({start:%Y-%m-%d %H:%M} to {end:%H:%M} UTC)"
    )
    if len(servers) > 1:
        t.add_column("server", no_wrap=True)
    t.add_column("network", no_wrap=True)
    t.add_column("peak per bucket (▁ 0 % .. █ 100 %)", no_wrap=True)
    for name in ("min", "max", "now"):
        t.add_column(name, justify="right", no_wrap=True)
    for r in rows:
        cells: list[str | Text] = [r.server] if len(servers) > 1 else []
        cells += [
            Text(r.network, style="bold"),
            sparkline(r.peaks, r.levels),
            f"{r.low:.0%}",
            f"{r.high:.0%}",
            Text(f"{r.last:.0%}", style=LEVEL_STYLE[r.last_level]),
        ]
        t.add_row(*cells)
    return t


def render(
    samples: Sequence[Sample],
    console: Console,
    *,
    now: datetime,
    since: timedelta,
    buckets: int,
    thresholds_for: Callable[[str], Thresholds] = lambda _n: Thresholds(),
    width: int | None = None,
) -> list[Series]:
    """Print the history table (or say there is none); return the series drawn. When the
    sparklines do not fit ``width`` next to the names, they get fewer, wider buckets."""
    start = now - since
    rows = series(samples, start=start, end=now, buckets=buckets, thresholds_for=thresholds_for)
    if not rows:
        console.print(
            Text(
                f"No history in the last {format_duration(since)}: run `leasewatch scan` "
                "(or the daemon) to record some.",
                style="yellow",
            )
        )
        return rows
    shown = table(rows, start=start, end=now)
    while width is not None and buckets > 8 and not fits(shown, console, width):
        buckets = max(buckets * 3 // 4, 8)
        rows = series(samples, start=start, end=now, buckets=buckets, thresholds_for=thresholds_for)
        shown = table(rows, start=start, end=now)
    console.print(shown)
    return rows


def _d(t: timedelta | None) -> str:
    return "-" if t is None else format_duration(t)


# advise's columns, most important first: the later ones give way on a narrow console
# (the lines under the table say the same in words)
_ADVICE_COLUMNS = ("network", "VMs", "orphans", "lease now", "advice", "lifetime p50 / p90",
                   "outlived p50 / max", "freed peak / mean")  # fmt: skip


def advice_table(advice: Sequence[Advice], console: Console, width: int | None = None) -> None:
    """``leasewatch advise``: the evidence per network, then the lines to use and why."""
    servers = {a.server for a in advice}
    for keep in range(len(_ADVICE_COLUMNS), 4, -1):
        names = (("server",) if len(servers) > 1 else ()) + _ADVICE_COLUMNS[:keep]
        t = new_table("VM churn and lease time (advice only: nothing is changed)")
        for name in names:
            t.add_column(name, justify="left" if name in ("server", "network") else "right",
                         no_wrap=True)  # fmt: skip
        for a in advice:
            cells: dict[str, str | Text] = {
                "server": a.server,
                "network": Text(a.network, style="bold"),
                "VMs": str(a.vms),
                "lifetime p50 / p90": f"{_d(a.lifetime_median)} / {_d(a.lifetime_p90)}",
                "orphans": str(a.orphans),
                "outlived p50 / max": f"{_d(a.outlived_median)} / {_d(a.outlived_max)}",
                "lease now": _d(a.lease_time),
                "advice": Text(_d(a.recommended), style="bold green")
                if a.recommended
                else Text("-"),
                "freed peak / mean": f"{a.freed_peak} / {a.freed_mean:.1f}"
                if a.recommended
                else "-",
            }
            t.add_row(*(cells[n] for n in names))
        if width is None or fits(t, console, width):
            break
    console.print(t)
    for a in advice:
        console.print(Text(f"{a.server} {a.network}: {a.note}", style="dim"))
        if a.recommended is not None:
            console.print(
                f"  with {format_duration(a.recommended)} leases, {a.address_hours:.1f} "
                f"address-hours would have been free over {format_duration(a.window)}, "
                f"up to {a.freed_peak} addresses at once:"
            )
            for line in a.settings():
                console.print(Text(f"    {line}", style="bold"))


def history(result: HistoryResult, output: Output) -> None:
    """``leasewatch history``."""
    render(
        result.samples,
        output.console,
        now=result.now,
        since=result.since,
        buckets=result.buckets,
        thresholds_for=result.thresholds_for,
        width=output.width,
    )


def advising(result: Advising, output: Output) -> None:
    """``leasewatch advise`` (the table, then the lines to use and why)."""
    advice_table(result.advice, output.console, output.width)
    if not result.advice:
        output.error(
            "no leases recorded in the window: run `leasewatch scan` (or the daemon) "
            "for a while first"
        )
