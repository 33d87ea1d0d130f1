"""``report``/``scan`` in a terminal: networks and ranges, then orphans and the reaper's plan.

Laid out for the console's width, never narrower than 80 columns: addresses, MACs, ranges
and server names are never cut or folded (``no_wrap``); what matters less gives way first:
the utilization bar becomes a percentage below 100 columns, hostnames and reasons fold, then
drop. Values a DHCP client chose (hostnames) pass through ``printable``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from rich import box
from rich.cells import cell_len
from rich.console import Console, Group, RenderableType
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from leasewatch.app.results import Report, Scan
from leasewatch.core.forecast import MIN_COVERAGE, MIN_SAMPLES, Forecast, Forecasts
from leasewatch.model import Analysis, Finding, Level, Outcome, Pair, Release, figure
from leasewatch.printable import maybe, printable
from leasewatch.report.interface import Output, nothing_to_show

LEVEL_STYLE = {Level.OK: "green", Level.WARN: "yellow", Level.CRITICAL: "bold red"}
BAR_WIDTH = 20
BAR_FROM = 100  # columns: narrower consoles show the utilization as a number
ROWS = 20  # findings and plan lines shown before "... N more"
# the narrowest a folding column may get before it is dropped instead: narrower, a reason
# reads one word per line
MIN_FOLD = {"hostname": 12, "why": 18, "reason": 18, "detail": 18}


def new_table(title: str | None = None, **kwargs: object) -> Table:
    """The house style: a title on the left, a rule under the header, no side borders."""
    return Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        padding=0,
        **kwargs,  # type: ignore[arg-type]
    )


def pin(table: Table) -> Table:
    """Give every no-wrap column the width of its widest cell, so rich never cuts one: it
    measures text by its longest word and would otherwise shrink a column with an ellipsis."""
    for column in table.columns:
        if column.no_wrap:
            cells = [column.header, *column.cells]
            column.min_width = max(
                (c.cell_len if isinstance(c, Text) else cell_len(c) if isinstance(c, str) else 0)
                for c in cells
            )
    return table


def fits(table: Table, console: Console, width: int) -> bool:
    """Whether ``table`` fits ``width`` columns without cutting a no-wrap column."""
    pin(table)
    # measured as if the console were unbounded: rich clamps a measurement to the width asked
    options = console.options.update_width(10_000)
    measured = Measurement.get(console, options, table)
    return measured.minimum <= width


def humane(delta: timedelta) -> str:
    """A duration a person reads at a glance: ``45m``, ``2h10m``, ``47h``, ``3d``, ``3d4h``."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    if minutes < 48 * 60:
        hours, minutes = divmod(minutes, 60)
        if hours:
            return f"{hours}h{minutes}m" if minutes else f"{hours}h"
        return f"{minutes}m" if minutes else "<1m"
    days, minutes = divmod(minutes, 1440)
    hours = minutes // 60
    return f"{days}d{hours}h" if hours and days < 10 else f"{days}d"


def plural(count: int, word: str, words: str | None = None) -> str:
    """``1 lease``, ``2 leases`` (``words`` when the plural is not ``word + "s"``)."""
    return f"{count} {word if count == 1 else words or word + 's'}"


def bar(utilization: float, level: Level, width: int = BAR_WIDTH) -> Text:
    """A utilization bar coloured by level: ``██████████░░░░  52%``."""
    filled = round(min(max(utilization, 0.0), 1.0) * width)
    text = Text()
    text.append("█" * filled, style=LEVEL_STYLE[level])
    text.append("░" * (width - filled), style="dim")
    text.append(f" {utilization:>4.0%}", style=LEVEL_STYLE[level])
    return text


def _percent(utilization: float, level: Level) -> Text:
    return Text(f"{utilization:.0%}", style=LEVEL_STYLE[level])


