"""Data that crosses rooms: frozen values, parsed once at the edge.

Nothing downstream of an adapter re-parses: a ``Lease`` carries a normalized MAC and real
``IPv4Address``/``IPv6Address``/``datetime`` values, a ``Range`` knows its network and what
it hands out, an ``InventorySnapshot`` knows whether it can be trusted.
"""

from __future__ import annotations

import enum
import re
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable, Iterator, Set
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

# Parts of the model in modules of their own (model.py stays readable): reasons, addresses of
# both families with pool kinds and MAC evidence, durations, bulk reads. ``as`` re-exports
# them (mypy --strict), hence the noqa.
from leasewatch.addresses import Address as Address  # noqa: PLC0414
from leasewatch.addresses import MacSource as MacSource  # noqa: PLC0414
from leasewatch.addresses import PoolKind as PoolKind  # noqa: PLC0414
from leasewatch.addresses import Subnet as Subnet  # noqa: PLC0414
from leasewatch.addresses import address_of as address_of  # noqa: PLC0414
from leasewatch.addresses import figure as figure  # noqa: PLC0414
from leasewatch.addresses import normalize_duid as normalize_duid  # noqa: PLC0414
from leasewatch.addresses import parse_address as parse_address  # noqa: PLC0414
from leasewatch.addresses import pool_label as pool_label  # noqa: PLC0414
from leasewatch.addresses import pool_size as pool_size  # noqa: PLC0414
from leasewatch.addresses import usage_name as usage_name  # noqa: PLC0414
from leasewatch.addresses import within as within  # noqa: PLC0414
from leasewatch.bulk import BulkReads
from leasewatch.durations import format_duration as format_duration  # noqa: PLC0414
from leasewatch.durations import parse_duration as parse_duration  # noqa: PLC0414
from leasewatch.pairing import MemberHealth as MemberHealth  # noqa: PLC0414
from leasewatch.pairing import Pair as Pair  # noqa: PLC0414
from leasewatch.pairing import PairMember as PairMember  # noqa: PLC0414
from leasewatch.pairing import PairMode as PairMode  # noqa: PLC0414
from leasewatch.pairing import ReleaseOnPair as ReleaseOnPair  # noqa: PLC0414
from leasewatch.reasons import REASON_TEXT as REASON_TEXT  # noqa: PLC0414
from leasewatch.reasons import Facts as Facts  # noqa: PLC0414
from leasewatch.reasons import Reason as Reason  # noqa: PLC0414
from leasewatch.reasons import describe as describe  # noqa: PLC0414

# The spellings real sources emit, and nothing looser (issue 14: ``aa:bbcc:dd:ee:ff`` or a
# 12-group form are typos, not MACs). Hand-written: the stdlib has no MAC parser, and the
# ``netaddr``/``macaddress`` libraries accept more forms than any DHCP source here writes.
_MAC_FORMS = (
    # dhcpd, Kea, libvirt, XenAPI, dnsmasq, Proxmox (upper case); dhcpd's OMAPI and some
    # dhcpd.leases writers drop leading zeros (``0:1:2:3:4:5``)
    re.compile(
        r"([0-9a-f]{1,2}):([0-9a-f]{1,2}):([0-9a-f]{1,2}):([0-9a-f]{1,2})"
        r":([0-9a-f]{1,2}):([0-9a-f]{1,2})"
    ),
    re.compile(
        r"([0-9a-f]{2})-([0-9a-f]{2})-([0-9a-f]{2})-([0-9a-f]{2})-([0-9a-f]{2})"
        r"-([0-9a-f]{2})"
    ),  # Windows, Hyper-V
    re.compile(r"([0-9a-f]{4})\.([0-9a-f]{4})\.([0-9a-f]{4})"),  # Cisco
    re.compile(r"([0-9a-f]{12})"),  # bare hex (OMAPI's raw bytes, hex-dumped)
)
_MAC_CANONICAL = re.compile(r"[0-9a-f]{2}(?::[0-9a-f]{2}){5}")


