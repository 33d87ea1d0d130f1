"""Every format's payload, for ordinary and extreme alerts, against its platform's schema.

The schemas (tests/alerts/schemas.py) come from each platform's documentation; the payloads
come from the code. First the schemas are checked against the platforms' own documented
examples (they accept what the platform shows) and against payloads each platform documents
it refuses (they are not lax); then every format renders every kind of alert, and alerts
built to break limits: thousands of addresses, names of 10,000 characters, emoji, and host
names carrying escape sequences, mentions and bidirectional overrides.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from leasewatch.alerts.deliver import Policy, deliver_plan
from leasewatch.alerts.formats import FORMATS
from leasewatch.alerts.interface import WebhookFormat
from leasewatch.alerts.levels import Alert, AlertKind, plan
from leasewatch.alerts.render import sample_alert
from tests.alerts.alert_helpers import CRITICAL as NORMAL
from tests.alerts.alert_helpers import T0, alerts_config, analysis, usage, webhook
from tests.alerts.schemas import SCHEMAS, Validator, problems, utf16
from tests.alerts.webhook_sink import Sink

# ----------------------------------------------------------------- the schemas themselves

# Examples as the platforms' documentation shows them (shortened where it lists more).
DOCUMENTED: dict[str, list[dict[str, Any]]] = {
    "slack": [
        {"text": "Hello, world."},
        {
            "text": "Danny Torrence left a 1 star review for your property.",
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": "A Heartfelt Header"}},
                {
                    "type": "section",
                    "text": {
                        "type": "mrkdwn",
                        "text": "Danny Torrence left the following review for your property:",
                    },
                },
                {
                    "type": "section",
                    "fields": [
                        {"type": "mrkdwn", "text": "*Average Rating*\n1.0"},
                        {"type": "plain_text", "text": "Hi there", "emoji": True},
                    ],
                },
                {"type": "divider"},
                {
                    "type": "context",
                    "elements": [{"type": "mrkdwn", "text": "Last updated: Jan 1, 2019"}],
                },
            ],
        },
    ],
    "mattermost": [
        {"text": "Hello, this is some text\nThis is more text. :tada:"},
        {
            "channel": "town-square",
            "username": "test-automation",
            "icon_url": "https://mattermost.com/wp-content/uploads/2022/02/icon.png",
            "text": "#### Test results for July 27th, 2017\n@channel please review",
        },
        {
            "attachments": [
                {
                    "fallback": "test",
                    "color": "#FF8000",
                    "pretext": "This is optional pretext that shows above the attachment.",
                    "text": "This is the text of the attachment.",
                    "author_name": "Mattermost",
                    "author_icon": "https://mattermost.com/wp-content/uploads/2022/02/icon.png",
                    "author_link": "https://mattermost.org/",
                    "title": "Example Attachment",
                    "title_link": "https://developers.mattermost.com/",
                    "fields": [
                        {"short": False, "title": "Long Field", "value": "Testing with a long"},
                        {"short": True, "title": "Column One", "value": "Testing"},
                    ],
                    "image_url": "https://mattermost.com/wp-content/uploads/2022/02/icon.png",
                }
            ]
        },
    ],
    "teams": [
        {
            "type": "message",
            "attachments": [
                {
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": None,
                    "content": {
                        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                        "type": "AdaptiveCard",
                        "version": "1.2",
                        "body": [{"type": "TextBlock", "text": "For Samples and Templates"}],
                    },
                }
            ],
        },
        {
            "type": "message",
            "attachments": [
                {
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "content": {
                        "type": "AdaptiveCard",
                        "version": "1.4",
                        "body": [
                            {
                                "type": "TextBlock",
                                "text": "Publish Adaptive Card schema",
                                "weight": "bolder",
                                "size": "medium",
                                "color": "Attention",
                            },
                            {
                                "type": "FactSet",
                                "facts": [
                                    {"title": "Board:", "value": "Adaptive Cards"},
                                    {"title": "Due date:", "value": "Not set"},
                                ],
                            },
                        ],
                    },
                }
            ],
        },
    ],
    "discord": [
        {"content": "Hello, World!"},
        {
            "username": "Webhook",
            "embeds": [
                {
                    "title": "Hello, Embed!",
                    "description": "This is an embedded message.",
                    "color": 5814783,
                    "timestamp": "2015-12-31T12:00:00.000Z",
                    "fields": [{"name": "Field", "value": "Value", "inline": True}],
                    "footer": {"text": "Footer"},
                }
            ],
            "allowed_mentions": {"parse": ["users"]},
        },
    ],
    "generic": [
        {
            "kind": "level",
            "site": "fra1",
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
            "text": "dhcp1/lab is CRITICAL: ...",
        }
    ],
}

_LONG = "x" * 151
_FIELD = {"name": "n", "value": "v"}

# Payloads the platforms document they refuse (or that break a documented limit).
REFUSED: list[tuple[str, dict[str, Any]]] = [
    ("slack", {}),
    ("slack", {"blocks": [{"type": "header", "text": {"type": "plain_text", "text": _LONG}}]}),
    ("slack", {"blocks": [{"type": "header", "text": {"type": "mrkdwn", "text": "bold"}}]}),
    ("slack", {"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": ""}}]}),
    ("slack", {"blocks": [{"type": "section"}]}),
    (
        "slack",
        {
            "blocks": [
                {"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11},
            ]
        },
    ),
    ("slack", {"text": "<!channel> unescaped"}),
    ("slack", {"text": "t", "blocks": [{"type": "divider"}] * 51}),
    ("mattermost", {"text": "x" * 4001}),
    ("mattermost", {"attachments": [{"title": "no fallback"}]}),
    ("mattermost", {"attachments": [{"fallback": "f", "color": "red"}]}),
    ("teams", {"type": "AdaptiveCard", "version": "1.4", "body": []}),  # no envelope
    (
        "teams",
        {
            "type": "message",
            "attachments": [
                {
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "content": {"type": "AdaptiveCard", "body": []},  # no version
                }
            ],
        },
    ),
    (
        "teams",
        {
            "type": "message",
            "attachments": [
                {
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "content": {
                        "type": "AdaptiveCard",
                        "version": "1.4",
                        "body": [{"type": "TextBlock", "text": "t", "color": "#ff0000"}],
                    },
                }
            ],
        },
    ),
    ("discord", {}),
    ("discord", {"content": "x" * 2001}),
    ("discord", {"embeds": [{"title": "x" * 257}]}),
    ("discord", {"embeds": [{"fields": [_FIELD] * 26}]}),
    ("discord", {"embeds": [{"fields": [{"name": "n", "value": ""}]}]}),
    ("discord", {"embeds": [{"fields": [{"name": "n", "value": "v" * 1025}]}]}),
    ("discord", {"embeds": [{"description": "d" * 4096, "title": "t" * 256}] * 2}),
    ("discord", {"embeds": [{"color": "#d9534f"}]}),
    ("discord", {"content": "\U0001f525" * 1001}),  # 2002 UTF-16 units
    ("generic", {"kind": "level"}),
]


@pytest.mark.parametrize("fmt", list(SCHEMAS))
def test_schema_is_valid_json_schema(fmt: str) -> None:
    """Each platform schema is itself a valid JSON Schema (draft 2020-12)."""
    Validator.check_schema(SCHEMAS[fmt])


@pytest.mark.parametrize(
    ("fmt", "body"), [(fmt, body) for fmt, bodies in DOCUMENTED.items() for body in bodies]
)
def test_schema_accepts_the_platforms_documented_examples(fmt: str, body: dict[str, Any]) -> None:
    """The schemas are not stricter than the platforms: their own examples pass."""
    assert problems(fmt, body) == []


@pytest.mark.parametrize(("fmt", "body"), REFUSED)
def test_schema_refuses_what_the_platform_refuses(fmt: str, body: dict[str, Any]) -> None:
    """The schemas are not laxer than the platforms: documented refusals fail them."""
    assert problems(fmt, body) != []


def test_schemas_cover_every_format() -> None:
    """There is a schema, documented examples and refusals for every webhook format."""
    assert set(SCHEMAS) == set(WebhookFormat) == set(DOCUMENTED)
    assert {fmt for fmt, _ in REFUSED} == set(WebhookFormat)


# ----------------------------------------------------------------- leasewatch's payloads

MANY = tuple(f"198.18.{i // 256}.{i % 256}" for i in range(5000))
HOSTILE = "\x1b[2J\x1b]0;pwned\x07<!channel> @everyone @here &amp; \u202eevil\u2066\x00\x7f\x9b"
EMOJI = "\U0001f525\U0001f4a5" * 3000


def _every_kind() -> Iterator[tuple[str, Alert]]:
    for kind in AlertKind:
        network = "" if kind in (AlertKind.SOURCE_DOWN, AlertKind.SOURCE_UP) else "lab"
        yield kind.value, replace(NORMAL, kind=kind, network=network)


def _extreme() -> Iterator[tuple[str, Alert]]:
    orphans = replace(
        NORMAL, kind=AlertKind.ORPHANS, orphans=len(MANY), addresses=MANY, text="many orphans"
    )
    yield "5000 orphans", orphans
    yield "5000 released", replace(orphans, kind=AlertKind.RELEASED)
    yield (
        "long names",
        replace(orphans, server="s" * 10_000, network="n" * 10_000, text="y" * 50_000),
    )
    yield "long addresses", replace(orphans, addresses=tuple("a" * 3000 for _ in range(50)))
    yield "hostile names", replace(orphans, server=HOSTILE, network=HOSTILE, text=HOSTILE * 3)
    yield "hostile down", replace(NORMAL, kind=AlertKind.SOURCE_DOWN, server=HOSTILE, network="")
    yield "emoji", replace(orphans, server=EMOJI, network=EMOJI, text=EMOJI)
    yield "ampersands", replace(NORMAL, server="&" * 5000, network="<>" * 3000, text="&" * 9000)
    yield "backslashes", replace(orphans, server="\\" * 9000, network='"' * 9000, text="\\" * 9000)
    yield "empty", replace(NORMAL, server="", network="", text="")
    yield "empty network", replace(NORMAL, network="")
    yield "long site", replace(NORMAL, site="s" * 9000)


ALERTS: list[tuple[str, Alert]] = [
    ("normal", NORMAL),
    ("alert-test", sample_alert(T0)),
    ("site", replace(NORMAL, site="fra1")),
    *_every_kind(),
    *_extreme(),
]


@pytest.mark.parametrize("fmt", list(WebhookFormat))
@pytest.mark.parametrize(("case", "alert"), ALERTS, ids=[case for case, _ in ALERTS])
def test_payload_is_what_the_platform_accepts(fmt: WebhookFormat, case: str, alert: Alert) -> None:
    """Every format renders every alert, ordinary or extreme, within its platform's rules."""
    body = FORMATS[fmt].payload(alert)
    json.dumps(body, allow_nan=False)  # what requests sends: plain JSON
    assert problems(fmt, body) == []


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


