"""Each webhook platform's documented message shape and limits, as JSON Schemas.

Written from the platforms' own documentation, not from leasewatch's output, so that a payload
the code builds is checked against what the platform accepts:

- Slack: "Sending messages using incoming webhooks" (https://api.slack.com/messaging/webhooks),
  the Block Kit reference (https://docs.slack.dev/reference/block-kit/blocks: header text
  plain_text <= 150; section text <= 3000 or 1-10 fields <= 2000 each; context 1-10
  elements; 50 blocks a message), text objects
  (https://docs.slack.dev/reference/block-kit/composition-objects/text-object: text at least 1
  character), escaping of ``&``, ``<``, ``>``
  (https://api.slack.com/reference/surfaces/formatting#escaping) and the 40,000-character
  truncation of a message's text (chat.postMessage, "Truncating content").
- Mattermost: "Incoming webhooks" (https://developers.mattermost.com/integrate/webhooks/incoming/:
  text, username, icon_url, icon_emoji, channel, attachments, type, props, priority) and
  "Message attachments" (https://developers.mattermost.com/integrate/reference/message-attachments/:
  fallback required, color hex, fields of title/value/short); a post's message is at most
  4000 characters on a server without the long-post migration (16383 with it), and old
  servers refuse attachments over 7900 characters in all.
- Microsoft Teams: the Workflows webhook envelope ``{"type": "message", "attachments":
  [{"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": null,
  "content": {...}}]}`` ("Send Adaptive Cards using an Incoming Webhook") holding an Adaptive
  Card 1.x, whose AdaptiveCard, TextBlock, FactSet and Fact definitions, and Colors,
  FontSize, FontWeight, FontType, HorizontalAlignment and Spacing enums (case-insensitive),
  follow the official schema (https://adaptivecards.io/schemas/adaptive-card.json, 1.4.0;
  microsoft/AdaptiveCards, schemas/1.4.0/adaptive-card.json) for the elements leasewatch
  uses; a message is at most 28 KB ("Limits and specifications for Microsoft Teams").
- Discord: "Execute Webhook" (https://discord.com/developers/docs/resources/webhook#execute-webhook:
  content <= 2000, username 1-80, up to 10 embeds, allowed_mentions) and the embed limits
  (https://discord.com/developers/docs/resources/message#embed-object-embed-limits: title 256,
  description 4096, 25 fields of name 256 / value 1024 (both required, non-empty), footer
  2048, author name 256, and 6000 characters over all embeds of a message).
- generic: leasewatch's own documented object (leasewatch/alerts/generic.py, README).

Limits are counted in UTF-16 code units (``maxLength`` is redefined so), the stricter of
the two ways a platform may count: a payload that passes here passes either way. Rules JSON
Schema cannot say (a total over several fields, a size in bytes) are in ``problems``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator, ValidationError, validators

Schema = dict[str, Any]


def utf16(text: str) -> int:
    """The length of ``text`` in UTF-16 code units."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _max_length(
    validator: Any, limit: int, instance: Any, schema: Schema
) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and utf16(instance) > limit:
        yield ValidationError(f"{instance[:40]!r}... is {utf16(instance)} > {limit} UTF-16 units")


def _min_length(
    validator: Any, limit: int, instance: Any, schema: Schema
) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and utf16(instance) < limit:
        yield ValidationError(f"{instance!r} is shorter than {limit}")


# extend() is untyped in types-jsonschema; the class it returns is a Draft 2020-12 validator
Validator: type[Draft202012Validator] = validators.extend(  # type: ignore[no-untyped-call]
    Draft202012Validator, {"maxLength": _max_length, "minLength": _min_length}
)


def _text(max_length: int | None = None, min_length: int = 1) -> Schema:
    out: Schema = {"type": "string", "minLength": min_length}
    if max_length is not None:
        out["maxLength"] = max_length
    return out


def _one_of_words(*words: str) -> Schema:
    """An Adaptive Card enum: the official schema accepts any letter case."""
    return {"type": "string", "pattern": f"(?i)^({'|'.join(words)})$"}


# --------------------------------------------------------------------------- Slack