def parse_mac(text: str) -> str:
    """``aa:bb:cc:dd:ee:ff`` for a MAC as a DHCP server or hypervisor writes it; else ValueError.

    The one MAC parser: config, inventories, lease sources and release backends use it.
    Accepts six colon-separated octets (one or two hex digits each, any case), six
    dash-separated octets, Cisco's ``aabb.ccdd.eeff`` and twelve bare hex digits.
    """
    if _MAC_CANONICAL.fullmatch(text):  # how dhcpd and Kea write it: 10x faster
        return text
    raw = text.strip().lower()
    for form in _MAC_FORMS:
        match = form.fullmatch(raw)
        if match:
            hexdigits = "".join(group.rjust(2, "0") for group in match.groups())
            return ":".join(hexdigits[i : i + 2] for i in range(0, 12, 2))
    raise ValueError(f"expected a MAC like 52:54:00:12:34:56, got {text!r}")


def normalize_mac(text: str) -> str | None:
    """``parse_mac``, or None when ``text`` is not a MAC."""
    try:
        return parse_mac(text)
    except ValueError:
        return None


class BindingState(enum.StrEnum):
    """A lease's binding state, as dhcpd.leases(5) names them (Kea states map onto these)."""

    ACTIVE = "active"
    FREE = "free"
    BACKUP = "backup"
    ABANDONED = "abandoned"
    EXPIRED = "expired"
    RELEASED = "released"
    RESET = "reset"
    DECLINED = "declined"


class Level(enum.StrEnum):
    """How full a pool or network is."""

    OK = "ok"
    WARN = "warn"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _LEVEL_RANK[self]


_LEVEL_RANK = {Level.OK: 0, Level.WARN: 1, Level.CRITICAL: 2}


class Verdict(enum.StrEnum):
    """What the orphan rules say of one active lease."""

    LIVE = "live"
    ORPHAN = "orphan"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Lease:
    """The current state of one address, after the journal has been replayed."""

    ip: Address  # a delegated prefix's first address (``prefix_len`` says how long it is)
    state: BindingState
    mac: str | None = None
    starts: datetime | None = None
    ends: datetime | None = None  # None: "ends never" (or unknown)
    hostname: str | None = None
    server: str = ""
    subnet_id: int | None = None  # Kea only
    # the source had a hardware address for this lease but it could not be parsed: the
    # lease counts, its MAC is unknown, and it is never judged an orphan
    mac_unreadable: bool = False
    kind: PoolKind = PoolKind.ADDRESS
    prefix_len: int | None = None  # a delegated prefix's length (``PoolKind.PREFIX``)
    duid: str | None = None  # a DHCPv6 client's DUID, hex with colons, as Kea writes it
    iaid: int | None = None  # a DHCPv6 lease's identity association
    mac_source: MacSource = MacSource.HARDWARE  # how far ``mac`` may be trusted

    @property
    def label(self) -> str:
        """The address, or the delegated prefix with its length."""
        if self.prefix_len is not None and self.kind is PoolKind.PREFIX:
            return f"{self.ip}/{self.prefix_len}"
        return str(self.ip)

    def is_active(self, now: datetime) -> bool:
        """Active and not yet past its end (dhcpd may not have expired it yet)."""
        return self.state is BindingState.ACTIVE and (self.ends is None or self.ends > now)


@dataclass(frozen=True, slots=True)
class Census:
    """A server's addresses by what they count as at one moment: sorted int addresses.

    ``active``: binding state active and not past its end; ``abandoned`` includes Kea's
    declined. Everything else (free, expired, released, reset) holds no address.
    """

    active: tuple[int, ...] = ()
    backup: tuple[int, ...] = ()
    abandoned: tuple[int, ...] = ()


