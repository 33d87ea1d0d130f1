"""Which MACs are in the pool: a prefix, an inclusive range or an explicit list (pure).

A prefix of three octets holds 16.7 million MACs, so nothing here lists the pool: MACs are
48-bit integers, a pool answers ``in`` and walks upward from its first MAC, skipping the
few that are in use (``first_free``).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass

from leasewatch.model import normalize_mac

_OCTET = re.compile(r"[0-9a-fA-F]{1,2}")
MAC_BITS = 48

# Only the first octet's two low bits carry meaning (IEEE 802, "I/G" and "U/L" bits).
MULTICAST_BIT = 0x01
LOCAL_BIT = 0x02

# OUIs that hypervisors (not NIC makers) give virtual NICs: a pool there is the usual way to
# hand out MACs to VMs, as long as no other hypervisor on the network draws from it at random.
HYPERVISOR_OUIS = {
    0x00163E: "Xen",
    0x005056: "VMware",
    0x000C29: "VMware",
    0x00155D: "Hyper-V",
    0x080027: "VirtualBox",
    0x001C42: "Parallels",
}


class PoolKind(enum.StrEnum):
    """How the pool was written in ``[macpool]``."""

    PREFIX = "prefix"
    RANGE = "range"
    MACS = "macs"


def mac_int(mac: str) -> int:
    """``aa:bb:cc:dd:ee:ff`` (normalized) as an int."""
    return int(mac.replace(":", ""), 16)


def mac_str(value: int) -> str:
    """An int as ``aa:bb:cc:dd:ee:ff``."""
    text = f"{value:012x}"
    return ":".join(text[i : i + 2] for i in range(0, 12, 2))


def _octets(text: str, *, most: int) -> list[int] | None:
    parts = re.split(r"[:-]", text.strip())
    if not 1 <= len(parts) <= most or not all(_OCTET.fullmatch(p) for p in parts):
        return None
    return [int(p, 16) for p in parts]


@dataclass(frozen=True, slots=True)
class MacPool:
    """The pool's MACs: ``first``..``last`` (prefix, range), or exactly ``macs`` (a list)."""

    kind: PoolKind
    first: int
    last: int
    macs: tuple[int, ...] = ()  # sorted; set only for PoolKind.MACS
    prefix: str = ""  # "52:54:00:5e:" for PoolKind.PREFIX: a string test per lease is 3x faster

    @property
    def size(self) -> int:
        return len(self.macs) if self.kind is PoolKind.MACS else self.last - self.first + 1

    def __contains__(self, mac: object) -> bool:
        if not isinstance(mac, str):
            return False
        if self.prefix:
            return mac.startswith(self.prefix)  # normalized MACs: lower case, colons
        value = mac_int(mac)
        if self.kind is PoolKind.MACS:
            return value in self._members
        return self.first <= value <= self.last

    @property
    def _members(self) -> frozenset[int]:
        return frozenset(self.macs)

    def walk(self) -> Iterator[int]:
        """Every MAC of the pool in ascending order (lazily: prefixes are large)."""
        if self.kind is PoolKind.MACS:
            yield from self.macs
        else:
            yield from range(self.first, self.last + 1)

    def first_free(self, used: Collection[int]) -> int | None:
        """The lowest MAC of the pool not in ``used``; at most len(used) + 1 steps."""
        for value in self.walk():
            if value not in used:
                return value
        return None

    def describe(self) -> str:
        if self.kind is PoolKind.MACS:
            return f"{len(self.macs)} listed MACs"
        return f"{mac_str(self.first)} - {mac_str(self.last)}"


def from_prefix(text: str) -> MacPool:
    """``52:54:00:5e``: every MAC under it. Raises ValueError naming what was expected."""
    octets = _octets(text, most=5)
    if octets is None:
        raise ValueError(f"expected 1 to 5 octets like '52:54:00:5e', got {text!r}")
    free_bits = MAC_BITS - 8 * len(octets)
    base = int.from_bytes(bytes(octets), "big") << free_bits
    shown = "".join(f"{octet:02x}:" for octet in octets)
    pool = MacPool(PoolKind.PREFIX, base, base + (1 << free_bits) - 1, prefix=shown)
    _check_unicast(pool, text)
    return pool


def from_range(first: str, last: str) -> MacPool:
    """``["52:54:00:5e:00:00", "52:54:00:5e:00:ff"]``, both ends included."""
    ends = [normalize_mac(first), normalize_mac(last)]
    for given, mac in zip((first, last), ends, strict=True):
        if mac is None:
            raise ValueError(f"expected two MACs like '52:54:00:5e:00:00', got {given!r}")
    low, high = (mac_int(m) for m in ends if m is not None)
    if low > high:
        raise ValueError(f"expected the first MAC <= the last, got {first!r} > {last!r}")
    pool = MacPool(PoolKind.RANGE, low, high)
    _check_unicast(pool, f"{first} - {last}")
    return pool


def from_list(items: Collection[str]) -> MacPool:
    """An explicit list of MACs (duplicates are an error: they would be handed out once)."""
    values: list[int] = []
    for item in items:
        mac = normalize_mac(item)
        if mac is None:
            raise ValueError(f"expected MACs like '52:54:00:5e:00:01', got {item!r}")
        values.append(mac_int(mac))
    if not values:
        raise ValueError("expected at least one MAC")
    if len(set(values)) != len(values):
        dup = next(v for v in values if values.count(v) > 1)
        raise ValueError(f"{mac_str(dup)} is listed twice")
    ordered = tuple(sorted(values))
    pool = MacPool(PoolKind.MACS, ordered[0], ordered[-1], ordered)
    for value in ordered:
        _check_unicast(MacPool(PoolKind.MACS, value, value, (value,)), mac_str(value))
    return pool


def _first_octets(pool: MacPool) -> range:
    return range(pool.first >> 40, (pool.last >> 40) + 1)


def _check_unicast(pool: MacPool, shown: str) -> None:
    """A multicast MAC on a NIC breaks the VM's networking: never in a pool."""
    if any(octet & MULTICAST_BIT for octet in _first_octets(pool)):
        raise ValueError(
            f"{shown} includes multicast MACs (the first octet's lowest bit is set): "
            "a NIC's MAC must be unicast, like 52:54:00:..."
        )


def warnings(pool: MacPool) -> list[str]:
    """What to tell the operator about a valid pool (``check-config``), one line at most."""
    if all(octet & LOCAL_BIT for octet in _first_octets(pool)):
        return []
    oui = pool.first >> 24
    owner = HYPERVISOR_OUIS.get(oui) if oui == pool.last >> 24 else None
    if owner is not None:
        return [
            f"{pool.describe()} is under {owner}'s OUI {mac_str(oui << 24)[:8]}: fine only "
            f"if no {owner} host on these networks picks MACs there itself"
        ]
    return [
        f"{pool.describe()} is not locally administered (the first octet's second-lowest bit "
        "is clear): that is a vendor OUI real NICs use; use a prefix like 52:54:00:xx (or "
        "another with that bit set) unless you own this OUI"
    ]
