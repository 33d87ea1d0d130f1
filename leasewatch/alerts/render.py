"""The words of a message, shared by every format: a title, facts, a color. Pure.

Each payload module lays these out as its platform expects; keeping the wording here means a
Slack message and a Teams card say the same thing.
"""

from __future__ import annotations

from leasewatch.alerts.levels import Alert, AlertKind, iso
from leasewatch.model import Level

PRODUCT = "leasewatch"

# Colors of the bar/border beside a message (hex, as Slack/Mattermost attachments take them).
RED = "#d9534f"
ORANGE = "#f0ad4e"
GREEN = "#5cb85c"
BLUE = "#5bc0de"

# How many addresses a message lists (the alert's text already names the first few).
ADDRESSES_SHOWN = 10

_NETWORK_KINDS = frozenset({AlertKind.LEVEL, AlertKind.RECOVERED, AlertKind.REMINDER})


def where(alert: Alert) -> str:
    """``server/network``, or the server (or source) alone when there is no network."""
    return f"{alert.server}/{alert.network}" if alert.network else alert.server


def title(alert: Alert) -> str:
    """One short line saying what happened, for a header or a card title."""
    level = alert.level.value.upper()
    titles = {
        AlertKind.LEVEL: f"{where(alert)} is {level}",
        AlertKind.RECOVERED: f"{where(alert)} recovered",
        AlertKind.REMINDER: f"{where(alert)} is still {level}",
        AlertKind.ORPHANS: f"New orphaned leases on {where(alert)}",
        AlertKind.RELEASED: f"Orphaned leases released on {where(alert)}",
        AlertKind.SOURCE_DOWN: f"Source {alert.server} is down",
        AlertKind.SOURCE_UP: f"Source {alert.server} is back",
        AlertKind.TEST: "Test message",
        AlertKind.FORECAST: f"{where(alert)} is forecast to run dry",
    }
    return f"{PRODUCT}: {titles[alert.kind]}"


def color(alert: Alert) -> str:
    """Red for critical or down, orange for warn, green for ok/back, blue for information."""
    if alert.kind in (AlertKind.TEST, AlertKind.RELEASED):
        return BLUE
    return {Level.CRITICAL: RED, Level.WARN: ORANGE, Level.OK: GREEN}[alert.level]


def facts(alert: Alert) -> list[tuple[str, str]]:
    """The figures of the alert as (name, value) pairs, in display order."""
    out: list[tuple[str, str]] = []
    if alert.kind in (AlertKind.SOURCE_DOWN, AlertKind.SOURCE_UP):
        out.append(("Source", alert.server))
        out.append(("Status", "down" if alert.kind is AlertKind.SOURCE_DOWN else "back"))
    else:
        out.append(("Server", alert.server))
        if alert.network:
            out.append(("Network", alert.network))
    if alert.kind in _NETWORK_KINDS or alert.kind is AlertKind.TEST:
        level = alert.level.value
        if alert.previous is not None and alert.previous is not alert.level:
            level += f" (was {alert.previous.value})"
        out.append(("Level", level))
        out.append(("Utilization", f"{alert.utilization:.1%}"))
        out.append(("Active", f"{alert.active} of {alert.size}"))
        out.append(("Free", str(alert.free)))
    if alert.kind in (AlertKind.ORPHANS, AlertKind.RELEASED):
        name = "New orphans" if alert.kind is AlertKind.ORPHANS else "Released"
        out.append((name, str(alert.orphans)))
        if alert.addresses:
            out.append(("Addresses", addresses(alert)))
    out.append(("Time", iso(alert.at)))
    return out


def addresses(alert: Alert) -> str:
    """The first addresses of the alert, comma-separated, with a count of the rest."""
    shown = ", ".join(alert.addresses[:ADDRESSES_SHOWN])
    rest = len(alert.addresses) - ADDRESSES_SHOWN
    return f"{shown} and {rest} more" if rest > 0 else shown


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis when it was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"
