"""The explicit map from a webhook's ``format`` (``WebhookFormat``) to its adapter."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from leasewatch.alerts.discord import Discord
from leasewatch.alerts.generic import Generic
from leasewatch.alerts.interface import Format, WebhookFormat
from leasewatch.alerts.levels import Alert
from leasewatch.alerts.mattermost import Mattermost
from leasewatch.alerts.slack import Slack
from leasewatch.alerts.teams import Teams

FORMATS: Mapping[WebhookFormat, Format] = {
    WebhookFormat.SLACK: Slack(),
    WebhookFormat.MATTERMOST: Mattermost(),
    WebhookFormat.TEAMS: Teams(),
    WebhookFormat.DISCORD: Discord(),
    WebhookFormat.GENERIC: Generic(),
}


def payload(fmt: str, alert: Alert) -> dict[str, Any]:
    """The body for ``alert`` in format ``fmt``; ``KeyError`` for an unknown format."""
    try:
        key = WebhookFormat(fmt)
    except ValueError:
        raise KeyError(fmt) from None
    return FORMATS[key].payload(alert)
