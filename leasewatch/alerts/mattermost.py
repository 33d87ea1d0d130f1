"""Mattermost incoming webhook: Slack-compatible ``text``, ``username`` and ``attachments``.

Payload as documented in "Incoming webhooks"
(https://developers.mattermost.com/integrate/webhooks/incoming/) and "Message attachments"
(https://developers.mattermost.com/integrate/reference/message-attachments/): an attachment
needs a plain-text ``fallback``; ``color`` is a hex code for its left border; ``fields`` are
``{title, value, short}`` (short fields sit side by side). ``username`` overrides the
webhook's display name only where the server allows it ("Enable integrations to override
usernames"); elsewhere it is ignored, never refused.

Limits: a post's message is at most 16383 characters on a server whose database was migrated
for long posts (Mattermost 5.0+), 4000 otherwise; servers before 5.0 also refused attachments
longer than 7900 characters in all ("Maximum attachments length is 7900 characters"). We keep
within the smallest of each, so that every server takes the message.

Mattermost turns ``@channel``, ``@all``, ``@here`` and ``@user`` in a post's text and in an
attachment's text into notifications; a name or a server's error message is never meant as
one, so every ``@`` is followed by a zero-width space (shown as is, never a mention).
"""

from __future__ import annotations

import json
from typing import Any

from leasewatch.alerts import render
from leasewatch.alerts.interface import Format, WebhookFormat
from leasewatch.alerts.levels import Alert

TEXT_MAX = 4000
ATTACHMENTS_MAX = 7900
TITLE_MAX = 256  # not a Mattermost limit: a title longer than a line says nothing more
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FIELDS_MAX = 25


def _no_mention(text: str) -> str:
    """``text`` with no ``@`` Mattermost could read as a mention."""
    return text.replace("@", "@\u200b")


def _attachments_size(body: dict[str, Any]) -> int:
    """How long the server finds the attachments: their JSON, in characters."""
    return len(json.dumps(body["attachments"], ensure_ascii=False))


class Mattermost(Format):
    """Slack-style attachment message for a Mattermost incoming webhook."""

    name = WebhookFormat.MATTERMOST

    def payload(self, alert: Alert) -> dict[str, Any]:
        """The JSON body to POST to a Mattermost incoming webhook for ``alert``."""
        return render.within(
            lambda budget: self._body(alert, budget),
            _attachments_size,
            ATTACHMENTS_MAX,
            budget=ATTACHMENTS_MAX - 500,  # room for the keys around the texts
        )

    def _body(self, alert: Alert, budget: int) -> dict[str, Any]:
        """The body with at most ``budget`` characters of text in its attachment."""
        text = render.clip(_no_mention(render.text(alert)), TEXT_MAX)
        title = render.clip(_no_mention(render.title(alert)), min(TITLE_MAX, budget // 4))
        # the fallback repeats the text: half of the budget, the rest for title and fields
        fallback = render.clip(text, budget // 2)
        fields = render.fit(
            [(name, _no_mention(value)) for name, value in render.facts(alert)],
            count=FIELDS_MAX,
            name_max=FIELD_NAME_MAX,
            value_max=FIELD_VALUE_MAX,
            budget=budget - render.length(fallback) - render.length(title),
        )
        return {
            "username": render.PRODUCT,
            "text": text,
            "attachments": [
                {
                    "fallback": fallback,
                    "color": render.color(alert),
                    "title": title,
                    "fields": [
                        {"title": name, "value": value, "short": name != "Addresses"}
                        for name, value in fields
                    ],
                }
            ],
        }
