"""The explicit map from a webhook's ``format`` (config.WEBHOOK_FORMATS) to its payload."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from leasewatch.alerts import discord, generic, mattermost, slack, teams
from leasewatch.alerts.levels import Alert

Payload = Callable[[Alert], dict[str, Any]]

FORMATS: Mapping[str, Payload] = {
    "slack": slack.payload,
    "mattermost": mattermost.payload,
    "teams": teams.payload,
    "discord": discord.payload,
    "generic": generic.payload,
}


def payload(fmt: str, alert: Alert) -> dict[str, Any]:
    """The body for ``alert`` in format ``fmt``; ``KeyError`` for an unknown format."""
    return FORMATS[fmt](alert)
