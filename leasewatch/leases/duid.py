"""DHCPv6 client DUIDs (RFC 8415 section 11): written as colon hex, and the MAC some hold.

A DUID-LLT (type 1: hardware type, time, link-layer address) or DUID-LL (type 3: hardware
type, link-layer address) of hardware type 1 (Ethernet) ends with a MAC. That MAC is weak
evidence of which VM holds a lease (``MacSource.DUID``): a client makes its DUID once and
keeps it (dhclient 4.4 in its lease file's ``default-duid``), so a VM cloned from a template
keeps the template's DUID, with the template's MAC inside. DUID-EN (2) and DUID-UUID (4)
hold none.
"""

from __future__ import annotations

_LLT, _LL = 1, 3
_ETHERNET = 1


def duid_text(raw: bytes) -> str:
    """A DUID as Kea and dnsmasq write it: lower-case hex bytes with colons."""
    return raw.hex(":")


def duid_bytes(text: str) -> bytes | None:
    """The bytes of a colon-hex DUID (``00:01:...``; one-digit bytes too), or None."""
    parts = text.split(":")
    if not parts or not all(1 <= len(p) <= 2 for p in parts):
        return None
    try:
        return bytes(int(p, 16) for p in parts)
    except ValueError:
        return None


def mac_of_duid(raw: bytes) -> str | None:
    """The Ethernet MAC inside a DUID-LLT or DUID-LL, or None (other types, other media)."""
    if len(raw) < 4:
        return None
    kind, hardware = int.from_bytes(raw[:2], "big"), int.from_bytes(raw[2:4], "big")
    if hardware != _ETHERNET:
        return None
    if kind == _LLT and len(raw) == 14:
        return raw[8:].hex(":")
    if kind == _LL and len(raw) == 10:
        return raw[4:].hex(":")
    return None
