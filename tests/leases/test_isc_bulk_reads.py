"""The journal table's bulk reads (``mac_keys`` read as hex in C, ``stamps`` straight from
the rows) against the generic ones every table inherits, which read one ``Lease`` at a time."""

from __future__ import annotations

import random
from ipaddress import IPv4Address
from pathlib import Path

from leasewatch.bulk import BulkReads
from leasewatch.config import ServerConfig
from leasewatch.leases.isc import IscLeaseSource
from leasewatch.leases.isc_table import JournalTable
from leasewatch.model import Leases
from tests.leases.test_isc_differential import CONF, _journal

# active blocks dhcpd would not write alike: no MAC, no end, a MAC in another spelling
ODD = """lease 198.18.7.1 {
  starts 3 2025/01/01 00:00:00;
  ends 3 2025/01/01 23:00:00;
  binding state active;
}
lease 198.18.7.2 {
  starts 3 2025/01/01 00:00:00;
  ends never;
  binding state active;
  hardware ethernet 52:54:00:00:07:02;
}
lease 198.18.7.3 {
  starts 3 2025/01/01 00:00:00;
  ends 3 2025/01/01 23:00:00;
  binding state active;
  hardware ethernet 52-54-00-00-07-03;
}
"""


def _source(tmp_path: Path, odd: bool) -> tuple[IscLeaseSource, Path]:
    leases = tmp_path / "dhcpd.leases"
    conf = tmp_path / "dhcpd.conf"
    conf.write_text(CONF)
    _journal(leases, 11, 3000, odd=0.03)
    if odd:
        with leases.open("a") as f:
            f.write(ODD)
    return IscLeaseSource(ServerConfig("s", "isc", leases=leases, dhcpd_conf=conf)), leases


def _active(table: Leases) -> list[int]:
    return [int(x.ip) for x in table if x.state.value == "active"]


def test_bulk_reads_agree_when_every_lease_is_plain(tmp_path: Path) -> None:
    """Active leases with a MAC and both times (no MAC stands in for a missing one): the
    same numbers as the generic reads, in the order asked, repeats and all."""
    table = _source(tmp_path, odd=False)[0].read().leases
    assert isinstance(table, JournalTable)
    ips = [ip for ip in _active(table) if table.get(ip).ends is not None]  # type: ignore[union-attr]
    ips += ips[:5]
    random.Random(3).shuffle(ips)
    assert len(ips) > 100
    assert list(table.stamps(ips)) == list(BulkReads.stamps(table, ips))
    assert list(table.mac_keys(ips)) == list(BulkReads.mac_keys(table, ips))


def test_bulk_reads_agree_on_odd_and_missing_leases(tmp_path: Path) -> None:
    """No MAC, no end, a lease not active, an address with no lease: the same numbers as the
    generic reads (stamps of active leases only: the sightings ask for nothing else)."""
    table = _source(tmp_path, odd=True)[0].read().leases
    assert isinstance(table, JournalTable)
    active = _active(table)
    assert {int(IPv4Address(f"198.18.7.{n}")) for n in (1, 2, 3)} <= set(active)
    assert list(table.stamps(active)) == list(BulkReads.stamps(table, active))
    every = [int(x.ip) for x in table] + [int(IPv4Address("198.19.255.255"))]
    keys = list(table.mac_keys(every))
    assert keys == list(BulkReads.mac_keys(table, every))
    assert None in keys and keys[-1] is None
    assert list(table.mac_keys([])) == []


def test_bulk_reads_agree_after_an_appended_read(tmp_path: Path) -> None:
    """After an incremental re-read (rows changed since the full parse kept apart), both
    reads see the newer rows, as the generic reads do."""
    source, leases = _source(tmp_path, odd=False)
    first = source.read().leases
    moved = _active(first)[:40]
    with leases.open("a") as f:
        for n, ip in enumerate(moved):
            address = IPv4Address(ip)
            f.write(
                f"lease {address} {{\n  starts 3 2025/01/01 01:00:00;\n"
                f"  ends 3 2025/01/01 23:59:{n % 60:02d};\n  binding state active;\n"
                f"  hardware ethernet 52:54:00:00:09:{n:02x};\n}}\n"
            )
    table = source.read().leases
    assert source.last_was_incremental and isinstance(table, JournalTable)
    ips = _active(table)
    plain = [ip for ip in ips if table.get(ip).ends is not None]  # type: ignore[union-attr]
    assert list(table.stamps(plain)) == list(BulkReads.stamps(table, plain))
    assert list(table.mac_keys(ips)) == list(BulkReads.mac_keys(table, ips))
    assert list(table.mac_keys(moved[:1])) == [0x525400000900]
