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
from collections.abc import Collection, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zlib import crc32

from leasewatch.core.orphans import covering
from leasewatch.core.usage import count
from leasewatch.macset import MacSet, mac_text
from leasewatch.model import (
    Address,
    Analysis,
    Finding,
    InventorySnapshot,
    ServerSnapshot,
    Thresholds,
    Verdict,
)


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
    vms: Set[str]  # seen at ``at``
    leases: Collection[tuple[LeaseSighting, Verdict]]  # observe's: LeaseRecords
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
    remembered = memory or SightingMemory()
    # a lease's digest takes its period: a new period is a new digest, so it is recorded
    epochs = [epoch(now, phase, refresh) for phase in range(PHASES)]
    after: dict[str, array[int]] = {}
    marks: dict[str, bytearray] = {}
    for snap in analysis.servers:
        before = remembered.leases.get(snap.server)
        if snap.error is not None:
            if before is not None:
                after[snap.server] = before
            continue
        slots, size = _slots(before if before is not None else array("q"))
        table = snap.leases
        digests = after[snap.server] = array("q")
        keep = digests.append
        record = marks[snap.server] = bytearray()  # a byte a lease, in _groups' order
        mark = record.append
        judged = _judged(analysis, snap)
        for _network, tag, ips, unjudged in _groups(analysis, snap):
            plain = _VERDICT_CODE[unjudged]
            for ip, stamp in zip(ips, table.stamps(ips), strict=True):
                finding = judged.get(ip)
                if finding is None:
                    code, orphaned = plain, -1
                else:
                    code = _VERDICT_CODE[finding.verdict]
                    since = finding.missing_since if finding.verdict is Verdict.ORPHAN else None
                    orphaned = -1 if since is None else int(since.timestamp())
                # 0 marks an empty slot
                digest = hash((ip, stamp, tag, code, orphaned, epochs[ip % PHASES])) or 1
                slot = digest % size
                while (held := slots[slot]) and held != digest:
                    slot = (slot + 1) % size
                if held:
                    keep(digest)
                    mark(0)
                elif table.mac(ip) is None:
                    mark(0)
                else:
                    keep(digest)
                    mark(1)
    listed = _listed(analysis.inventories)
    every = MacSet.of_sorted(listed)  # the same array: a first scan copies nothing
    gone: list[int] = []
    if remembered.at is None or remembered.at >= now:
        vms = every
    else:
        new, gone = _difference(listed, remembered.vms)
        # listed before and now: recorded again when a new period began for its phase
        renewed = {
            phase
            for phase in range(PHASES)
            if epoch(remembered.at, phase, refresh) != epochs[phase]
        }
        if len(renewed) == PHASES:
            vms = every
        elif renewed:
            again = array("Q", (key for key in listed if key % PHASES in renewed))
            vms = MacSet.from_keys([*again, *new])
        else:
            vms = MacSet.from_keys(new)
    last = remembered.at
    vms_last_seen = () if last is None else tuple((mac_text(key), last) for key in gone)
    leases = LeaseRecords(analysis, marks)
    return Observation(now, vms, leases, vms_last_seen), SightingMemory(now, after, listed)


def _judged(analysis: Analysis, snap: ServerSnapshot) -> dict[int, Finding]:
    """The analysis' findings on the leases of ``snap`` (orphans and unknown), by address:
    never re-judged. Every other lease in a watched network is live, one in a network no
    inventory covers is unknown."""
    return {
        int(f.lease.ip): f
        for f in (*analysis.orphans, *analysis.unknown)
        if f.lease.server == snap.server
    }


def _groups(
    analysis: Analysis, snap: ServerSnapshot
) -> Iterator[tuple[str | None, int, Sequence[int], Verdict]]:
    """The active leases of ``snap`` by network, in a fixed order: the network, its tag (a
    number for digests), the addresses, and the verdict of those the analysis did not list."""
    _networks, groups = count(snap, _no_thresholds, analysis.now)
    for network, ips in groups:
        unjudged = Verdict.LIVE if covering(analysis.inventories, network) else Verdict.UNKNOWN
        yield network, -1 if network is None else crc32(network.encode()), ips, unjudged


def _walk(
    analysis: Analysis, snap: ServerSnapshot
) -> Iterator[tuple[int, str | None, Verdict, datetime | None]]:
    """Each active lease of ``snap`` in ``_groups``' order: its address, its network, its
    verdict and since when it is an orphan."""
    judged = _judged(analysis, snap)
    for network, _tag, ips, unjudged in _groups(analysis, snap):
        for ip in ips:
            finding = judged.get(ip)
            if finding is None:
                yield ip, network, unjudged, None
            elif finding.verdict is Verdict.ORPHAN:
                yield ip, network, finding.verdict, finding.missing_since
            else:
                yield ip, network, finding.verdict, None


class LeaseRecords(Collection[tuple[LeaseSighting, Verdict]]):
    """The lease sightings ``observe`` chose, built one at a time as they are written.

    Holds the analysis and a byte a lease: a first scan records 440,000 leases, which as
    objects held at once took 350 MB (bench/); streamed into the state file they take none.
    """

    __slots__ = ("_analysis", "_len", "_marks")

    def __init__(self, analysis: Analysis, marks: Mapping[str, bytearray]) -> None:
        self._analysis = analysis
        self._marks = marks
        self._len = sum(m.count(1) for m in marks.values())

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[tuple[LeaseSighting, Verdict]]:
        now = self._analysis.now
        for snap in self._analysis.servers:
            marks = self._marks.get(snap.server)
            if marks is None or not marks.count(1):
                continue
            for marked, (ip, network, verdict, orphaned_at) in zip(
                marks, _walk(self._analysis, snap), strict=True
            ):
                if not marked:
                    continue
                lease = snap.leases.get(ip)
                assert lease is not None and lease.mac is not None  # as observe found it
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
                yield sighting, verdict

    def __contains__(self, item: object) -> bool:
        return any(item == mine for mine in self)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Collection):
            return tuple(self) == tuple(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<LeaseRecords: {self._len} sightings>"


def _slots(digests: array[int]) -> tuple[array[int], int]:
    """The digests in a hash table with open addressing (linear probing, at most two thirds
    full, 0 for an empty slot) and its size: ``observe`` finds one inline.

    Hand-written for memory: a set of 440,000 digests costs 40 MB of the scan's peak and a
    sorted list for bisection 22 MB (an int object per digest); this table is 5 MB, and
    building and probing it take about as long as the set (bench/).
    """
    size = 3 * len(digests) // 2 + 1
    slots = array("q", bytes(8 * size))
    for digest in digests:
        slot = digest % size
        while (held := slots[slot]) and held != digest:
            slot = (slot + 1) % size
        slots[slot] = digest
    return slots, size


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
