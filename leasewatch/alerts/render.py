"""The words of a message, shared by every format: a title, facts, a color. Pure.

Each payload module lays these out as its platform expects; keeping the wording here means a
Slack message and a Teams card say the same thing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from leasewatch.alerts.levels import Alert, AlertKind, iso
from leasewatch.model import Level, figure

PRODUCT = "leasewatch"

# Colors of the bar/border beside a message (hex, as Slack/Mattermost attachments take them).
RED = "#d9534f"
ORANGE = "#f0ad4e"
GREEN = "#5cb85c"
BLUE = "#5bc0de"

# How many addresses a message lists (the alert's text already names the first few).
ADDRESSES_SHOWN = 10

_NETWORK_KINDS = frozenset({AlertKind.LEVEL, AlertKind.RECOVERED, AlertKind.REMINDER})


def sample_alert(now: datetime, site: str = "") -> Alert:
    """The message ``leasewatch alert-test`` sends to every webhook."""
    return Alert(
        site=site,
        kind=AlertKind.TEST,
        server="leasewatch",
        network="example",
        level=Level.WARN,
        previous=Level.OK,
        utilization=18 / 21,
        size=21,
        active=18,
        free=3,
        orphans=0,
        at=now,
        text="leasewatch test message: if you read this, alerts reach this channel.",
    )


def where(alert: Alert) -> str:
    """``server/network``, or the server (or source) alone when there is no network."""
    return f"{alert.server}/{alert.network}" if alert.network else alert.server


def text(alert: Alert) -> str:
    """The alert's one-line text, safe to show (see ``clean``); the title if it has none."""
    return clean(alert.text) or title(alert)


def title(alert: Alert) -> str:
    """One short line saying what happened, for a header or a card title (``clean``)."""
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
    speaker = f"{PRODUCT} {alert.site}" if alert.site else PRODUCT
    return clean(f"{speaker}: {titles[alert.kind]}")


def color(alert: Alert) -> str:
    """Red for critical or down, orange for warn, green for ok/back, blue for information."""
    if alert.kind in (AlertKind.TEST, AlertKind.RELEASED):
        return BLUE
    return {Level.CRITICAL: RED, Level.WARN: ORANGE, Level.OK: GREEN}[alert.level]


def facts(alert: Alert) -> list[tuple[str, str]]:
    """The figures of the alert as (name, value) pairs, in display order (``clean``)."""
    out: list[tuple[str, str]] = []
    if alert.site:
        out.append(("Site", alert.site))
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
        out.append(("Active", f"{figure(alert.active)} of {figure(alert.size)}"))
        out.append(("Free", figure(alert.free)))
    if alert.kind in (AlertKind.ORPHANS, AlertKind.RELEASED):
        name = "New orphans" if alert.kind is AlertKind.ORPHANS else "Released"
        out.append((name, str(alert.orphans)))
        if alert.addresses:
            out.append(("Addresses", addresses(alert)))
    out.append(("Time", iso(alert.at)))
    return [(name, clean(value) or "-") for name, value in out]


def addresses(alert: Alert) -> str:
    """The first addresses of the alert, comma-separated, with a count of the rest."""
    shown = ", ".join(alert.addresses[:ADDRESSES_SHOWN])
    rest = len(alert.addresses) - ADDRESSES_SHOWN
    return f"{shown} and {rest} more" if rest > 0 else shown


# C0 controls but the newline, DEL, C1 controls, and the bidirectional overrides/isolates that
# can make a host name display as something else (CVE-2021-42574, "Trojan Source").
_UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean(text: str) -> str:
    """``text`` with control characters shown as ``\\xNN`` / ``\\uNNNN``, never obeyed.

    Names in alerts come from the network (a DHCP client's host name, a server's error
    message): an escape sequence or a right-to-left override must not reach a chat client.
    """
    return _UNSAFE.sub(_escaped, text)


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def length(text: str) -> int:
    """The length of ``text`` in UTF-16 code units (an emoji counts 2).

    The platforms do not say whether their limits count code points or UTF-16 code units
    (JavaScript's and .NET's string length); counting code units, which is never less,
    keeps a clipped text within the limit either way.
    """
    return len(text) + sum(1 for c in text if ord(c) > 0xFFFF)


ELLIPSIS = "\u2026"


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` (in ``length`` units), with an ellipsis when it was cut."""
    if length(text) <= limit:
        return text
    budget = limit - length(ELLIPSIS)
    out: list[str] = []
    for char in text:
        budget -= length(char)
        if budget < 0:
            break
        out.append(char)
    return "".join(out) + ELLIPSIS


def fit(
    facts: list[tuple[str, str]], *, count: int, name_max: int, value_max: int, budget: int
) -> list[tuple[str, str]]:
    """The first ``count`` facts, each cut to its limits, while their total fits ``budget``.

    For platforms that limit a message's fields one by one and all together (Discord's
    6000 characters per embed, Mattermost's attachments): the facts come in display order,
    and the last (the time) matters least.
    """
    out: list[tuple[str, str]] = []
    for name, value in facts[:count]:
        shown = (clip(name, name_max), clip(value, value_max))
        size = length(shown[0]) + length(shown[1])
        if size > budget:
            break
        budget -= size
        out.append(shown)
    return out


def within(
    build: Callable[[int], dict[str, Any]],
    size: Callable[[dict[str, Any]], int],
    limit: int,
    budget: int,
) -> dict[str, Any]:
    """``build(budget)``, the budget halved until the body's ``size`` is within ``limit``.

    For limits on a whole message in bytes or JSON characters, where escaping (a quote, a
    backslash, a non-ASCII character sent as ``\\uXXXX``) makes the size of a text more
    than its length.
    """
    while True:
        body = build(budget)
        if size(body) <= limit or budget <= 64:
            return body
        budget //= 2


def json_bytes(body: dict[str, Any]) -> int:
    """The size of ``body`` as ``requests`` sends it (``json.dumps``: ASCII, escaped)."""
    return len(json.dumps(body).encode())
