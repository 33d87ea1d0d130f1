"""Each format's exact payload, as a real HTTP server on loopback receives it."""

from __future__ import annotations

from typing import Any

from alert_helpers import T0, webhook
from webhook_sink import Sink

from leasewatch.alerts import discord, slack
from leasewatch.alerts.deliver import deliver
from leasewatch.alerts.formats import FORMATS
from leasewatch.alerts.levels import Alert, AlertKind, sample_alert
from leasewatch.config import WEBHOOK_FORMATS
from leasewatch.model import Level

ALERT = Alert(
    kind=AlertKind.LEVEL,
    server="dhcp1",
    network="lab",
    level=Level.CRITICAL,
    previous=Level.WARN,
    utilization=20 / 21,
    size=21,
    active=20,
    free=1,
    orphans=0,
    at=T0,
    text="dhcp1/lab is CRITICAL: 95.2% used (20 of 21 active, 1 free), was warn",
    key="dhcp1/lab",
)
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


def test_every_configurable_format_has_a_payload_module() -> None:
    """config.WEBHOOK_FORMATS and the format map name exactly the same formats."""
    assert set(FORMATS) == set(WEBHOOK_FORMATS)
    assert set(EXPECTED) == set(WEBHOOK_FORMATS)


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


def test_sample_alert_renders_in_every_format() -> None:
    """The alert-test message is a valid payload in every format, saying it is a test."""
    alert = sample_alert(T0)
    for fmt, render in FORMATS.items():
        body = render(alert)
        assert "test" in str(body).lower(), fmt


def test_slack_escapes_control_characters() -> None:
    """A name like <!channel> is shown, not obeyed: Slack's &, <, > are escaped."""
    alert = Alert(
        AlertKind.SOURCE_DOWN,
        "<!channel>&co",
        "",
        Level.CRITICAL,
        Level.OK,
        0.0,
        0,
        0,
        0,
        0,
        T0,
        "source <!channel>&co is down: x",
    )
    body = slack.payload(alert)
    assert body["text"] == "source &lt;!channel&gt;&amp;co is down: x"
    assert "<!channel>" not in str(body["blocks"][1:])


def test_discord_respects_its_limits() -> None:
    """A huge alert is cut to 2000 characters of content, 25 fields, 6000 in the embed."""
    many = tuple(f"198.18.{i // 256}.{i % 256}" for i in range(5000))
    alert = Alert(
        AlertKind.ORPHANS,
        "dhcp1",
        "x" * 5000,
        Level.WARN,
        None,
        0.0,
        0,
        0,
        0,
        len(many),
        T0,
        "y" * 10000,
        addresses=many,
    )
    body = discord.payload(alert)
    assert len(body["content"]) <= 2000
    (embed,) = body["embeds"]
    assert len(embed["title"]) <= 256
    assert len(embed["description"]) <= 4096
    assert len(embed["fields"]) <= 25
    assert all(len(f["name"]) <= 256 and len(f["value"]) <= 1024 for f in embed["fields"])
    total = len(embed["title"]) + len(embed["description"]) + len(embed["footer"]["text"])
    total += sum(len(f["name"]) + len(f["value"]) for f in embed["fields"])
    assert total <= 6000
