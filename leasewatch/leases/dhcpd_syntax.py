"""What dhcpd.conf and dhcpd.leases share: quoted strings and dotted quads, read as dhcpd does.

One decoder for both files (dhcpd reads both with one lexer, ``read_string`` in
common/conflex.c), so a host name means the same in the configuration and in the journal.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address

# dhcpd's escapes: \t \r \n \b, \NNN (three octal digits, the first 0-3: one byte), \xHH
# (two hex digits: one byte); a backslash before anything else stands for that character.
_ESCAPE = re.compile(rb"\\([0-3][0-7]{2}|x[0-9A-Fa-f]{2}|.)", re.DOTALL)
_CONTROL = {b"t": b"\t", b"r": b"\r", b"n": b"\n", b"b": b"\b"}


def _one(m: re.Match[bytes]) -> bytes:
    text = m.group(1)
    if len(text) == 3:
        if text[0] == 0x78:  # x
            return bytes([int(text[1:], 16)])
        return bytes([int(text, 8)])
    return _CONTROL.get(text, text)


def decode_bytes(body: bytes) -> bytes:
    r"""A quoted string's body (without its quotes) as the bytes it stands for: a DHCPv6
    journal's IA keys and DUIDs are binary (``\000\001...``), not text."""
    return _ESCAPE.sub(_one, body) if b"\\" in body else body


def decode_string(body: bytes) -> str:
    r"""A quoted string's body (without its quotes) as text: escapes decoded to bytes, the
    bytes read as UTF-8, with ``\xNN`` for each byte that is not valid UTF-8.

    dhcpd escapes bytes, not characters (``print_hex_or_string`` in common/print.c writes
    unprintable bytes as ``\NNN``): a UTF-8 host name arrives as ``caf\303\251`` and means
    ``café``, so the escapes are decoded first, then the text.
    """
    if b"\\" in body:
        body = _ESCAPE.sub(_one, body)
    return body.decode("utf-8", "backslashreplace")


def parse_ipv4(text: str) -> IPv4Address | None:
    """A dotted quad as dhcpd reads it: octets with leading zeros are decimal (``010`` is 10).

    Python's ``ipaddress`` refuses leading zeros and C's ``inet_aton`` would read them as
    octal; dhcpd's own parser (``parse_numeric_aggregate`` in common/parse.c, base 10) takes
    each octet as a decimal number, so ``198.018.000.010`` is 198.18.0.10.
    """
    parts = text.split(".")
    if len(parts) != 4 or not all(p.isdigit() and p.isascii() and len(p) <= 3 for p in parts):
        return None
    octets = [int(p, 10) for p in parts]
    if any(o > 255 for o in octets):
        return None
    return IPv4Address(bytes(octets))


def describe(kind: str, text: str) -> str:
    """A token as an error message quotes it: ``"a string"``, ``'word'``, end of file."""
    if kind == "eof":
        return "end of file"
    return f'"{text}"' if kind == "string" else f"'{text}'"
