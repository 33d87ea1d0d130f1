"""The format map, and each format's exact payload as a real HTTP server on loopback receives it.

Whether the payloads are what each platform accepts is tests/alerts/test_alert_schemas.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from leasewatch.alerts.deliver import deliver
from leasewatch.alerts.formats import FORMATS, payload
from leasewatch.alerts.interface import Format, WebhookFormat
from leasewatch.config import WEBHOOK_FORMATS
from tests.alerts.alert_helpers import CRITICAL as ALERT
from tests.alerts.alert_helpers import webhook
from tests.alerts.webhook_sink import Sink

TEXT = ALERT.text
TITLE = "leasewatch: dhcp1/lab is CRITICAL"
FACTS = [
    ("Server", "dhcp1"),
    ("Network", "lab"),
    ("Level", "critical (was warn)"),
    ("Utilization", "95.2%"),
    ("Active", "20 of 21"),
    ("Free", "1"),
    ("Time", "2024-05-01T12:00:00Z"),
]

EXPECTED: dict[str, dict[str, Any]] = {
    "slack": {
        "text": TEXT,
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": TITLE}},
            {"type": "section", "text": {"type": "mrkdwn", "text": TEXT}},
            {
                "type": "section",
                "fields": [{"type": "mrkdwn", "text": f"*{n}*\n{v}"} for n, v in FACTS],
            },
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": "leasewatch \u00b7 level"}],
            },
        ],
    },
    "mattermost": {
        "username": "leasewatch",
        "text": TEXT,
        "attachments": [
            {
                "fallback": TEXT,
                "color": "#d9534f",
                "title": TITLE,
                "fields": [{"title": n, "value": v, "short": True} for n, v in FACTS],
            }
        ],
    },
    "teams": {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        {
                            "type": "TextBlock",
                            "text": TITLE,
                            "size": "Medium",
                            "weight": "Bolder",
                            "color": "Attention",
                            "wrap": True,
                        },
                        {"type": "TextBlock", "text": TEXT, "wrap": True},
                        {
                            "type": "FactSet",
                            "facts": [{"title": n, "value": v} for n, v in FACTS],
                        },
                    ],
                },
            }
        ],
    },
    "discord": {
        "username": "leasewatch",
        "content": TEXT,
        "allowed_mentions": {"parse": []},
        "embeds": [
            {
                "title": TITLE,
                "description": TEXT,
                "color": 0xD9534F,
                "timestamp": "2024-05-01T12:00:00Z",
                "fields": [{"name": n, "value": v, "inline": True} for n, v in FACTS],
                "footer": {"text": "leasewatch"},
            }
        ],
    },
    "generic": {
        "kind": "level",
        "site": None,
        "server": "dhcp1",
        "network": "lab",
        "level": "critical",
        "previous": "warn",
        "utilization": 0.9524,
        "size": 21,
        "active": 20,
        "free": 1,
        "orphans": 0,
        "addresses": [],
        "time": "2024-05-01T12:00:00Z",
        "text": TEXT,
    },
}


def test_every_format_enum_value_has_an_adapter() -> None:
    """WebhookFormat, the format map and config's accepted values name the same formats."""
    assert set(FORMATS) == set(WebhookFormat)
    assert set(WebhookFormat) == set(WEBHOOK_FORMATS)
    assert set(EXPECTED) == set(WebhookFormat)
    for fmt, adapter in FORMATS.items():
        assert isinstance(adapter, Format)
        assert adapter.name is fmt


def test_unknown_format_is_a_key_error() -> None:
    """``payload`` for a format nobody maps raises KeyError (config rejects it before)."""
    with pytest.raises(KeyError, match="irc"):
        payload("irc", ALERT)


def test_each_format_posts_its_documented_payload(sink: Sink) -> None:
    """One POST per webhook, JSON, with exactly the payload its platform documents."""
    hooks = [webhook(fmt, fmt, sink.url(f"/{fmt}")) for fmt in WEBHOOK_FORMATS]
    results = deliver([ALERT], hooks)
    assert [(r.webhook, r.ok, r.attempts, r.status) for r in results] == [
        (fmt, True, 1, 200) for fmt in WEBHOOK_FORMATS
    ]
    for fmt in WEBHOOK_FORMATS:
        (post,) = sink.posts(f"/{fmt}")
        assert post.headers["Content-Type"] == "application/json"
        assert post.headers["User-Agent"].startswith("leasewatch/")
        assert post.json == EXPECTED[fmt], fmt
