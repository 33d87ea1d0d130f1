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

A message is at most 28 KB ("Limits and specifications for Microsoft Teams"; the connector's
"Message size limit"), and users report refusals from about 21 KB: we keep the body under
``MESSAGE_MAX`` bytes as sent (JSON escapes a non-ASCII character as 6 bytes), the texts
sharing one budget, halved until the card fits. Adaptive Cards set no limit per text.
tests/alerts/schemas.py encodes the envelope and card rules.
"""

from __future__ import annotations

from typing import Any

from leasewatch.alerts import render
from leasewatch.alerts.interface import Format, WebhookFormat
from leasewatch.alerts.levels import Alert, AlertKind
from leasewatch.model import Level

CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_VERSION = "1.4"
CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"

MESSAGE_MAX = 20_000
TEXT_BUDGET = 8000
TITLE_MAX = 256
TEXT_MAX = 1000
FACT_TITLE_MAX = 64
FACT_VALUE_MAX = 512
FACTS_MAX = 25


def _color(alert: Alert) -> str:
    """A TextBlock color name (Adaptive Cards have no hex colors)."""
    if alert.kind in (AlertKind.TEST, AlertKind.RELEASED):
        return "Accent"
    return {Level.CRITICAL: "Attention", Level.WARN: "Warning", Level.OK: "Good"}[alert.level]


class Teams(Format):
    """Adaptive Card 1.4 in the message envelope a Teams Workflows webhook takes."""

    name = WebhookFormat.TEAMS

    def card(self, alert: Alert, budget: int = TEXT_BUDGET) -> dict[str, Any]:
        """The Adaptive Card itself, with at most ``budget`` UTF-16 units of text."""
        title = render.clip(render.title(alert), min(TITLE_MAX, budget // 4))
        text = render.clip(render.text(alert), min(TEXT_MAX, budget // 4))
        facts = render.fit(
            render.facts(alert),
            count=FACTS_MAX,
            name_max=FACT_TITLE_MAX,
            value_max=FACT_VALUE_MAX,
            budget=budget - render.length(title) - render.length(text),
        )
        return {
            "$schema": CARD_SCHEMA,
            "type": "AdaptiveCard",
            "version": CARD_VERSION,
            "body": [
                {
                    "type": "TextBlock",
                    "text": title,
                    "size": "Medium",
                    "weight": "Bolder",
                    "color": _color(alert),
                    "wrap": True,
                },
                {"type": "TextBlock", "text": text, "wrap": True},
                {
                    "type": "FactSet",
                    "facts": [{"title": name, "value": value} for name, value in facts],
                },
            ],
        }

    def payload(self, alert: Alert) -> dict[str, Any]:
        """The JSON body to POST to a Teams Workflows webhook for ``alert``."""
        return render.within(
            lambda budget: self._envelope(self.card(alert, budget)),
            render.json_bytes,
            MESSAGE_MAX,
            budget=TEXT_BUDGET,
        )

    @staticmethod
    def _envelope(card: dict[str, Any]) -> dict[str, Any]:
        """The message a Workflows webhook takes, holding ``card``."""
        return {
            "type": "message",
            "attachments": [{"contentType": CONTENT_TYPE, "contentUrl": None, "content": card}],
        }
