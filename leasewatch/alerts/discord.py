"""Discord webhook: ``content`` plus one embed with a color and fields.

Payload as documented in "Execute Webhook"
(https://discord.com/developers/docs/resources/webhook#execute-webhook) and the embed object
with its limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits):
``content`` at most 2000 characters; an embed's title 256, description 4096, at most 25
fields of name 256 / value 1024, footer 2048, and 6000 characters over all embeds of a
message; ``color`` is an integer; ``timestamp`` is ISO 8601. ``allowed_mentions`` with an
empty ``parse`` list keeps a host named ``@everyone`` from pinging the server
(https://discord.com/developers/docs/resources/message#allowed-mentions-object).
"""

from __future__ import annotations

from typing import Any

from leasewatch.alerts import render
from leasewatch.alerts.levels import Alert, iso

CONTENT_MAX = 2000
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELDS_MAX = 25
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
EMBED_TOTAL_MAX = 6000


def payload(alert: Alert) -> dict[str, Any]:
    """The JSON body to POST to a Discord webhook for ``alert``."""
    title = render.clip(render.title(alert), TITLE_MAX)
    footer = render.clip(render.PRODUCT, FOOTER_MAX)
    # the description repeats the text: content is what notifications show, the embed is
    # what the channel shows
    budget = EMBED_TOTAL_MAX - len(title) - len(footer)
    description = render.clip(alert.text, min(DESCRIPTION_MAX, budget // 2))
    budget -= len(description)
    fields: list[dict[str, Any]] = []
    for name, value in render.facts(alert)[:FIELDS_MAX]:
        shown_name = render.clip(name, FIELD_NAME_MAX)
        shown_value = render.clip(value, FIELD_VALUE_MAX)
        if len(shown_name) + len(shown_value) > budget:
            break
        budget -= len(shown_name) + len(shown_value)
        fields.append({"name": shown_name, "value": shown_value, "inline": name != "Addresses"})
    return {
        "username": render.PRODUCT,
        "content": render.clip(alert.text, CONTENT_MAX),
        "allowed_mentions": {"parse": []},
        "embeds": [
            {
                "title": title,
                "description": description,
                "color": int(render.color(alert).lstrip("#"), 16),
                "timestamp": iso(alert.at),
                "fields": fields,
                "footer": {"text": footer},
            }
        ],
    }