# Text Slack parses must have &, < and > escaped (no <!channel>, no <@U123> from a host name).
_SLACK_ESCAPED = r"^([^&<>]|&(amp|lt|gt);)*$"


def _slack_text(max_length: int) -> Schema:
    return {
        "oneOf": [
            {
                "type": "object",
                "properties": {
                    "type": {"const": "plain_text"},
                    "text": _text(max_length),
                    "emoji": {"type": "boolean"},
                },
                "required": ["type", "text"],
                "additionalProperties": False,
            },
            {
                "type": "object",
                "properties": {
                    "type": {"const": "mrkdwn"},
                    "text": {**_text(max_length), "pattern": _SLACK_ESCAPED},
                    "verbatim": {"type": "boolean"},
                },
                "required": ["type", "text"],
                "additionalProperties": False,
            },
        ]
    }


_BLOCK_ID = _text(255)

SLACK: Schema = {
    "type": "object",
    "properties": {
        "text": {**_text(40_000), "pattern": _SLACK_ESCAPED},
        "blocks": {
            "type": "array",
            "maxItems": 50,
            "items": {
                "oneOf": [
                    {
                        "type": "object",
                        "properties": {
                            "type": {"const": "header"},
                            "text": {
                                "allOf": [
                                    _slack_text(150),
                                    {"properties": {"type": {"const": "plain_text"}}},
                                ]
                            },
                            "block_id": _BLOCK_ID,
                        },
                        "required": ["type", "text"],
                        "additionalProperties": False,
                    },
                    {
                        "type": "object",
                        "properties": {
                            "type": {"const": "section"},
                            "text": _slack_text(3000),
                            "fields": {
                                "type": "array",
                                "minItems": 1,
                                "maxItems": 10,
                                "items": _slack_text(2000),
                            },
                            "block_id": _BLOCK_ID,
                        },
                        "required": ["type"],
                        "anyOf": [{"required": ["text"]}, {"required": ["fields"]}],
                        "additionalProperties": False,
                    },
                    {
                        "type": "object",
                        "properties": {
                            "type": {"const": "context"},
                            "elements": {
                                "type": "array",
                                "minItems": 1,
                                "maxItems": 10,
                                "items": _slack_text(3000),
                            },
                            "block_id": _BLOCK_ID,
                        },
                        "required": ["type", "elements"],
                        "additionalProperties": False,
                    },
                    {
                        "type": "object",
                        "properties": {"type": {"const": "divider"}, "block_id": _BLOCK_ID},
                        "required": ["type"],
                        "additionalProperties": False,
                    },
                ]
            },
        },
        "thread_ts": {"type": "string"},
        "mrkdwn": {"type": "boolean"},
        "unfurl_links": {"type": "boolean"},
        "unfurl_media": {"type": "boolean"},
    },
    "anyOf": [{"required": ["text"]}, {"required": ["blocks"]}],
    "additionalProperties": False,
}

# --------------------------------------------------------------------------- Mattermost

MATTERMOST_TEXT_MAX = 4000
MATTERMOST_ATTACHMENTS_MAX = 7900

MATTERMOST: Schema = {
    "type": "object",
    "properties": {
        "text": _text(MATTERMOST_TEXT_MAX),
        "username": _text(),
        "icon_url": {"type": "string"},
        "icon_emoji": {"type": "string"},
        "channel": {"type": "string"},
        "type": {"type": "string"},
        "props": {"type": "object"},
        "priority": {"type": "object"},
        "attachments": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "fallback": _text(),
                    "color": {
                        "type": "string",
                        "pattern": "^(#[0-9a-fA-F]{3}|#[0-9a-fA-F]{6}|good|warning|danger)$",
                    },
                    "pretext": {"type": "string"},
                    "text": {"type": "string"},
                    "author_name": {"type": "string"},
                    "author_link": {"type": "string"},
                    "author_icon": {"type": "string"},
                    "title": {"type": "string"},
                    "title_link": {"type": "string"},
                    "fields": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "title": {"type": "string"},
                                "value": {"type": ["string", "number"]},
                                "short": {"type": "boolean"},
                            },
                            "required": ["title", "value"],
                            "additionalProperties": False,
                        },
                    },
                    "image_url": {"type": "string"},
                    "thumb_url": {"type": "string"},
                    "footer": {"type": "string"},
                    "footer_icon": {"type": "string"},
                },
                "required": ["fallback"],
                "additionalProperties": False,
            },
        },
    },
    "anyOf": [{"required": ["text"]}, {"required": ["attachments"]}],
    "additionalProperties": False,
}

