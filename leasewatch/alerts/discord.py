"""Discord webhook: ``content`` plus one embed with a color and fields.

Payload as documented in "Execute Webhook"
(https://discord.com/developers/docs/resources/webhook#execute-webhook) and the embed object
with its limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits):
``content`` at most 2000 characters; an embed's title 256, description 4096, at most 25
fields of name 256 / value 1024, footer 2048, and 6000 characters over all embeds of a
message; ``color`` is an integer; ``timestamp`` is ISO 8601; ``username`` at most 80.
``allowed_mentions`` with an empty ``parse`` list keeps a host named ``@everyone`` from
pinging the server
(https://discord.com/developers/docs/resources/message#allowed-mentions-object).
tests/alerts/schemas.py encodes these rules.
"""

from __future__ import annotations

from typing import Any

from leasewatch.alerts import render
from leasewatch.alerts.interface import Format, WebhookFormat
from leasewatch.alerts.levels import Alert, iso

CONTENT_MAX = 2000
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELDS_MAX = 25
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
EMBED_TOTAL_MAX = 6000


class Discord(Format):
    """One-embed message for a Discord webhook."""

    name = WebhookFormat.DISCORD

    def payload(self, alert: Alert) -> dict[str, Any]:
        """The JSON body to POST to a Discord webhook for ``alert``."""
        text = render.text(alert)
        title = render.clip(render.title(alert), TITLE_MAX)
        footer = render.clip(render.PRODUCT, FOOTER_MAX)
        # the description repeats the text: content is what notifications show, the embed
        # is what the channel shows; it takes at most half of what is left for the fields
        budget = EMBED_TOTAL_MAX - render.length(title) - render.length(footer)
        description = render.clip(text, min(DESCRIPTION_MAX, budget // 2))
        fields = render.fit(
            render.facts(alert),
            count=FIELDS_MAX,
            name_max=FIELD_NAME_MAX,
            value_max=FIELD_VALUE_MAX,
            budget=budget - render.length(description),
        )
        return {
            "username": render.PRODUCT,
            "content": render.clip(text, CONTENT_MAX),
            "allowed_mentions": {"parse": []},
            "embeds": [
                {
                    "title": title,
                    "description": description,
                    "color": int(render.color(alert).lstrip("#"), 16),
                    "timestamp": iso(alert.at),
                    "fields": [
                        {"name": name, "value": value, "inline": name != "Addresses"}
                        for name, value in fields
                    ],
                    "footer": {"text": footer},
                }
            ],
        }
