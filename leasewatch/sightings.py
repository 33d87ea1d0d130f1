"""The sighting recorder: what each scan saw of VMs and leases, for ``advise`` and ``why``.

Pure. Every scan turns its analysis into an ``Observation`` (``observe``): the MACs healthy
inventories listed, and every active lease with its network and the analysis' verdict
(never re-judged: the orphan rules ran once, in ``core.analysis``). The state file folds
observations into sightings (``State.add_sightings``: first and last time each MAC and each
lease was seen, and since when a lease's MAC has been missing); ``core.advice`` reads them
back.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zlib import crc32

from leasewatch.core.orphans import covering
from leasewatch.core.usage import count
from leasewatch.macset import MacSet, mac_text
from leasewatch.model import Address, Analysis, InventorySnapshot, Thresholds, Verdict


@dataclass(frozen=True, slots=True)
class VmSighting:
    """A MAC some healthy inventory listed: the first and last scan that saw it."""

    mac: str
    first_seen: datetime
    last_seen: datetime


@dataclass(frozen=True, slots=True)
class LeaseSighting:
    """One lease (server, address, MAC) across scans; starts/ends as last seen.

    ``orphaned_at`` is since when its MAC has been missing (None while the VM is alive).
    """

    server: str
    ip: Address
    mac: str
    network: str | None
    starts: datetime | None
    ends: datetime | None
    first_seen: datetime
    last_seen: datetime
    orphaned_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Observation:
    """What one scan adds to the sightings: live MACs, and each active lease with its verdict."""

    at: datetime
    vms: frozenset[str]  # seen at ``at``
    leases: tuple[tuple[LeaseSighting, Verdict], ...]
    vms_last_seen: tuple[tuple[str, datetime], ...] = ()  # gone since: the last scan that saw them


@dataclass(frozen=True, slots=True)
class SightingMemory:
    """What the last observation recorded or found unchanged, compact enough to keep in the
    state file (a cron run has no other memory of the run before): 8 bytes a lease and a VM.

    ``leases``: per server, the digest (``lease_digest``) of every active lease it saw;
    ``vms``: the sorted 48-bit numbers of the MACs healthy inventories listed at ``at``.
    The arrays are read-only by convention. Digests are Python's hash of ints, the same in
    every process of one Python build; another build only makes one scan record everything.
    """

    at: datetime | None = None
    leases: Mapping[str, array[int]] = field(default_factory=dict)
    vms: array[int] = field(default_factory=lambda: array("Q"))


REFRESH = timedelta(hours=1)
PHASES = 64  # refresh times spread over this many phases of ``refresh``
_VERDICT_CODE = {verdict: n for n, verdict in enumerate(Verdict)}


def epoch(at: datetime, phase: int, refresh: timedelta) -> int:
    """Which period of ``refresh`` ``at`` falls in for a lease or VM of ``phase`` (0..63):
    the periods of different phases start 1/64 of ``refresh`` apart."""
    period = max(int(refresh.total_seconds()), 1) * PHASES
    return (int(at.timestamp()) * PHASES + phase * period // PHASES) // period


def observe(
    analysis: Analysis,
    memory: SightingMemory | None = None,
    *,
    refresh: timedelta = REFRESH,
) -> tuple[Observation, SightingMemory]:
    """The sightings one analysis holds (leases without a MAC are left out), and the memory.

    Given the memory an earlier call returned (the daemon's, or the state file's), a lease
    whose MAC, times, network, verdict and orphan time are what was seen then, or a VM listed
    then, is left out unless a new period of ``refresh`` began for it since (periods are
    spread by address and MAC, so the refreshes of a million leases do not all fall on one
    scan). A VM that is no longer listed is recorded with the last scan that saw it, so VM
    lifetimes stay exact; a lease's ``last_seen`` lags by at most ``refresh``. Measured on a
    1M-block journal with 440,000 active leases and 550,000 VMs (bench/): observing and
    recording everything took 24 s of every cron scan; with the memory, a scan that finds
    nothing new spends under a second here, and builds no ``Lease`` for what it leaves out.
    """
    now = analysis.now
    # the analysis' verdicts, never re-judged: orphans and unknown are listed, every other
    # lease in a watched network is live, one in a network no inventory covers is unknown
    judged = {(f.lease.server, int(f.lease.ip)): f for f in (*analysis.orphans, *analysis.unknown)}
    remembered = memory or SightingMemory()
    # a lease's digest takes its period: a new period is a new digest, so it is recorded
    epochs = [epoch(now, phase, refresh) for phase in range(PHASES)]
    after: dict[str, array[int]] = {}
    leases: list[tuple[LeaseSighting, Verdict]] = []
    for snap in analysis.servers:
        before = remembered.leases.get(snap.server)
        if snap.error is not None:
            if before is not None:
                after[snap.server] = before
            continue
        # sorted: a bisection finds a digest (a set of 440,000 ints would cost 40 MB of the
        # peak; the bisections take 0.15 s)
        seen = before if before is not None else array("q")
        found = len(seen)
        table = snap.leases
        digests: list[int] = []
        keep = digests.append
        _networks, groups = count(snap, _no_thresholds, now)
        for network, ips in groups:
            unjudged = Verdict.LIVE if covering(analysis.inventories, network) else Verdict.UNKNOWN
            tag = -1 if network is None else crc32(network.encode())
            for ip in ips:
                finding = judged.get((snap.server, ip))
                orphaned_at = None
                verdict = unjudged
                if finding is not None:
                    verdict = finding.verdict
                    if finding.verdict is Verdict.ORPHAN:
                        orphaned_at = finding.missing_since
                digest = hash(
                    (
                        ip,
                        table.stamp(ip),
                        tag,
                        _VERDICT_CODE[verdict],
                        -1 if orphaned_at is None else int(orphaned_at.timestamp()),
                        epochs[ip % PHASES],
                    )
                )
                i = bisect_left(seen, digest)
                if i < found and seen[i] == digest:
                    keep(digest)
                    continue
                lease = table.get(ip)
                if lease is None or lease.mac is None:
                    continue
                keep(digest)
                sighting = LeaseSighting(
                    server=snap.server,
                    ip=lease.ip,
                    mac=lease.mac,
                    network=network,
                    starts=lease.starts,
                    ends=lease.ends,
                    first_seen=now,
                    last_seen=now,
                    orphaned_at=orphaned_at,
                )
                leases.append((sighting, verdict))
        digests.sort()
        after[snap.server] = array("q", digests)
        del digests
    listed = _listed(analysis.inventories)
    new, gone = _difference(listed, remembered.vms)
    record = set(new)
    if remembered.at is not None and remembered.at < now:
        # listed before and now: recorded again when a new period began for its phase
        renewed = {
            phase
            for phase in range(PHASES)
            if epoch(remembered.at, phase, refresh) != epochs[phase]
        }
        if renewed:
            record.update(key for key in listed if key % PHASES in renewed)
    last = remembered.at
    vms_last_seen = () if last is None else tuple((mac_text(key), last) for key in gone)
    observation = Observation(now, frozenset(map(mac_text, record)), tuple(leases), vms_last_seen)
    return observation, SightingMemory(now, after, listed)


def _listed(inventories: Sequence[InventorySnapshot]) -> array[int]:
    """The sorted numbers of the MACs every healthy inventory lists."""
    healthy = [inv.macs for inv in inventories if inv.healthy]
    if len(healthy) == 1 and isinstance(healthy[0], MacSet):
        return healthy[0].keys()
    keys: list[int] = []
    for macs in healthy:
        keys.extend(macs.keys() if isinstance(macs, MacSet) else MacSet(macs).keys())
    return MacSet.from_keys(keys).keys()


def _difference(a: array[int], b: array[int], run: int = 64) -> tuple[list[int], list[int]]:
    """The numbers only in ``a`` and those only in ``b`` (both sorted, without repeats).

    Hand-written for memory and time (no set of 550,000 ints, no numpy): runs of ``run``
    numbers are compared as slices (a C comparison), and only a run that differs is walked
    one by one, until the two agree again; a scan where few VMs came and went costs about
    ``len(a) / run`` slice comparisons.
    """
    only_a: list[int] = []
    only_b: list[int] = []
    i = j = 0
    na, nb = len(a), len(b)
    while i < na and j < nb:
        if a[i : i + run] == b[j : j + run]:
            i += run
            j += run
            continue
        while i < na and j < nb and a[i] == b[j]:  # the equal start of the run
            i += 1
            j += 1
        while i < na and j < nb and a[i] != b[j]:  # the difference, up to the next agreement
            if a[i] < b[j]:
                only_a.append(a[i])
                i += 1
            else:
                only_b.append(b[j])
                j += 1
    only_a.extend(a[i:])
    only_b.extend(b[j:])
    return only_a, only_b


def _no_thresholds(_network: str) -> Thresholds:
    return Thresholds()