# --------------------------------------------------------------------------- Teams

TEAMS_MESSAGE_MAX_BYTES = 28 * 1024

_ELEMENT = {
    "id": {"type": "string"},
    "spacing": _one_of_words(
        "default", "none", "small", "medium", "large", "extraLarge", "padding"
    ),
    "separator": {"type": "boolean"},
    "height": _one_of_words("auto", "stretch"),
    "isVisible": {"type": "boolean"},
    "requires": {"type": "object"},
    "fallback": {},
}

TEXT_BLOCK: Schema = {
    "type": "object",
    "properties": {
        "type": {"const": "TextBlock"},
        "text": {"type": "string"},
        "color": _one_of_words(
            "default", "dark", "light", "accent", "good", "warning", "attention"
        ),
        "fontType": _one_of_words("default", "monospace"),
        "horizontalAlignment": _one_of_words("left", "center", "right"),
        "isSubtle": {"type": "boolean"},
        "maxLines": {"type": "number"},
        "size": _one_of_words("default", "small", "medium", "large", "extraLarge"),
        "weight": _one_of_words("default", "lighter", "bolder"),
        "wrap": {"type": "boolean"},
        **_ELEMENT,
    },
    "required": ["type", "text"],
    "additionalProperties": False,
}

FACT_SET: Schema = {
    "type": "object",
    "properties": {
        "type": {"const": "FactSet"},
        "facts": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"title": {"type": "string"}, "value": {"type": "string"}},
                "required": ["title", "value"],
                "additionalProperties": False,
            },
        },
        **_ELEMENT,
    },
    "required": ["type", "facts"],
    "additionalProperties": False,
}

ADAPTIVE_CARD: Schema = {
    "type": "object",
    "properties": {
        "$schema": {"const": "http://adaptivecards.io/schemas/adaptive-card.json"},
        "type": {"const": "AdaptiveCard"},
        # Teams renders 1.0 to 1.5 ("Adaptive Cards in Teams": "supports version 1.5 or
        # earlier"); the top-level card must say which it needs.
        "version": {"type": "string", "pattern": r"^1\.[0-5]$"},
        "body": {"type": "array", "items": {"oneOf": [TEXT_BLOCK, FACT_SET]}},
        "fallbackText": {"type": "string"},
        "speak": {"type": "string"},
        "lang": {"type": "string"},
        "msteams": {"type": "object"},
    },
    "required": ["type", "version"],
    "additionalProperties": False,
}