def dry_in(f: Forecast | None) -> Text:
    """The "dry in" cell: ``full``, ``3d``, ``2h10m``, ``~9h`` (noisy), ``-`` (not filling),
    ``?`` (too few scans: the footnote says what is needed); red within 6 h."""
    if f is not None and f.full_in is not None and f.full_in <= timedelta(0):
        return Text("full", style="bold red")
    if f is None or f.confidence == "none":
        return Text("?", style="dim")
    if f.full_in is None:
        return Text("-", style="dim")
    text = humane(f.full_in)
    if f.confidence == "low":
        return Text(f"~{text}", style="dim")
    hours = f.full_in.total_seconds() / 3600
    return Text(text, style="bold red" if hours <= 6 else "yellow" if hours <= 24 else "")


def unknown_footnote(window: timedelta | None) -> Text:
    span = f" spanning {humane(window * MIN_COVERAGE)}" if window is not None else ""
    return Text(
        f"dry in ?: needs {MIN_SAMPLES} scans{span} in the forecast window "
        "(run `leasewatch scan` or the daemon)",
        style="dim",
    )


def pools_table(
    analysis: Analysis, forecasts: Forecasts | None, console: Console, width: int
) -> Table:
    """Networks with their ranges; the widest layout that fits ``width``."""
    for use_bar, with_dry in ((True, True), (False, True), (False, False)):
        if use_bar and width < BAR_FROM:
            continue
        table = _pools_table(analysis, forecasts if with_dry else None, use_bar)
        if fits(table, console, width):
            return table
    return table


