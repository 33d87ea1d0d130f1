"""Bulk reads of one server's lease table: numbers, not objects (``Leases`` inherits these).

A scan walks every active lease twice: the analysis matches each MAC against the inventory,
the sightings compare each lease with what the last scan saw. At 440,000 active leases a
``Lease`` or a MAC string each cost seconds (bench/); these give numbers, and a table that
holds rows (the ISC journal's) answers them straight from its rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Protocol


class _Lease(Protocol):
    @property
    def mac(self) -> str | None: ...
    @property
    def starts(self) -> datetime | None: ...
    @property
    def ends(self) -> datetime | None: ...


class _Table(Protocol):
    def get(self, ip: int) -> _Lease | None: ...
    def mac(self, ip: int) -> str | None: ...


class BulkReads:
    """The generic forms, from ``get`` and ``mac``; tables with rows answer faster."""

    __slots__ = ()

    def mac_keys(self: _Table, ips: Iterable[int]) -> Iterator[int | None]:
        """The MAC of each address's lease as a 48-bit number (None: no lease or no MAC),
        for matching against an inventory's numbers (``leasewatch.macset``)."""
        from leasewatch.model import normalize_mac  # the model imports this module

        for ip in ips:
            mac = self.mac(ip)
            normal = None if mac is None else normalize_mac(mac)
            yield None if normal is None else int(normal.replace(":", ""), 16)

    def stamps(self: _Table, ips: Iterable[int]) -> Iterator[int]:
        """For each address, a number that stays the same from one read to the next, in any
        process of one Python build, while the MAC and times of its lease do: the sightings
        leave those out (``leasewatch.sightings``)."""
        for ip in ips:
            lease = self.get(ip)
            if lease is None:
                yield -1
                continue
            # ints only: the hash of a str or of None differs from one process to the next
            yield hash(
                (
                    -1 if lease.mac is None else int.from_bytes(lease.mac.encode()),
                    -1 if lease.starts is None else int(lease.starts.timestamp()),
                    -1 if lease.ends is None else int(lease.ends.timestamp()),
                )
            )
