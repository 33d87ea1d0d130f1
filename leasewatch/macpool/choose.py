"""The pool's decisions, pure (``now`` is an argument): which MAC to hand out, what each
pool MAC is doing, which taken MACs come back, and what the reaper must keep.

The point of the pool is that a VM built with a MAC that still has a lease gets that
address back and no new lease is consumed. dhcpd 4.4 gives a returning MAC its old address
every time, also after a release or expiry, until another MAC takes the address; within 25 %
of the lease time it writes nothing to its journal for it (``reuse_lease: ... under 25%
threshold``), so nothing here waits for a new lease block to prove the reuse.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from leasewatch.core.advice import LeaseSighting
from leasewatch.macpool.pool import MacPool, mac_int, mac_str
from leasewatch.model import Address, InventorySnapshot, PoolHold, ServerSnapshot, address_of


@dataclass(frozen=True, slots=True)
class Taken:
    """One MAC handed out by ``mac take`` and not yet returned (a row of the state file)."""

    mac: str
    vm: str | None
    taken_at: datetime
    seen_at: datetime | None = None  # an inventory last listed it then
    missing_since: datetime | None = None  # seen once, not listed since then


@dataclass(frozen=True, slots=True)
class PoolLease:
    """The lease a server holds (or held, last time a scan saw it) for one pool MAC."""

    mac: str
    server: str
    ip: Address
    ends: datetime | None
    active: bool


class Why(enum.StrEnum):
    """Why ``take`` chose a MAC (rendered into words at the edge)."""

    ACTIVE_LEASE = "active-lease"  # the server still holds an active lease for it
    EXPIRED_LEASE = "expired-lease"  # its lease ended; the server gives it back if free
    NEVER_USED = "never-used"  # no lease known: the VM takes a new address


@dataclass(frozen=True, slots=True)
class Choice:
    """The MAC ``take`` hands out, and the address the server still holds for it."""

    mac: str
    vm: str | None
    why: Why
    lease: PoolLease | None = None
    # unhealthy inventories for which MACs with an active lease were passed over
    passed_over: tuple[str, ...] = ()

    @property
    def ip(self) -> Address | None:
        return self.lease.ip if self.lease is not None else None


class MacState(enum.StrEnum):
    """A pool MAC's state in ``mac list``."""

    TAKEN = "taken"  # handed out and not returned (its VM seen live or not yet)
    LIVE = "live"  # a healthy inventory lists it, and leasewatch did not hand it out
    LEASED = "leased"  # free in the pool, but a server holds (or held) its lease


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of ``mac list``."""

    mac: str
    state: MacState
    vm: str | None = None
    lease: PoolLease | None = None
    seen: datetime | None = None


@dataclass(frozen=True, slots=True)
class View:
    """What the pool knows at one moment: built once per command from the snapshots."""

    pool: MacPool
    leases: Mapping[str, PoolLease]  # the best lease per pool MAC (see ``pool_leases``)
    live: frozenset[str]  # pool MACs a healthy inventory lists
    blocked: frozenset[str]  # pool MACs never handed out: protected, fixed-address hosts
    cautious: tuple[str, ...]  # unhealthy inventories: an active lease may be a live VM
    returned: frozenset[str] = frozenset()  # came back (give, scan): no VM of ours has it


def _rank(lease: PoolLease) -> tuple[bool, float]:
    """Active before ended; then the later end (the lease a server most likely still has)."""
    return (not lease.active, -(lease.ends.timestamp() if lease.ends else float("inf")))


def pool_leases(
    pool: MacPool,
    servers: Iterable[ServerSnapshot],
    sightings: Iterable[LeaseSighting],
    networks: Collection[str],
    now: datetime,
) -> dict[str, PoolLease]:
    """Each pool MAC's best lease: active now on a server, else the most recent end a scan
    recorded whose address no other MAC holds now (dhcpd keeps no MAC for a freed lease
    in memory we can read, but gives it back to that MAC while the address is unused).

    ``networks`` limits this to leases in those networks (empty: every network).
    """
    best: dict[str, PoolLease] = {}
    held: dict[tuple[str, int], str] = {}  # (server, address) -> MAC holding it now

    def offer(lease: PoolLease) -> None:
        current = best.get(lease.mac)
        if current is None or _rank(lease) < _rank(current):
            best[lease.mac] = lease

    for server in servers:
        if server.error is not None:
            continue
        leases = server.leases
        for address in leases.census(now).active:
            mac = leases.mac(address)
            if mac is None:
                continue
            held[(server.server, address)] = mac
            if mac not in pool:
                continue
            ip = address_of(address)
            if networks and _network(server, ip) not in networks:
                continue
            got = leases.get(address)
            offer(PoolLease(mac, server.server, ip, got.ends if got else None, True))
    read = {s.server for s in servers if s.error is None}
    for s in sightings:
        if s.mac not in pool or (networks and s.network not in networks):
            continue
        if s.server in read and held.get((s.server, int(s.ip)), s.mac) != s.mac:
            continue  # another MAC holds the address now
        if (s.server, int(s.ip)) in held:
            continue  # active now: already offered from the snapshot
        # not active on a server read just now: released or expired early, whatever its end
        running = s.server not in read and (s.ends is None or s.ends > now)
        offer(PoolLease(s.mac, s.server, s.ip, s.ends, running))
    return best


def _network(server: ServerSnapshot, ip: Address) -> str | None:
    for r in server.ranges:
        if ip in r:
            return r.network
    return None


def build_view(
    pool: MacPool,
    leases: Mapping[str, PoolLease],
    inventories: Iterable[InventorySnapshot],
    blocked: Iterable[str],
    networks: Collection[str],
    *,
    returned: frozenset[str] = frozenset(),
) -> View:
    """The view ``take`` and ``list`` decide on. Every healthy inventory counts for live (a
    MAC is a MAC, whatever network it is on); an unhealthy one that may cover the pool's
    networks makes ``take`` cautious."""
    live: set[str] = set()
    cautious: list[str] = []
    for inv in inventories:
        if inv.healthy:
            live.update(mac for mac in inv.macs if mac in pool)
        elif not networks or not inv.networks or set(inv.networks) & set(networks):
            cautious.append(inv.source)
    return View(
        pool=pool,
        leases=leases,
        live=frozenset(live),
        blocked=frozenset(mac for mac in blocked if mac in pool),
        cautious=tuple(cautious),
        returned=returned,
    )


def choose(view: View, taken: Collection[str], vm: str | None) -> Choice | None:
    """The MAC to hand out, or None when the pool is exhausted.

    Never a MAC a healthy inventory lists, another caller holds, or ``protect``/a fixed
    host names. First the MAC whose lease is still active (its VM gets the address back,
    no new lease is used; a MAC no inventory lists with a lease left by VMs cloned before the
    pool existed counts too: reusing them drains that backlog), then the most recently
    ended lease, then the lowest MAC with no lease. While an inventory is unhealthy, a MAC
    with an active lease may belong to a VM it cannot list: only those that came back to the
    pool (no VM of ours has them) and MACs without a lease are given. (An inventory that
    lists no VM while leases are active counts as unhealthy: that is every sequential
    clone-and-destroy test run, which the returned MACs keep working.)
    """
    unavailable = view.live | view.blocked | frozenset(taken)
    ranked = sorted(
        (lease for mac, lease in view.leases.items() if mac not in unavailable),
        key=lambda lease: (*_rank(lease), lease.mac),
    )
    skipped = False
    for lease in ranked:
        if lease.active and view.cautious and lease.mac not in view.returned:
            skipped = True
            continue
        why = Why.ACTIVE_LEASE if lease.active else Why.EXPIRED_LEASE
        return Choice(lease.mac, vm, why, lease, view.cautious if skipped else ())
    used = {mac_int(mac) for mac in unavailable | frozenset(view.leases)}
    free = view.pool.first_free(used)
    if free is None:
        return None
    return Choice(mac_str(free), vm, Why.NEVER_USED, None, view.cautious if skipped else ())


def entries(
    view: View,
    taken: Sequence[Taken],
    last_seen: Mapping[str, datetime],
    now: datetime,
) -> list[Entry]:
    """``mac list``: every taken MAC, every live pool MAC, every free pool MAC with a lease."""
    out: list[Entry] = []
    mine = {t.mac for t in taken}
    for t in taken:
        seen = now if t.mac in view.live else t.seen_at or last_seen.get(t.mac)
        out.append(Entry(t.mac, MacState.TAKEN, t.vm, view.leases.get(t.mac), seen))
    for mac in sorted(view.live - mine):
        out.append(Entry(mac, MacState.LIVE, None, view.leases.get(mac), now))
    for mac in sorted(set(view.leases) - mine - view.live):
        out.append(Entry(mac, MacState.LEASED, None, view.leases[mac], last_seen.get(mac)))
    return sorted(out, key=lambda e: mac_int(e.mac))


@dataclass(frozen=True, slots=True)
class Returns:
    """What one scan changes in the taken rows: seen now, missing since, returned."""

    seen: frozenset[str] = frozenset()
    missing: Mapping[str, datetime] = field(default_factory=dict)
    returned: tuple[Taken, ...] = ()


def returns(
    taken: Sequence[Taken],
    inventories: Sequence[InventorySnapshot],
    networks: Collection[str],
    *,
    hold: timedelta,
    grace: timedelta,
    now: datetime,
) -> Returns:
    """Which taken MACs come back on this scan.

    A MAC whose VM an inventory listed and no longer lists returns after ``grace`` (the
    reaper's); a MAC never listed returns after ``hold``. Nothing returns while an
    inventory that may cover the pool's networks is unhealthy, or when none covers them
    (then nothing could ever see the VM: only ``mac give`` returns a MAC).
    """
    covering = [
        inv
        for inv in inventories
        if not networks or not inv.networks or set(inv.networks) & set(networks)
    ]
    live = frozenset().union(*(inv.macs for inv in covering if inv.healthy))
    seen = frozenset(t.mac for t in taken if t.mac in live)
    if not covering or not all(inv.healthy for inv in covering):
        return Returns(seen=seen, missing={})
    missing: dict[str, datetime] = {}
    returned: list[Taken] = []
    for t in taken:
        if t.mac in live:
            continue
        if t.seen_at is not None:
            since = t.missing_since or now
            if now - since >= grace:
                returned.append(t)
            else:
                missing[t.mac] = since
        elif now - t.taken_at >= hold:
            returned.append(t)
    return Returns(seen=seen, missing=missing, returned=tuple(returned))


def holds(pool: MacPool, macs: Iterable[str | None], taken: Collection[str]) -> dict[str, PoolHold]:
    """The reaper's view of pool MACs among ``macs`` (its orphans): a taken MAC's VM may be
    booting, and a free pool MAC's lease waits for the next ``mac take``: neither goes."""
    out: dict[str, PoolHold] = {}
    for mac in macs:
        if mac is not None and mac in pool:
            out[mac] = PoolHold.TAKEN if mac in taken else PoolHold.KEPT
    return out
