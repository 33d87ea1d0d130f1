"""Tables for ``audit`` and ``inventory``: what the reaper did, what each source sees."""

from __future__ import annotations

from rich.console import RenderableType
from rich.text import Text

from leasewatch.app.results import Audit, Inventory
from leasewatch.printable import maybe, printable
from leasewatch.report.interface import Output
from leasewatch.report.table import MIN_FOLD, ROWS, fits, more, new_table, plural


def audit(result: Audit, output: Output) -> None:
    """Oldest first, the newest at the bottom; reasons and details fold, then drop."""
    records = result.records if result.show_all else result.records[-ROWS:]
    console = output.console
    for optional in (("hostname", "reason", "detail"), ("reason", "detail"), ("detail",), ()):
        table = new_table(f"Audit ({plural(len(result.records), 'record')})")
        for name in ("time", "server", "ip", "mac", "outcome"):
            table.add_column(name, no_wrap=True)
        for name in optional:
            table.add_column(name, overflow="fold", min_width=MIN_FOLD[name], ratio=1)
        for r in records:
            extra = {
                "hostname": maybe(r.hostname),
                "reason": printable(r.reason),
                "detail": printable(r.detail),
            }
            table.add_row(
                r.at.strftime("%Y-%m-%d %H:%M:%S"),
                r.server,
                str(r.ip),
                r.mac or "-",
                r.outcome.value,
                *(extra[name] for name in optional),
            )
        if fits(table, console, output.width):
            break
    console.print(table)
    tail = more(len(records), len(result.records))
    if tail is not None:
        console.print(Text(f"{tail.plain} (oldest not shown)", style="dim"))


def inventory(result: Inventory, output: Output) -> None:
    table = new_table("Inventory sources")
    for name in ("source", "kind", "health", "VMs", "duration", "networks"):
        table.add_column(name, overflow="fold", no_wrap=name in ("source", "kind", "VMs"))
    for s in result.snapshots:
        health: RenderableType = (
            Text("healthy", "green")
            if s.healthy
            else Text(f"UNHEALTHY: {printable(s.reason or '')}", "red")
        )
        table.add_row(
            s.source,
            s.kind,
            health,
            str(len(s.macs)),
            f"{s.duration:.2f}s",
            ", ".join(s.networks) or "all",
        )
    console = output.console
    console.print(table)
    if result.macs:
        for s in result.snapshots:
            for mac in sorted(s.macs):
                console.print(f"{s.source}\t{mac}", soft_wrap=True)
    if not result.snapshots:
        output.error("no [[inventory]] sources configured")
