"""Microsoft Teams Workflows (Power Automate) webhook: an Adaptive Card in ``attachments``.

The Office 365 connectors' MessageCard is retired; the "Post to a channel when a webhook
request is received" workflow takes a message whose ``attachments`` hold one Adaptive Card,
as documented in "Create incoming webhooks with Workflows for Microsoft Teams"
(https://learn.microsoft.com/en-us/connectors/teams/?tabs=text1#microsoft-teams-webhook) and
"Send Adaptive Cards using an Incoming Webhook"
(https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/add-incoming-webhook):
``{"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
"contentUrl": null, "content": {AdaptiveCard}}]}``. The card uses schema 1.4 elements only
(TextBlock, FactSet; https://adaptivecards.io/explorer/), which Teams renders everywhere.
"""

from __future__ import annotations

from typing import Any

from leasewatch.alerts import render
from leasewatch.alerts.levels import Alert, AlertKind
from leasewatch.model import Level

CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_VERSION = "1.4"
CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"


def _color(alert: Alert) -> str:
    """A TextBlock color name (Adaptive Cards have no hex colors)."""
    if alert.kind in (AlertKind.TEST, AlertKind.RELEASED):
        return "Accent"
    return {Level.CRITICAL: "Attention", Level.WARN: "Warning", Level.OK: "Good"}[alert.level]


def card(alert: Alert) -> dict[str, Any]:
    """The Adaptive Card itself."""
    return {
        "$schema": CARD_SCHEMA,
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "body": [
            {
                "type": "TextBlock",
                "text": render.title(alert),
                "size": "Medium",
                "weight": "Bolder",
                "color": _color(alert),
                "wrap": True,
            },
            {"type": "TextBlock", "text": alert.text, "wrap": True},
            {
                "type": "FactSet",
                "facts": [{"title": name, "value": value} for name, value in render.facts(alert)],
            },
        ],
    }


def payload(alert: Alert) -> dict[str, Any]:
    """The JSON body to POST to a Teams Workflows webhook for ``alert``."""
    return {
        "type": "message",
        "attachments": [{"contentType": CONTENT_TYPE, "contentUrl": None, "content": card(alert)}],
    }