class Leases(BulkReads, Collection[Lease], ABC):
    """One server's current leases, one per address, in two shapes behind one face.

    ``LeaseList`` holds ``Lease`` objects (Kea's API returns few enough). The ISC journal
    keeps a compact row per address (``leasewatch.leases.isc.JournalTable``) and builds a
    ``Lease`` only when asked: at a million addresses the objects alone would cost more time
    and memory than the parse (bench/). The analysis uses ``census`` and ``mac``, and builds
    ``Lease`` objects only for the leases it reports.
    """

    __slots__ = ()

    @abstractmethod
    def census(self, now: datetime) -> Census:
        """Sorted addresses that are active, backup or abandoned at ``now``."""

    @abstractmethod
    def get(self, ip: int) -> Lease | None:
        """The current lease of one address (an int), or None."""

    def mac(self, ip: int) -> str | None:
        """The MAC of an address's current lease (cheaper than ``get`` for the judge)."""
        lease = self.get(ip)
        return None if lease is None else lease.mac

    def find_active(
        self,
        now: datetime,
        *,
        ip: int | None = None,
        mac: str | None = None,
        duid: str | None = None,
    ) -> Iterator[Lease]:
        """The leases active at ``now`` of address ``ip``, held by ``mac`` or by the DHCPv6
        client ``duid``; only these are built (``why``, ``release``: one among a million)."""
        for address in self.census(now).active:
            if address == ip or (mac is not None and self.mac(address) == mac):
                lease = self.get(address)
                if lease is not None:
                    yield lease
            elif duid is not None:  # a DUID is on the lease only: build each (why DUID)
                lease = self.get(address)
                if lease is not None and lease.duid == duid:
                    yield lease

    def __contains__(self, item: object) -> bool:
        return isinstance(item, Lease) and self.get(int(item.ip)) == item

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Leases | tuple | list):
            return tuple(self) == tuple(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {len(self)} leases>"


class LeaseList(Leases):
    """Leases held as ``Lease`` objects, in the order given (one per address)."""

    __slots__ = ("_by_ip", "_leases")

    def __init__(self, leases: Iterable[Lease] = ()) -> None:
        self._leases = tuple(leases)
        self._by_ip: dict[int, Lease] | None = None

    def __iter__(self) -> Iterator[Lease]:
        return iter(self._leases)

    def __len__(self) -> int:
        return len(self._leases)

    def census(self, now: datetime) -> Census:
        active: list[int] = []
        backup: list[int] = []
        abandoned: list[int] = []
        for lease in self._leases:
            state = lease.state
            if lease.is_active(now):
                active.append(int(lease.ip))
            elif state is BindingState.BACKUP:
                backup.append(int(lease.ip))
            elif state is BindingState.ABANDONED or state is BindingState.DECLINED:
                abandoned.append(int(lease.ip))
        return Census(tuple(sorted(active)), tuple(sorted(backup)), tuple(sorted(abandoned)))

    def get(self, ip: int) -> Lease | None:
        if self._by_ip is None:
            self._by_ip = {int(lease.ip): lease for lease in self._leases}
        return self._by_ip.get(ip)


@dataclass(frozen=True, slots=True)
class Range:
    """One dynamic range (an ISC ``range``/``range6``/``prefix6``, a Kea pool or pd-pool).

    A prefix-delegation pool (``kind`` PREFIX) runs from its first to its last address and
    hands out prefixes of ``delegated_len``: its size counts prefixes, not addresses.
    """

    first: Address
    last: Address
    subnet: Subnet
    network: str  # the shared network's name, or the subnet's CIDR when it stands alone
    kind: PoolKind = PoolKind.ADDRESS
    delegated_len: int | None = None  # PREFIX only

    @property
    def size(self) -> int:
        return pool_size(self.first, self.last, self.kind, self.delegated_len)

    def __contains__(self, ip: object) -> bool:
        return within(ip, self.first, self.last)

    @property
    def label(self) -> str:
        return pool_label(self.first, self.last, self.kind, self.delegated_len)


@dataclass(frozen=True, slots=True)
class FixedHost:
    """A ``host`` block with a ``fixed-address`` (or a Kea reservation): never released."""

    name: str
    mac: str | None
    ip: Address | None


@dataclass(frozen=True, slots=True)
class ServerSnapshot:
    """What one DHCP server's leases and pools looked like when read.

    ``complete`` is False when the data are good enough to report but not to act on (the
    leases file ended mid-block): the reaper releases nothing from such a snapshot.
    ``error`` is set when the server could not be read at all; ``read_errors`` name the
    parts that could not be read (a lease block read in part, an item skipped) while the
    rest is reported: they count as errors (``report`` exits 4), not as warnings.
    """

    server: str
    kind: str
    ranges: tuple[Range, ...] = ()
    leases: Leases = field(default_factory=LeaseList)
    fixed: tuple[FixedHost, ...] = ()
    complete: bool = True
    warnings: tuple[str, ...] = ()
    error: str | None = None
    read_errors: tuple[str, ...] = ()
    # why no lease of this server can be released, whatever its config (dhcpd -6: OMAPI
    # reaches DHCPv4 leases only); the plan keeps its orphans with this reason
    report_only: Reason | None = None
    # the relationship its reader found it in (dhcpd failover, Kea HA): ``core.pairs``
    # joins the members; a joined pair's snapshot names its members' servers instead
    pairing: PairMember | None = None
    members: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # a tuple or list of Lease objects is accepted, and held as a LeaseList
        given: object = self.leases
        if not isinstance(given, Leases):
            object.__setattr__(self, "leases", LeaseList(cast("Iterable[Lease]", given)))


@dataclass(frozen=True, slots=True)
class InventorySnapshot:
    """The live VMs' MACs as one source saw them.

    An unhealthy snapshot makes every lease it would judge unknown. ``networks`` scopes the
    source to some networks (names as in the report); empty means every network.
    """

    source: str
    kind: str
    macs: Set[str] = frozenset()  # adapters hand over a compact MacSet (leasewatch.macset)
    healthy: bool = True
    reason: str | None = None
    networks: tuple[str, ...] = ()
    duration: float = 0.0
    # why an inventory that answered is not trusted (set by the orphan rules); an unhealthy
    # snapshot without one failed to answer
    problem: Reason | None = None

    def covers(self, network: str) -> bool:
        return not self.networks or network in self.networks


def free_of(size: int, active: int, backup: int, abandoned: int) -> int:
    """The one definition of free: addresses that are neither active nor abandoned/declined.
    Table, JSON, CSV, metrics, alerts and the forecast all count free this way.

    ``backup`` addresses are part of free: they are the failover secondary's share of the
    pair's free pool (dhcpd-pools' ``bu`` column), handed out by the secondary, not used.
    A fresh dhcpd pair of 21 addresses shows 11 free + 10 backup: 21 free. The argument
    stays so that every caller says what it counted.
    """
    del backup  # a subset of free (above)
    return max(size - active - abandoned, 0)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """When a network is warn or critical: ratio of active/size, or fewest free addresses."""

    warn_at: float = 0.8
    critical_at: float = 0.9
    warn_free: int | None = None
    critical_free: int | None = None

    def level(
        self,
        size: int,
        active: int,
        free: int,
        *,
        ratio_margin: float = 0.0,
        free_margin: int = 0,
    ) -> Level:
        """The one threshold rule (report, check, metrics and alerts): the ratio or the free
        count, whichever trips first; an empty pool is never full.

        Positive margins make every threshold stricter (the alerts' hysteresis): utilization
        counts from ``threshold - ratio_margin``, free addresses up to ``fewest + free_margin``.
        """
        if not size:
            return Level.OK
        ratio = active / size

        def trips(at: float, fewest: int | None) -> bool:
            return ratio >= at - ratio_margin or (
                fewest is not None and free <= fewest + free_margin
            )

        if trips(self.critical_at, self.critical_free):
            return Level.CRITICAL
        if trips(self.warn_at, self.warn_free):
            return Level.WARN
        return Level.OK


@dataclass(frozen=True, slots=True)
class PoolUsage:
    """Counts for one range."""

    server: str
    network: str
    subnet: Subnet
    first: Address
    last: Address
    size: int  # exact: addresses, or a PD pool's delegated prefixes
    active: int
    backup: int
    abandoned: int
    level: Level
    kind: PoolKind = PoolKind.ADDRESS
    delegated_len: int | None = None

    @property
    def free(self) -> int:
        return free_of(self.size, self.active, self.backup, self.abandoned)

    @property
    def utilization(self) -> float:
        return self.active / self.size if self.size else 0.0

    @property
    def label(self) -> str:
        return pool_label(self.first, self.last, self.kind, self.delegated_len)

    def __contains__(self, ip: object) -> bool:
        return within(ip, self.first, self.last)


@dataclass(frozen=True, slots=True)
class NetworkUsage:
    """Counts for one network (a shared network, or a subnet standing alone)."""

    server: str
    name: str
    size: int
    active: int
    backup: int
    abandoned: int
    level: Level
    pools: tuple[PoolUsage, ...] = ()

    @property
    def free(self) -> int:
        return free_of(self.size, self.active, self.backup, self.abandoned)

    @property
    def utilization(self) -> float:
        return self.active / self.size if self.size else 0.0


@dataclass(frozen=True, slots=True)
class Finding:
    """The verdict on one active lease: ``code`` says why, ``reason`` words it."""

    lease: Lease
    verdict: Verdict
    code: Reason
    network: str | None
    missing_since: datetime | None = None
    facts: Facts = ()  # what ``reason`` names (an inventory, a network), as text

    @property
    def reason(self) -> str:
        return describe(self.code, self.facts)


@dataclass(frozen=True, slots=True)
class Analysis:
    """Everything one scan concluded; pure output of ``core.analysis.analyse``."""

    now: datetime
    networks: tuple[NetworkUsage, ...] = ()
    orphans: tuple[Finding, ...] = ()
    unknown: tuple[Finding, ...] = ()
    live: int = 0
    unwatched: int = 0  # active leases in networks no inventory covers: not judged
    outside: tuple[Lease, ...] = ()  # active leases in no known range
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    servers: tuple[ServerSnapshot, ...] = field(default=(), repr=False)
    inventories: tuple[InventorySnapshot, ...] = ()
    # MACs taken from the MAC pool (``leasewatch mac take``) when the scan began: the
    # analysis judged them live (``Reason.LIVE_POOL_TAKEN``); ``why`` and ``release`` judge
    # single leases again with the same set
    pool_taken: frozenset[str] = field(default=frozenset(), repr=False)
    trust_duid_mac: bool = False  # ``[reaper] trust_duid_mac``, for judging single leases

    # relationships between servers (``core.pairs``): each is one server in ``servers``,
    # ``networks`` and the findings, named by its members
    pairs: tuple[Pair, ...] = ()

    @property
    def pools(self) -> tuple[PoolUsage, ...]:
        return tuple(p for n in self.networks for p in n.pools)

    def network_of(self, server: str, ip: Address) -> str | None:
        """The network of the range on ``server`` that holds ``ip`` (None: in no range)."""
        for pool in self.pools:
            if pool.server == server and ip in pool:
                return pool.network
        return None


class Action(enum.StrEnum):
    """What the reaper's plan says to do with one orphan."""

    RELEASE = "release"
    KEEP = "keep"


class PoolHold(enum.StrEnum):
    """Why the reaper keeps an orphan whose MAC is in the MAC pool (``leasewatch.macpool``)."""

    TAKEN = "taken"  # handed out by ``mac take``: its VM may still be booting
    KEPT = "kept"  # free in the pool: the next ``mac take`` hands it out, the lease with it


@dataclass(frozen=True, slots=True)
class Release:
    """One line of the reaper's plan: an orphan, and whether (and why) it may go."""

    finding: Finding
    action: Action
    code: Reason
    facts: Facts = ()

    @property
    def reason(self) -> str:
        return describe(self.code, self.facts)


class Outcome(enum.StrEnum):
    """What happened when a release was attempted (or not)."""

    RELEASED = "released"
    DRY_RUN = "dry-run"
    # written before the server is asked, completed after: one left behind means the run
    # stopped in between (the audit shows it as unfinished)
    ATTEMPTING = "attempting"
    REFUSED = "refused"  # the plan or a re-check said no
    CHANGED = "changed"  # the server re-assigned the address since the file was read
    NOT_FOUND = "not-found"
    FAILED = "failed"
    # a pair's lease freed on some members only (a peer unreachable, a journal that still
    # shows it active): not released; the next scan tries again
    PARTIAL = "partial"


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One release, or refusal, as written to the state file's audit table."""

    at: datetime
    server: str
    ip: Address
    mac: str | None
    hostname: str | None
    reason: str  # as worded when written: the audit keeps history, it does not re-word it
    outcome: Outcome
    detail: str = ""
    code: Reason | None = None  # None on records written before reason codes existed

    @classmethod
    def of(cls, release: Release, outcome: Outcome, detail: str, at: datetime) -> AuditRecord:
        """The one way a plan's line becomes an audit record."""
        lease = release.finding.lease
        return cls(
            at=at,
            server=lease.server,
            ip=lease.ip,
            mac=lease.mac,
            hostname=lease.hostname,
            reason=release.reason,
            outcome=outcome,
            detail=detail,
            code=release.code,
        )