TEAMS: Schema = {
    "type": "object",
    "properties": {
        "type": {"const": "message"},
        "attachments": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {
                    "contentType": {"const": "application/vnd.microsoft.card.adaptive"},
                    "contentUrl": {"type": ["string", "null"]},
                    "content": ADAPTIVE_CARD,
                },
                "required": ["contentType", "content"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["type", "attachments"],
    "additionalProperties": False,
}

# --------------------------------------------------------------------------- Discord

DISCORD_EMBEDS_TOTAL_MAX = 6000

EMBED: Schema = {
    "type": "object",
    "properties": {
        "title": _text(256),
        "type": {"const": "rich"},
        "description": _text(4096),
        "url": {"type": "string"},
        "timestamp": {
            "type": "string",
            "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$",
        },
        "color": {"type": "integer", "minimum": 0, "maximum": 0xFFFFFF},
        "footer": {
            "type": "object",
            "properties": {"text": _text(2048), "icon_url": {"type": "string"}},
            "required": ["text"],
            "additionalProperties": False,
        },
        "author": {
            "type": "object",
            "properties": {
                "name": _text(256),
                "url": {"type": "string"},
                "icon_url": {"type": "string"},
            },
            "required": ["name"],
            "additionalProperties": False,
        },
        "fields": {
            "type": "array",
            "maxItems": 25,
            "items": {
                "type": "object",
                "properties": {
                    "name": _text(256),
                    "value": _text(1024),
                    "inline": {"type": "boolean"},
                },
                "required": ["name", "value"],
                "additionalProperties": False,
            },
        },
    },
    "additionalProperties": False,
}

DISCORD: Schema = {
    "type": "object",
    "properties": {
        "content": _text(2000),
        "username": _text(80),
        "avatar_url": {"type": "string"},
        "tts": {"type": "boolean"},
        "embeds": {"type": "array", "maxItems": 10, "items": EMBED},
        "allowed_mentions": {
            "type": "object",
            "properties": {
                "parse": {
                    "type": "array",
                    "items": {"enum": ["roles", "users", "everyone"]},
                },
                "roles": {"type": "array", "items": {"type": "string"}},
                "users": {"type": "array", "items": {"type": "string"}},
                "replied_user": {"type": "boolean"},
            },
            "additionalProperties": False,
        },
        "flags": {"type": "integer"},
        "thread_name": {"type": "string"},
    },
    "anyOf": [{"required": ["content"]}, {"required": ["embeds"]}],
    "additionalProperties": False,
}

# --------------------------------------------------------------------------- generic

_LEVEL = {"enum": ["ok", "warn", "critical"]}
_COUNT = {"type": "integer", "minimum": 0}

GENERIC: Schema = {
    "type": "object",
    "properties": {
        "kind": {
            "enum": [
                "level",
                "recovered",
                "reminder",
                "orphans",
                "released",
                "source_down",
                "source_up",
                "test",
                "forecast",
            ]
        },
        "site": {"type": ["string", "null"]},
        "server": {"type": "string"},
        "network": {"type": "string"},
        "level": _LEVEL,
        "previous": {"anyOf": [_LEVEL, {"type": "null"}]},
        "utilization": {"type": "number", "minimum": 0, "maximum": 1},
        "size": _COUNT,
        "active": _COUNT,
        "free": _COUNT,
        "orphans": _COUNT,
        "addresses": {"type": "array", "items": {"type": "string"}},
        "time": {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"},
        "text": {"type": "string"},
    },
    "additionalProperties": False,
}
GENERIC["required"] = sorted(GENERIC["properties"])

SCHEMAS: dict[str, Schema] = {
    "slack": SLACK,
    "mattermost": MATTERMOST,
    "teams": TEAMS,
    "discord": DISCORD,
    "generic": GENERIC,
}


def problems(fmt: str, body: dict[str, Any]) -> list[str]:
    """Everything in ``body`` that the platform of ``fmt`` documents it would refuse."""
    out = [
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:200]}"
        for e in Validator(SCHEMAS[fmt]).iter_errors(body)
    ]
    if fmt == "discord":
        total = 0
        for embed in body.get("embeds", []):
            total += sum(utf16(embed.get(key, "")) for key in ("title", "description"))
            total += utf16(embed.get("footer", {}).get("text", ""))
            total += utf16(embed.get("author", {}).get("name", ""))
            total += sum(utf16(f["name"]) + utf16(f["value"]) for f in embed.get("fields", []))
        if total > DISCORD_EMBEDS_TOTAL_MAX:
            out.append(f"embeds: {total} characters in all > {DISCORD_EMBEDS_TOTAL_MAX}")
    if fmt == "mattermost":
        # as the server counted it: the attachments' JSON
        size = utf16(json.dumps(body.get("attachments", []), ensure_ascii=False))
        if size > MATTERMOST_ATTACHMENTS_MAX:
            out.append(f"attachments: {size} characters > {MATTERMOST_ATTACHMENTS_MAX}")
    if fmt == "teams":
        size = len(json.dumps(body).encode())  # as requests sends it (ASCII, escaped)
        if size > TEAMS_MESSAGE_MAX_BYTES:
            out.append(f"message: {size} bytes > {TEAMS_MESSAGE_MAX_BYTES}")
    return out
