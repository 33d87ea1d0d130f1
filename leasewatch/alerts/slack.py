"""Slack incoming webhook: ``text`` (the notification fallback) plus Block Kit ``blocks``.

Payload as documented in "Sending messages using incoming webhooks"
(https://api.slack.com/messaging/webhooks) and the Block Kit reference
(https://api.slack.com/reference/block-kit/blocks): a ``header`` block takes plain text of at
most 150 characters; a ``section`` takes mrkdwn ``text`` (at most 3000) or up to 10
``fields`` (at most 2000 each); a ``context`` block shows small print. When ``blocks`` are
given, the top-level ``text`` is what notifications and screen readers show. Slack asks
that ``&``, ``<`` and ``>`` be escaped in text it parses
(https://api.slack.com/reference/surfaces/formatting#escaping), so that a host name like
``<!channel>`` cannot ping a whole channel.
"""

from __future__ import annotations

from typing import Any

from leasewatch.alerts import render
from leasewatch.alerts.levels import Alert

HEADER_MAX = 150
SECTION_MAX = 3000
FIELDS_MAX = 10
FIELD_MAX = 2000


def escape(text: str) -> str:
    """Slack's three control characters as HTML entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def payload(alert: Alert) -> dict[str, Any]:
    """The JSON body to POST to a Slack incoming webhook for ``alert``."""
    fields = [
        {"type": "mrkdwn", "text": render.clip(f"*{escape(name)}*\n{escape(value)}", FIELD_MAX)}
        for name, value in render.facts(alert)[:FIELDS_MAX]
    ]
    return {
        "text": escape(alert.text),
        "blocks": [
            {
                "type": "header",
                "text": {
                    "type": "plain_text",
                    "text": render.clip(render.title(alert), HEADER_MAX),
                },
            },
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": render.clip(escape(alert.text), SECTION_MAX)},
            },
            {"type": "section", "fields": fields},
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": f"{render.PRODUCT} \u00b7 {alert.kind.value}"}
                ],
            },
        ],
    }
