"""The pool's results in words and JSON (README, "JSON: leasewatch mac")."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from leasewatch.macpool.choose import Choice, Entry, Why
from leasewatch.printable import maybe


def _when(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat(timespec="seconds")


def why(choice: Choice) -> str:
    """One sentence: why this MAC, and what address the VM will get."""
    lease = choice.lease
    if choice.why is Why.NEVER_USED or lease is None:
        return "never used: the VM takes a new lease"
    ends = f", ends {_when(lease.ends)}" if lease.ends is not None else ""
    if choice.why is Why.ACTIVE_LEASE:
        return (
            f"{lease.server} still holds an active lease on {lease.ip} for it{ends}: "
            "the VM gets this address back, no new lease is used"
        )
    return (
        f"its lease on {lease.ip} at {lease.server} ended{ends.replace(', ends', '')}: "
        "the server gives the address back unless another MAC took it"
    )


def passed_over(choice: Choice) -> str | None:
    """The warning when leases were not reused because an inventory could not be trusted."""
    if not choice.passed_over:
        return None
    return (
        f"warning: inventory {', '.join(choice.passed_over)} unhealthy: pool MACs with an "
        "active lease it may list were not handed out (leasewatch inventory)"
    )


def take_doc(choice: Choice) -> dict[str, Any]:
    return {
        "mac": choice.mac,
        "vm": choice.vm,
        "ip": None if choice.ip is None else str(choice.ip),
        "why": why(choice),
    }


def entry_doc(entry: Entry) -> dict[str, Any]:
    lease = entry.lease
    return {
        "mac": entry.mac,
        "state": entry.state.value,
        "vm": entry.vm,
        "ip": None if lease is None else str(lease.ip),
        "lease_ends": None if lease is None else _when(lease.ends),
        "seen": _when(entry.seen),
    }


def table(entries: list[Entry], console: Console) -> None:
    t = Table(title=f"MAC pool ({len(entries)} MACs taken, live or leased)", title_justify="left")
    for name in ("mac", "state", "vm", "ip", "lease ends", "seen"):
        t.add_column(name, no_wrap=name in ("mac", "ip"))
    for e in entries:
        doc = entry_doc(e)
        # Text, not markup: a VM name is whatever `take --vm` was given
        t.add_row(*(Text(maybe(doc[k])) for k in doc))
    console.print(t)
