"""Text from the network, made safe for a terminal.

Client hostnames, vendor strings and uids are chosen by whoever sends a DHCP request. Shown
raw, an ESC sequence could repaint a terminal or a CR/LF forge a line of output (a fake
"released" line in a log, a cleared screen). Every table, ``why``, alert text and log line
passes such values through ``printable``; JSON and CSV keep the exact value (their encoders
quote it).
"""

from __future__ import annotations

import re

# C0 controls (including ESC, CR, LF, BEL, TAB), DEL, the C1 range (U+0080-U+009F, which
# some terminals take as CSI and friends), and the bidirectional overrides and isolates that
# make text display as something else (CVE-2021-42574, "Trojan Source"). The backslash is
# escaped too, so an escaped string cannot be mistaken for an already-escaped one.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\\\\]")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char == "\\":
        return "\\\\"
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with every control character shown as ``\\xNN`` (and ``\\`` as ``\\\\``)."""
    if _UNSAFE.search(text) is None:  # the common case: nothing to do, no copy
        return text
    return _UNSAFE.sub(_escape, text)


def maybe(text: str | None, missing: str = "-") -> str:
    """``printable`` for an optional value; ``missing`` when there is none."""
    return missing if text is None else printable(text)
