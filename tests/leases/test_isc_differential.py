"""Differential test: leasewatch's ISC parser against isc-dhcp-leases on generated journals.

isc-dhcp-leases is the oracle here, used where it is right: ``get(include_backups=True)``
returns every block in file order, and replaying them per address (last block wins) is the
journal's meaning. Its ``get_current()`` is not used (upstream issue #37). The generated
journals vary what the oracle can read: dhcpd's statement order (our fast path) and other
orders, tabs, upper-case MACs, ``ends never`` (our slow path), superseded blocks, backups.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path

import isc_dhcp_leases
import pytest

from leasewatch.config import ServerConfig
from leasewatch.leases import isc, isc_journal
from leasewatch.leases.isc import IscLeaseSource
from leasewatch.model import normalize_mac

CONF = """subnet 198.18.0.0 netmask 255.254.0.0 {
  pool { range 198.18.0.10 198.19.255.250; }
}
"""
STATES = ["active", "free", "backup", "abandoned", "expired", "released", "reset"]
BASE = datetime(2025, 1, 1, tzinfo=UTC)


def _time(t: datetime) -> str:
    return f"{(t.weekday() + 1) % 7} {t:%Y/%m/%d %H:%M:%S}"


def _block(rng: random.Random, ip: str, n: int, odd: float = 1.0) -> str:
    """One block; ``odd`` scales the chances of what dhcpd never writes (other orders, tabs,
    upper-case MACs): 1.0 for a hand-edited file, 0.0 for dhcpd's own."""
    state = rng.choice(STATES)
    starts = BASE + timedelta(seconds=rng.randrange(86400))
    lines = [f"starts {_time(starts)};"]
    if rng.random() < 0.1:
        lines.append("ends never;")
    else:
        lines.append(f"ends {_time(starts + timedelta(seconds=rng.randrange(60, 86400)))};")
    if rng.random() < 0.5:
        lines += [f"tstp {_time(starts)};", f"cltt {_time(starts)};"]
    lines.append(f"binding state {state};")
    if state == "active" and rng.random() < 0.5:
        lines.append("next binding state free;")
    if state != "backup" or rng.random() < 0.2:
        mac = ":".join(f"{rng.randrange(256):02x}" for _ in range(6))
        lines.append(f"hardware ethernet {mac.upper() if rng.random() < 0.1 * odd else mac};")
    if rng.random() < 0.3:
        lines.append(f'uid "\\001\\"x{n}\\\\";')
    if rng.random() < 0.3:
        lines.append('set vendor-class-identifier = "PXEClient; {x}";')
    if rng.random() < 0.5:
        lines.append(f'client-hostname "vm-{n}";')
    if rng.random() < 0.1 * odd:
        rng.shuffle(lines)  # not dhcpd's order: the slow path
    indent = "\t" if rng.random() < 0.05 * odd else "  "
    body = "".join(f"{indent}{line}\n" for line in lines)
    if rng.random() < 0.1:
        body += '  on commit {\n    set ClientHost = "x";\n  }\n'
    return f"lease {ip} {{\n{body}}}\n"


def _journal(path: Path, seed: int, blocks: int, odd: float = 1.0) -> None:
    rng = random.Random(seed)
    pool = [
        f"198.{18 + rng.randrange(2)}.{rng.randrange(256)}.{rng.randrange(10, 250)}"
        for _ in range(blocks // 2)
    ]
    parts = ["authoring-byte-order little-endian;\n", 'server-duid "\\000\\001";\n']
    parts += [_block(rng, rng.choice(pool), n, odd) for n in range(blocks)]
    path.write_text("".join(parts))


def _oracle(leases: Path) -> dict[str, tuple[object, ...]]:
    """isc-dhcp-leases' blocks replayed per address; an address not active keeps only its
    state (JournalTable: nothing reads more)."""
    oracle: dict[str, tuple[object, ...]] = {}
    for block in isc_dhcp_leases.IscDhcpLeases(str(leases)).get(include_backups=True):
        oracle[block.ip] = (
            (
                block.binding_state,
                normalize_mac(block.ethernet) if block.ethernet else None,
                block.start,
                block.end,
                block.hostname or None,
            )
            if block.binding_state == "active"
            else (block.binding_state, None, None, None, None)
        )
    return oracle


def _ours(leases: Path, conf: Path) -> dict[str, tuple[object, ...]]:
    snap = IscLeaseSource(ServerConfig("s", "isc", leases=leases, dhcpd_conf=conf)).read()
    assert snap.complete
    return {str(x.ip): (x.state.value, x.mac, x.starts, x.ends, x.hostname) for x in snap.leases}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_same_current_leases_as_isc_dhcp_leases(tmp_path: Path, seed: int) -> None:
    """Every address's current state, MAC, times and host name agree with the oracle."""
    leases = tmp_path / "dhcpd.leases"
    conf = tmp_path / "dhcpd.conf"
    conf.write_text(CONF)
    _journal(leases, seed, 3000)
    ours, oracle = _ours(leases, conf), _oracle(leases)
    assert list(ours) == list(oracle)  # same addresses, in order of first appearance
    assert ours == oracle


@pytest.mark.parametrize("chunk", [300, 4096, 65536])
def test_bulk_chunks_agree_with_isc_dhcp_leases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    """dhcpd-written blocks taken a chunk at a time (the bulk path), a rare odd block sending
    its chunk item by item, chunks cutting blocks anywhere: the oracle's result still."""
    leases = tmp_path / "dhcpd.leases"
    conf = tmp_path / "dhcpd.conf"
    conf.write_text(CONF)
    _journal(leases, 7, 3000, odd=0.03)
    monkeypatch.setattr(isc_journal, "CHUNK", chunk)
    taken: list[int] = []
    bulk = isc.LeasesParser.bulk

    def spy(parser: isc.LeasesParser, buf: bytes, base: int) -> int:
        taken.append(bulk(parser, buf, base))
        return taken[-1]

    monkeypatch.setattr(isc.LeasesParser, "bulk", spy)
    ours, oracle = _ours(leases, conf), _oracle(leases)
    assert list(ours) == list(oracle)
    assert ours == oracle
    assert any(taken) and not all(taken)  # both paths ran


def test_mac_numbers_agree_with_isc_dhcp_leases(tmp_path: Path) -> None:
    """The bulk MAC numbers the analysis matches (``mac_keys``, straight from the rows) are
    the oracle's MACs, whichever path read the block, and ``None`` where it has none."""
    leases = tmp_path / "dhcpd.leases"
    conf = tmp_path / "dhcpd.conf"
    conf.write_text(CONF)
    _journal(leases, 4, 3000)
    table = IscLeaseSource(ServerConfig("s", "isc", leases=leases, dhcpd_conf=conf)).read().leases
    oracle = _oracle(leases)
    ips = [int(IPv4Address(ip)) for ip in oracle]
    expected = [
        None if mac is None else int(str(mac).replace(":", ""), 16)
        for _state, mac, *_ in oracle.values()
    ]
    assert list(table.mac_keys(ips)) == expected
    assert any(expected) and None in expected
