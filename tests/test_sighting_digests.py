"""The bulk paths of a scan (``observe``'s digests from the rows' stamps, the analysis' MAC
matching) against plain loops over ``Lease`` objects, on a journal with odd leases."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

from leasewatch.bulk import BulkReads
from leasewatch.config import ServerConfig
from leasewatch.core.analysis import _not_listed, analyse
from leasewatch.leases.isc import IscLeaseSource
from leasewatch.macset import MacSet, mac_text
from leasewatch.model import Analysis, InventorySnapshot, ServerSnapshot, Verdict
from leasewatch.sightings import (
    _VERDICT_CODE,
    PHASES,
    REFRESH,
    SightingMemory,
    _groups,
    _judged,
    epoch,
    observe,
)
from tests.leases.test_isc_bulk_reads import ODD
from tests.leases.test_isc_differential import BASE, CONF, _journal

NOW = BASE + timedelta(hours=2)


def _server(tmp_path: Path) -> ServerSnapshot:
    leases = tmp_path / "dhcpd.leases"
    conf = tmp_path / "dhcpd.conf"
    conf.write_text(CONF)
    _journal(leases, 5, 4000, odd=0.03)
    with leases.open("a") as f:
        f.write(ODD)
    return IscLeaseSource(ServerConfig("s", "isc", leases=leases, dhcpd_conf=conf)).read()


def _inventory(snap: ServerSnapshot, keep: float, seed: int) -> InventorySnapshot:
    """Most MACs of the active leases (``keep`` of them) and as many others."""
    rng = random.Random(seed)
    macs = [m for m in map(snap.leases.mac, snap.leases.census(NOW).active) if m is not None]
    listed = [m for m in macs if rng.random() < keep]
    listed += [mac_text(rng.getrandbits(48)) for _ in range(len(macs))]
    return InventorySnapshot("hv", "command", MacSet(listed))


def _plain_observe(
    analysis: Analysis, memory: SightingMemory
) -> tuple[dict[str, list[int]], list[int]]:
    """What ``observe`` remembers and records, by a plain loop over stamps made from
    ``Lease`` objects: per server the digests, and the addresses of the leases recorded."""
    epochs = [epoch(analysis.now, phase, REFRESH) for phase in range(PHASES)]
    after: dict[str, list[int]] = {}
    recorded: list[int] = []
    for snap in analysis.servers:
        before = set(memory.leases.get(snap.server, ()))
        judged = _judged(analysis, snap)
        keep = after.setdefault(snap.server, [])
        for _network, tag, ips, unjudged in _groups(analysis, snap):
            for ip, stamp in zip(ips, BulkReads.stamps(snap.leases, ips), strict=True):
                finding = judged.get(ip)
                code, orphaned = _VERDICT_CODE[unjudged], -1
                if finding is not None:
                    code = _VERDICT_CODE[finding.verdict]
                    since = finding.missing_since if finding.verdict is Verdict.ORPHAN else None
                    orphaned = -1 if since is None else int(since.timestamp())
                digest = hash((ip, stamp, tag, code, orphaned, epochs[ip % PHASES])) or 1
                if digest in before:
                    keep.append(digest)
                elif snap.leases.mac(ip) is not None:
                    keep.append(digest)
                    recorded.append(ip)
    return after, recorded


def test_observe_remembers_and_records_as_the_plain_loop(tmp_path: Path) -> None:
    """A first scan and a later one (some VMs gone, so new orphans; a new period for some
    phases): the same digests remembered, the same leases recorded, as the plain loop."""
    snap = _server(tmp_path)
    memory = SightingMemory()
    for minutes, keep in ((0, 0.9), (7, 0.8)):
        analysis = analyse(
            [snap], [_inventory(snap, keep, minutes)], now=NOW + timedelta(minutes=minutes)
        )
        assert analysis.orphans and analysis.live
        want, recorded = _plain_observe(analysis, memory)
        seen, memory = observe(analysis, memory)
        assert {k: list(v) for k, v in memory.leases.items()} == want
        assert [int(s.ip) for s, _verdict in seen.leases] == recorded
    assert 0 < len(seen.leases) < len(want["s"])  # the later scan left the unchanged out


def test_unlisted_leases_are_those_a_set_finds(tmp_path: Path) -> None:
    """The analysis' bulk MAC matching (ascending, a window then a bisection) finds the
    leases a set of the listed MACs does not hold, and those without a MAC."""
    snap = _server(tmp_path)
    ips = list(snap.leases.census(NOW).active)
    for keep, seed in ((0.0, 1), (0.5, 2), (1.0, 3)):
        listed = _inventory(snap, keep, seed).macs
        assert isinstance(listed, MacSet)
        held = set(listed.keys())
        want = [
            ip
            for ip, key in zip(ips, BulkReads.mac_keys(snap.leases, ips), strict=True)
            if key is None or key not in held
        ]
        assert _not_listed(snap.leases, ips, listed) == want
    assert _not_listed(snap.leases, ips, MacSet()) == ips
