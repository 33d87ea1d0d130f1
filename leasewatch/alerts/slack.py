"""Slack incoming webhook: ``text`` (the notification fallback) plus Block Kit ``blocks``.

Payload as documented in "Sending messages using incoming webhooks"
(https://api.slack.com/messaging/webhooks) and the Block Kit reference
(https://docs.slack.dev/reference/block-kit/blocks): a ``header`` block takes plain text of at
most 150 characters; a ``section`` takes mrkdwn ``text`` (at most 3000) or up to 10
``fields`` (at most 2000 each); a ``context`` block shows small print (at most 10 elements).
When ``blocks`` are given, the top-level ``text`` is what notifications and screen readers
show; Slack truncates a message's text beyond 40,000 characters
(https://api.slack.com/methods/chat.postMessage#truncating), we cut it before. Slack asks that
``&``, ``<`` and ``>`` be escaped in text it parses
(https://api.slack.com/reference/surfaces/formatting#escaping), so that a host name like
``<!channel>`` cannot ping a whole channel. tests/alerts/schemas.py encodes these rules.
"""

from __future__ import annotations

import re
from typing import Any

from leasewatch.alerts import render
from leasewatch.alerts.interface import Format, WebhookFormat
from leasewatch.alerts.levels import Alert

TEXT_MAX = 40_000
HEADER_MAX = 150
SECTION_MAX = 3000
FIELDS_MAX = 10
FIELD_MAX = 2000

# An entity cut in its middle by ``clip`` ("&am…"): dropped, so that Slack never sees a
# lone "&" it could read as the start of something else.
_CUT_ENTITY = re.compile(r"&[a-z]{0,3}(?=\u2026$)")


def escape(text: str) -> str:
    """Slack's three control characters as HTML entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mrkdwn(text: str, limit: int) -> str:
    """``text`` escaped, then cut to ``limit`` without leaving half an entity."""
    return _CUT_ENTITY.sub("", render.clip(escape(text), limit))


class Slack(Format):
    """Block Kit message for a Slack incoming webhook."""

    name = WebhookFormat.SLACK

    def payload(self, alert: Alert) -> dict[str, Any]:
        """The JSON body to POST to a Slack incoming webhook for ``alert``."""
        text = render.text(alert)
        fields = [
            {"type": "mrkdwn", "text": mrkdwn(f"*{name}*\n{value}", FIELD_MAX)}
            for name, value in render.facts(alert)[:FIELDS_MAX]
        ]
        return {
            "text": mrkdwn(text, TEXT_MAX),
            "blocks": [
                {
                    "type": "header",
                    "text": {
                        "type": "plain_text",
                        "text": render.clip(render.title(alert), HEADER_MAX),
                    },
                },
                {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn(text, SECTION_MAX)}},
                {"type": "section", "fields": fields},
                {
                    "type": "context",
                    "elements": [
                        {"type": "mrkdwn", "text": f"{render.PRODUCT} \u00b7 {alert.kind.value}"}
                    ],
                },
            ],
        }