CHAT = [fmt for fmt in WebhookFormat if fmt is not WebhookFormat.GENERIC]


@pytest.mark.parametrize("fmt", CHAT)
def test_hostile_names_are_shown_not_obeyed(fmt: WebhookFormat) -> None:
    """Escape sequences, NUL, DEL and bidi overrides from a host name never reach a chat."""
    alert = dict(ALERTS)["hostile names"]
    for text in _strings(FORMATS[fmt].payload(alert)):
        assert not any(c < " " and c != "\n" for c in text), (fmt, text)
        assert not any("\x7f" <= c <= "\x9f" or c in "\u202e\u2066" for c in text), (fmt, text)
    assert any("\\x1b[2J" in text for text in _strings(FORMATS[fmt].payload(alert))), fmt


def test_mentions_cannot_ping() -> None:
    """``<!channel>`` is escaped in Slack's parsed text (the schema checks every mrkdwn text;
    plain_text is never parsed); Discord parses no mention at all; Mattermost sees no
    ``@`` mention."""
    alert = dict(ALERTS)["hostile names"]
    slack = FORMATS[WebhookFormat.SLACK].payload(alert)
    assert "&lt;!channel&gt;" in slack["text"]
    assert "<!channel>" not in slack["text"]
    assert FORMATS[WebhookFormat.DISCORD].payload(alert)["allowed_mentions"] == {"parse": []}
    mattermost = FORMATS[WebhookFormat.MATTERMOST].payload(alert)
    for mention in ("@everyone", "@here", "@channel", "@all"):
        assert mention not in json.dumps(mattermost, ensure_ascii=False)
    assert "@\u200beveryone" in mattermost["text"]


