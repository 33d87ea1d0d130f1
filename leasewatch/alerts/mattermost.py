"""Mattermost incoming webhook: Slack-compatible ``text``, ``username`` and ``attachments``.

Payload as documented in "Incoming webhooks"
(https://developers.mattermost.com/integrate/webhooks/incoming/) and "Message attachments"
(https://developers.mattermost.com/integrate/reference/message-attachments/): an attachment
needs a plain-text ``fallback``; ``color`` is a hex code for its left border; ``fields`` are
``{title, value, short}`` (short fields sit side by side). ``username`` overrides the
webhook's display name only where the server allows it ("Enable integrations to override
usernames"); elsewhere it is ignored, never refused.
"""

from __future__ import annotations

from typing import Any

from leasewatch.alerts import render
from leasewatch.alerts.levels import Alert


def payload(alert: Alert) -> dict[str, Any]:
    """The JSON body to POST to a Mattermost incoming webhook for ``alert``."""
    return {
        "username": render.PRODUCT,
        "text": alert.text,
        "attachments": [
            {
                "fallback": alert.text,
                "color": render.color(alert),
                "title": render.title(alert),
                "fields": [
                    {"title": name, "value": value, "short": name != "Addresses"}
                    for name, value in render.facts(alert)
                ],
            }
        ],
    }
