"""``report`` in a terminal: networks and ranges with a utilization bar, then the orphans."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from leasewatch.core.forecast import Forecasts, dry_in
from leasewatch.model import Analysis, Finding, Level, Release, format_duration

LEVEL_STYLE = {Level.OK: "green", Level.WARN: "yellow", Level.CRITICAL: "bold red"}
BAR_WIDTH = 20


def bar(utilization: float, level: Level, width: int = BAR_WIDTH) -> Text:
    """A utilization bar coloured by level: ``██████████░░░░  52%``."""
    filled = round(min(max(utilization, 0.0), 1.0) * width)
    text = Text()
    text.append("█" * filled, style=LEVEL_STYLE[level])
    text.append("░" * (width - filled), style="dim")
    text.append(f" {utilization:>4.0%}", style=LEVEL_STYLE[level])
    return text


def pools_table(analysis: Analysis, forecasts: Forecasts | None = None) -> Table:
    servers = {n.server for n in analysis.networks}
    table = Table(title="DHCP pools", title_justify="left", expand=False)
    if len(servers) > 1:
        table.add_column("server")
    table.add_column("network / range")
    for name in ("size", "active", "backup", "free"):
        table.add_column(name, justify="right")
    table.add_column("utilization")
    if forecasts is not None:
        table.add_column("dry in", justify="right")
    for n in analysis.networks:
        row: list[RenderableType] = [n.server] if len(servers) > 1 else []
        row += [
            Text(n.name, style="bold"),
            str(n.size),
            str(n.active),
            str(n.backup),
            str(n.free),
            bar(n.utilization, n.level),
        ]
        if forecasts is not None:
            row.append(_dry_in(forecasts, n.server, n.name))
        table.add_row(*row)
        if len(n.pools) > 1 or (n.pools and n.pools[0].label != n.name):
            for p in n.pools:
                prow: list[RenderableType] = [""] if len(servers) > 1 else []
                prow += [
                    Text(f"  {p.label}", style="dim"),
                    str(p.size),
                    str(p.active),
                    str(p.backup),
                    str(p.free),
                    bar(p.utilization, p.level),
                ]
                if forecasts is not None:
                    prow.append("")
                table.add_row(*prow)
    return table


def _dry_in(forecasts: Forecasts, server: str, network: str) -> Text:
    """The "dry in" cell: red within 6 h, yellow within a day, dim when unknown or flat."""
    f = forecasts.get((server, network))
    text = dry_in(f)
    if f is None or f.full_in is None or f.confidence in ("none", "low"):
        return Text(text, style="dim")
    hours = f.full_in.total_seconds() / 3600
    return Text(text, style="bold red" if hours <= 6 else "yellow" if hours <= 24 else "")


def _ends(t: datetime | None, now: datetime) -> str:
    if t is None:
        return "never"
    left = t - now
    stamp = t.strftime("%Y-%m-%d %H:%M")
    return f"{stamp} (in {format_duration(left)})" if left.total_seconds() > 0 else stamp


def findings_table(title: str, findings: Sequence[Finding], now: datetime, style: str) -> Table:
    table = Table(title=title, title_justify="left", title_style=style)
    for name in ("ip", "mac", "hostname", "lease ends", "server", "why"):
        table.add_column(name)
    for f in findings:
        lease = f.lease
        table.add_row(
            str(lease.ip),
            lease.mac or "-",
            lease.hostname or "-",
            _ends(lease.ends, now),
            lease.server,
            f.reason,
        )
    return table


def plan_table(releases: Sequence[Release], outcomes: dict[str, str]) -> Table:
    table = Table(title="Reaper", title_justify="left")
    for name in ("ip", "mac", "server", "action", "why"):
        table.add_column(name)
    for r in releases:
        lease = r.finding.lease
        key = f"{lease.server}/{lease.ip}"
        action = outcomes.get(key, r.action.value)
        style = {"released": "green", "dry-run": "cyan", "keep": "dim"}.get(action, "yellow")
        table.add_row(
            str(lease.ip), lease.mac or "-", lease.server, Text(action, style=style), r.reason
        )
    return table


def renderables(analysis: Analysis, forecasts: Forecasts | None = None) -> list[RenderableType]:
    out: list[RenderableType] = [pools_table(analysis, forecasts)]
    now = analysis.now
    if analysis.orphans:
        out.append(
            findings_table(
                f"Orphaned leases: {len(analysis.orphans)} (no live VM has these MACs)",
                analysis.orphans,
                now,
                "bold red",
            )
        )
    else:
        out.append(Text("No orphaned leases.", style="green"))
    if analysis.unknown:
        out.append(
            findings_table(
                f"Leases that cannot be judged: {len(analysis.unknown)} (never released)",
                analysis.unknown,
                now,
                "yellow",
            )
        )
    if analysis.unwatched:
        out.append(
            Text(
                f"{analysis.unwatched} active leases in networks no inventory covers "
                "(counted, not judged)",
                style="dim",
            )
        )
    for inv in analysis.inventories:
        if inv.healthy:
            out.append(Text(f"inventory {inv.source}: {len(inv.macs)} VMs", style="dim"))
    for message in analysis.warnings:
        out.append(Text(f"warning: {message}", style="yellow"))
    for message in analysis.errors:
        out.append(Text(f"error: {message}", style="bold red"))
    return out


def render(analysis: Analysis, console: Console, forecasts: Forecasts | None = None) -> None:
    console.print(Group(*renderables(analysis, forecasts)))