@pytest.mark.parametrize("fmt", CHAT)
def test_what_is_cut_ends_with_an_ellipsis(fmt: WebhookFormat) -> None:
    """A text cut to a limit says so with an ellipsis; the start of it is kept."""
    alert = dict(ALERTS)["long names"]
    texts = list(_strings(FORMATS[fmt].payload(alert)))
    cut = [t for t in texts if t.startswith("y" * 100)]
    assert cut, fmt
    assert all(t.endswith("\u2026") and utf16(t) < 50_000 for t in cut), fmt


def test_generic_keeps_the_alert_uncut() -> None:
    """The generic format is data for scripts: every address and the whole text, as is."""
    alert = dict(ALERTS)["long names"]
    body = FORMATS[WebhookFormat.GENERIC].payload(alert)
    assert body["text"] == alert.text
    assert body["addresses"] == list(alert.addresses)


def test_many_pools_in_one_scan_reach_every_channel_valid(sink: Sink) -> None:
    """A first scan over 300 networks, all critical: each channel gets one valid message per
    network, every one as its platform accepts it."""
    networks = [usage(20, name=f"net-{i:03d}-" + "x" * 200) for i in range(300)]
    hooks = [webhook(fmt, fmt, sink.url(f"/{fmt}")) for fmt in WebhookFormat]
    config = alerts_config(*hooks)
    step = plan(analysis(*networks), {}, config, T0)
    results = deliver_plan(step, hooks, Policy(budget=120.0))
    assert all(r.ok for r in results), [str(r.error) for r in results if not r.ok][:3]
    for fmt in WebhookFormat:
        posts = sink.posts(f"/{fmt}")
        assert len(posts) == len(networks)
        assert [p for post in posts for p in problems(fmt, post.json)] == []


@pytest.mark.parametrize("fmt", list(WebhookFormat))
def test_site_is_named_in_every_format(fmt: WebhookFormat) -> None:
    """With ``[daemon] site`` set, every format's message names the site (a channel that
    several sites share tells them apart); without it, no format mentions one."""
    assert "fra1" in json.dumps(FORMATS[fmt].payload(replace(NORMAL, site="fra1")))
    assert "fra1" not in json.dumps(FORMATS[fmt].payload(NORMAL))


def test_plan_sets_the_site_on_every_alert() -> None:
    """``plan(..., site=...)`` stamps the site on each alert of each webhook."""
    hooks = (webhook("ops", "slack", "http://127.0.0.1:9/"), webhook("raw", "generic", "x"))
    step = plan(analysis(usage(21)), {}, alerts_config(*hooks), T0, site="fra1")
    sent = [a for alerts in step.alerts.values() for a in alerts]
    assert sent and {a.site for a in sent} == {"fra1"}