def _pools_table(analysis: Analysis, forecasts: Forecasts | None, use_bar: bool) -> Table:
    servers = {n.server for n in analysis.networks}
    many = len(servers) > 1
    table = new_table("DHCP pools" if many or not servers else f"DHCP pools on {min(servers)}")
    if many:
        table.add_column("server", no_wrap=True)
    table.add_column("network / range", no_wrap=True)
    for name in ("size", "active", "backup", "aband.", "free"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("level", no_wrap=True)
    table.add_column("used" if not use_bar else "utilization", no_wrap=True,
                     justify="left" if use_bar else "right")  # fmt: skip
    if forecasts is not None:
        table.add_column("dry in", justify="right", no_wrap=True)
    show = bar if use_bar else _percent
    for n in analysis.networks:
        row: list[RenderableType] = [n.server] if many else []
        row += [Text(n.name, style="bold"), figure(n.size), figure(n.active), figure(n.backup),
                figure(n.abandoned), figure(n.free), Text(n.level.value, LEVEL_STYLE[n.level]),
                show(n.utilization, n.level)]  # fmt: skip
        if forecasts is not None:
            row.append(dry_in(forecasts.get((n.server, n.name))))
        table.add_row(*row)
        if len(n.pools) > 1 or (n.pools and n.pools[0].label != n.name):
            for p in n.pools:
                prow: list[RenderableType] = [""] if many else []
                prow += [Text(f" {p.label}", style="dim"), figure(p.size), figure(p.active),
                         figure(p.backup), figure(p.abandoned), figure(p.free),
                         Text(p.level.value, LEVEL_STYLE[p.level]),
                         show(p.utilization, p.level)]  # fmt: skip
                if forecasts is not None:
                    prow.append("")
                table.add_row(*prow)
    return table


def pairs_table(pairs: Sequence[Pair]) -> Table:
    """Each pair once, a row per member: its role, its state (and where it was read), or
    why it could not be read."""
    table = new_table("Pairs (pools counted once)")
    for name in ("pair", "mode", "member", "role"):
        table.add_column(name, no_wrap=True)
    table.add_column("state", overflow="fold")
    for pair in pairs:
        for i, m in enumerate(pair.members):
            if m.error is not None:
                state = Text(f"unreadable: {printable(m.error)}", "red")
            elif m.state is None:
                state = Text("-", "dim")
            else:
                style = "green" if m.normal else "yellow" if m.normal is None else "red"
                where = f" ({m.state_from})" if m.state_from else ""
                state = Text(f"{printable(m.state)}{where}", style)
            first = i == 0
            table.add_row(pair.name if first else "", pair.mode.value if first else "",
                          m.server, m.role, state)  # fmt: skip
    return table


def ends(t: datetime | None, now: datetime) -> str:
    if t is None:
        return "never"
    left = t - now
    return f"in {humane(left)}" if left.total_seconds() > 0 else "ended"


def findings_table(
    title: str, findings: Sequence[Finding], now: datetime, console: Console, width: int
) -> Table:
    """Leases with their verdicts; hostname and reason fold, then drop, to fit ``width``.
    The server column only when the leases come from several servers."""
    servers = {f.lease.server for f in findings}
    fixed = ("ip", "mac", "server", "ends") if len(servers) > 1 else ("ip", "mac", "ends")
    if len(servers) == 1:
        title = title.replace(":", f" on {min(servers)}:", 1)
    for columns in (("hostname", "why"), ("why",), ("hostname",), ()):
        table = new_table(title)
        for name in fixed:
            table.add_column(name, no_wrap=True)
        for name in columns:
            table.add_column(name, overflow="fold", min_width=MIN_FOLD[name], ratio=1)
        for f in findings:
            lease = f.lease
            cells = [lease.label, lease.mac or "-", lease.server, ends(lease.ends, now)]
            if len(servers) <= 1:
                del cells[2]
            extra = {"hostname": maybe(lease.hostname), "why": printable(f.reason)}
            table.add_row(*cells, *(extra[c] for c in columns))
        if fits(table, console, width):
            break
    return table


def plan_table(
    releases: Sequence[Release], outcomes: dict[str, str], console: Console, width: int
) -> Table:
    servers = {r.finding.lease.server for r in releases}
    fixed = ("ip", "mac", "server", "action") if len(servers) > 1 else ("ip", "mac", "action")
    title = "Reaper" if len(servers) != 1 else f"Reaper on {min(servers)}"
    for columns in (("hostname", "why"), ("why",), ("hostname",), ()):
        table = new_table(title)
        for name in fixed:
            table.add_column(name, no_wrap=True)
        for name in columns:
            table.add_column(name, overflow="fold", min_width=MIN_FOLD[name], ratio=1)
        for r in releases:
            lease = r.finding.lease
            action = outcomes.get(f"{lease.server}/{lease.ip}", r.action.value)
            style = {"released": "green", "dry-run": "cyan", "keep": "dim"}.get(action, "yellow")
            cells: list[RenderableType] = [lease.label, lease.mac or "-"]
            if len(servers) > 1:
                cells.append(lease.server)
            cells.append(Text(action, style=style))
            extra = {"hostname": maybe(lease.hostname), "why": printable(r.reason)}
            cells += [extra[name] for name in columns]
            table.add_row(*cells)
        if fits(table, console, width):
            break
    return table


def more(shown: int, total: int) -> Text | None:
    """The line under a cut list: ``... 12 more (use --format json or --all)``."""
    if total <= shown:
        return None
    return Text(f"... {total - shown} more (use --format json or --all)", style="dim")


def _listed(
    out: list[RenderableType],
    title: str,
    *,
    findings: Sequence[Finding],
    analysis: Analysis,
    output: Output,
    style: str,
    show_all: bool,
) -> None:
    shown = findings if show_all else findings[:ROWS]
    table = findings_table(title, shown, analysis.now, output.console, output.width)
    table.title_style = style
    out.append(table)
    tail = more(len(shown), len(findings))
    if tail is not None:
        out.append(tail)


def renderables(
    analysis: Analysis,
    forecasts: Forecasts | None,
    output: Output,
    *,
    show_all: bool = False,
    window: timedelta | None = None,
    list_orphans: bool = True,
) -> list[RenderableType]:
    width = output.width
    out: list[RenderableType] = [pools_table(analysis, forecasts, output.console, width)]
    if analysis.pairs:
        out.append(pairs_table(analysis.pairs))
    for pair in analysis.pairs:
        if pair.reason is not None:
            out.append(Text(f"not releasing on {pair.name}: {printable(pair.reason)}", "yellow"))
    if forecasts is not None and any(
        f.confidence == "none" and not (f.full_in is not None and f.full_in <= timedelta(0))
        for f in forecasts.values()
    ):
        out.append(unknown_footnote(window))
    judged = any(inv.healthy for inv in analysis.inventories)
    if analysis.orphans and not list_orphans:  # `scan`: the reaper's table lists them
        out.append(
            Text(
                f"Orphaned leases: {len(analysis.orphans)} (no live VM has these MACs; "
                "see the plan below)",
                style="bold red",
            )
        )
    elif analysis.orphans:
        _listed(out, f"Orphaned leases: {len(analysis.orphans)} (no live VM has these MACs)",
                findings=analysis.orphans, analysis=analysis, output=output,
                style="bold red", show_all=show_all)  # fmt: skip
    elif not analysis.inventories:
        out.append(Text("orphans not checked: no inventory configured", style="yellow"))
    elif not judged:
        out.append(Text("orphans not checked: no inventory is healthy", style="yellow"))
    else:
        out.append(Text("No orphaned leases.", style="green"))
    _unknown(out, analysis, output, show_all)
    if analysis.unwatched:
        out.append(
            Text(
                f"{plural(analysis.unwatched, 'active lease')} in networks no inventory "
                "covers (counted, not judged)",
                style="dim",
            )
        )
    for inv in analysis.inventories:
        if inv.healthy:
            out.append(Text(f"inventory {inv.source}: {plural(len(inv.macs), 'VM')}", "dim"))
    for message in analysis.warnings:
        out.append(Text(f"warning: {printable(message)}", style="yellow"))
    for message in analysis.errors:
        out.append(Text(f"error: {printable(message)}", style="bold red"))
    return out


def _unknown(out: list[RenderableType], analysis: Analysis, output: Output, show_all: bool) -> None:
    """Leases that cannot be judged. Those an unhealthy inventory covers are one line per
    inventory (the cause is the inventory, not each lease); the rest are listed."""
    bad = [i for i in analysis.inventories if not i.healthy]
    blind = {
        id(f): next(i.source for i in bad if f.network is None or i.covers(f.network))
        for f in analysis.unknown
        if any(f.network is None or i.covers(f.network) for i in bad)
    }
    for inv in bad:
        count = sum(1 for source in blind.values() if source == inv.source)
        if count:
            out.append(
                Text(
                    f"{plural(count, 'lease')} cannot be judged (never released): inventory "
                    f"{inv.source} is unhealthy ({printable(inv.reason or 'no reason given')})",
                    style="yellow",
                )
            )
    rest = [f for f in analysis.unknown if id(f) not in blind]
    if rest:
        title = f"Leases that cannot be judged: {len(rest)} (never released)"
        _listed(out, title, findings=rest, analysis=analysis, output=output, style="yellow",
                show_all=show_all)  # fmt: skip


def report(result: Report, output: Output) -> None:
    """``report`` (the default format)."""
    if nothing_to_show(result.analysis, output):
        return
    output.console.print(
        Group(
            *renderables(
                result.analysis,
                result.forecasts,
                output,
                show_all=result.show_all,
                window=result.window,
            )
        )
    )


def scan(result: Scan, output: Output) -> None:
    """``scan``: the report, then what the reaper planned and did."""
    console = output.console
    parts = renderables(
        result.analysis,
        result.forecasts,
        output,
        show_all=result.show_all,
        window=result.window,
        list_orphans=not result.plan,
    )
    go = sum(1 for r in result.plan if r.action.value == "release")
    if result.plan:
        outcomes = {f"{r.server}/{r.ip}": r.outcome.value for r in result.records}
        plan = result.plan if result.show_all else result.plan[:ROWS]
        parts.append(plan_table(plan, outcomes, console, output.width))
        tail = more(len(plan), len(result.plan))
        if tail is not None:
            parts.append(tail)
    parts.append(_summary(result, go))
    console.print(Group(*parts))
    for message in result.alert_errors:
        output.error(f"alert not delivered: {printable(message)}")


def _summary(result: Scan, go: int) -> Text:
    if result.applied:
        done = sum(1 for r in result.records if r.outcome is Outcome.RELEASED)
        if not go:
            return Text("Nothing to release.", style="green")
        return Text(f"Released {done} of {plural(go, 'planned lease')}.", style="bold green")
    if not go:
        return Text("Dry run: nothing to release.", style="cyan")
    return Text(
        f"Dry run: {plural(go, 'lease')} would be released. Run with --apply to release "
        f"{'it' if go == 1 else 'them'}.",
        style="bold cyan",
    )
