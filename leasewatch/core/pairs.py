"""Pairs: join the members of a relationship into one server whose pools count once. Pure.

Members are recognised by their readers (``ServerSnapshot.pairing``: dhcpd.conf's
``failover peer``, Kea's HA hook) or declared (``partner = "<server>"``). A pair becomes one
``ServerSnapshot`` named by its members (``dhcp1+dhcp2``):

- a range on several members (the same first and last address) is one range;
- an address counts once, by what the members say of it, the strongest word first:
  active on any member > abandoned on any > backup on any > free. Members disagree while a
  binding update is on its way (an address just leased on dhcp1 is still free on dhcp2):
  an address active anywhere is active, so the pool is never counted emptier than it is;
- an orphan is one finding, whichever members hold it.

Whether anything of a pair may be released is decided here once (``Pair.hold``): not while a
member could not be read, while a member's live state is not normal, or while no member's
live state is known.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from leasewatch.model import (
    Census,
    Facts,
    FixedHost,
    Lease,
    Leases,
    MemberHealth,
    Pair,
    PairMember,
    PairMode,
    Range,
    Reason,
    ReleaseOnPair,
    ServerSnapshot,
)

# how each kind's pair takes a release (dhcpd passes an OMAPI update on to its partner;
# every Kea peer keeps its own leases); a kind not named here releases on every member
RELEASE_ON_PAIR = {"isc": ReleaseOnPair.ONCE}
# how a state is named in a hold's words
STATE_OF = {PairMode.FAILOVER: "failover", PairMode.DECLARED: "pair"}


@dataclass(frozen=True)
class Paired:
    """``pair_up``'s answer: the servers to analyse (a pair as one) and the pairs."""

    servers: tuple[ServerSnapshot, ...]
    pairs: tuple[Pair, ...] = ()
    warnings: tuple[str, ...] = field(default=())


def pair_up(
    servers: Sequence[ServerSnapshot], partners: Mapping[str, str], now: datetime
) -> Paired:
    """Join each relationship's members into one server, in the order of their first member.

    ``partners`` are the declared ones (``partner`` in ``[[servers]]``, made symmetric by
    the config loader). A member that could not be read joins its pair when declared, or
    when its reader still said which pair it is in (dhcpd.conf read, its journal not).
    """
    groups: dict[str, list[ServerSnapshot]] = {}
    key_of: dict[str, str] = {}
    for snap in servers:
        partner = partners.get(snap.server)
        if partner is not None:
            key = "declared:" + "+".join(sorted((snap.server, partner)))
        elif snap.pairing is not None:  # a reader may say so of a server it could not read
            key = f"{snap.kind}:{snap.pairing.relationship}"
        else:
            continue
        key_of[snap.server] = key
        groups.setdefault(key, []).append(snap)
    out: list[ServerSnapshot] = []
    pairs: list[Pair] = []
    warnings: list[str] = []
    done: set[str] = set()
    unread_kinds = {s.kind for s in servers if s.error is not None}
    for snap in servers:
        if snap.server not in key_of:
            out.append(snap)
            continue
        key = key_of[snap.server]
        if key in done:
            continue
        done.add(key)
        members = groups[key]
        pair = _pair(members, declared=key.startswith("declared:"), unread_kinds=unread_kinds)
        pairs.append(pair)
        readable = [m for m in members if m.error is None]
        if not readable:
            out.extend(members)  # each member's error stands as it is
            continue
        if pair.hold is Reason.KEEP_PAIR_UNREAD:
            warnings.append(
                f"pair {pair.name}: {pair.reason}: counted from the other member, nothing released"
            )
        elif pair.hold is Reason.KEEP_PAIR_NOT_NORMAL:
            warnings.append(f"pair {pair.name}: {pair.reason}: nothing released")
        out.append(_joined(pair, readable, now))
    return Paired(tuple(out), tuple(pairs), tuple(warnings))


def named_server(name: str, servers: Sequence[str], pairs: Sequence[Pair]) -> str | None:
    """The server ``--server NAME`` means: a pair by its name or by any member's name (a
    lease of a pair is freed on the whole pair or not at all, never on one member alone),
    any other configured server by its own; None when ``name`` is none of these."""
    for pair in pairs:
        if name == pair.name or name in pair.servers:
            return pair.name
    return name if name in servers else None


def server_names(servers: Sequence[str], pairs: Sequence[Pair]) -> list[str]:
    """The servers as the report names them, in config order: a pair once, by its name."""
    out: dict[str, None] = {}
    for server in servers:
        pair = next((p for p in pairs if server in p.servers), None)
        out[pair.name if pair is not None else server] = None
    return list(out)


def _pair(members: Sequence[ServerSnapshot], *, declared: bool, unread_kinds: set[str]) -> Pair:
    detected = [m.pairing for m in members if m.pairing is not None]
    first = detected[0] if detected else None
    mode = first.mode if first is not None and not declared else PairMode.DECLARED
    kind = members[0].kind
    health = tuple(_health(m) for m in members)
    name = "+".join(m.server for m in members) if len(members) > 1 else members[0].server
    # peers the members name that no member is: a partner not configured (or unreadable)
    named = {p for d in detected for p in d.peers}
    known = {m.server for m in members}
    unconfigured = tuple(sorted(named - known)) if len(members) < 2 else ()
    of = STATE_OF.get(mode, "HA")
    pair = Pair(
        name=name,
        kind=kind,
        relationship=first.name if first is not None else name,
        mode=mode,
        members=health,
        release=RELEASE_ON_PAIR.get(kind, ReleaseOnPair.EVERY),
        unconfigured=unconfigured,
    )
    # Where every peer keeps its own copy (Kea HA), a release that misses a peer comes back
    # from it (ha-sync, a restart): a relationship with more peers than leasewatch read holds.
    expected = max((len(d.peers) + 1 for d in detected), default=0)
    every = pair.release is ReleaseOnPair.EVERY and not declared
    missing = expected - len(members) if every else 0
    hold = _hold(
        pair,
        of,
        lone_unread=bool(unconfigured) and kind in unread_kinds,
        peers=(expected - missing, expected) if missing > 0 else None,
    )
    if hold is None:
        return pair
    code, facts = hold
    return dataclasses.replace(pair, hold=code, facts=facts)


def _hold(
    pair: Pair, of: str, *, lone_unread: bool, peers: tuple[int, int] | None = None
) -> tuple[Reason, Facts] | None:
    """Why nothing of ``pair`` may be released now, or None."""
    for m in pair.members:
        if not m.readable:
            return Reason.KEEP_PAIR_UNREAD, (("pair", pair.name), ("server", m.server))
    if lone_unread:
        # a member names a partner no readable server is, while a server of its kind
        # could not be read: that may be the partner
        partner = ", ".join(pair.unconfigured)
        return Reason.KEEP_PAIR_UNREAD, (("pair", pair.name), ("server", f"its partner {partner}"))
    if peers is not None:
        read, expected = peers
        return Reason.KEEP_PAIR_PEER_MISSING, (
            ("pair", pair.name),
            ("read", str(read)),
            ("expected", str(expected)),
        )
    for m in pair.members:
        if m.normal is False:
            facts = (("of", of), ("state", m.state or "unknown"), ("server", m.server))
            return Reason.KEEP_PAIR_NOT_NORMAL, facts
    if not any(m.normal for m in pair.members):
        return Reason.KEEP_PAIR_STATE_UNKNOWN, (("pair", pair.name), ("of", of))
    return None


def _health(snap: ServerSnapshot) -> MemberHealth:
    p: PairMember | None = snap.pairing
    if p is None:
        return MemberHealth(server=snap.server, role="partner", error=snap.error)
    return MemberHealth(
        server=snap.server,
        role=p.role,
        state=p.state,
        normal=p.normal,
        state_from=p.state_from,
        error=snap.error,
    )


def _joined(pair: Pair, members: Sequence[ServerSnapshot], now: datetime) -> ServerSnapshot:
    """One snapshot for a pair's readable members."""
    ranges: dict[tuple[int, int], Range] = {}
    fixed: dict[FixedHost, None] = {}
    for m in members:
        for r in m.ranges:
            ranges.setdefault((int(r.first), int(r.last)), r)
        fixed.update(dict.fromkeys(m.fixed))
    leases: Leases = (
        members[0].leases if len(members) == 1 else JoinedLeases([m.leases for m in members], now)
    )
    return ServerSnapshot(
        server=pair.name,
        kind=pair.kind,
        ranges=tuple(ranges.values()),
        leases=leases,
        fixed=tuple(fixed),
        complete=all(m.complete for m in members),
        warnings=tuple(w for m in members for w in m.warnings),
        read_errors=tuple(e for m in members for e in m.read_errors),
        # a member nothing can be released on (dhcpd -6) makes the pair so
        report_only=next((m.report_only for m in members if m.report_only is not None), None),
        members=pair.servers,
    )


class JoinedLeases(Leases):
    """Several members' leases as one table: an address counts once, its strongest word
    first (active > abandoned > backup > free); its lease is the active one that ends
    last (the newest binding), else the first member's."""

    __slots__ = ("_census", "_members", "_now")

    def __init__(self, members: Iterable[Leases], now: datetime) -> None:
        self._members = tuple(members)
        self._now = now
        self._census: Census | None = None

    def census(self, now: datetime) -> Census:
        if now == self._now and self._census is not None:
            return self._census
        parts = [m.census(now) for m in self._members]
        active = set().union(*(p.active for p in parts))
        abandoned = set().union(*(p.abandoned for p in parts)) - active
        backup = set().union(*(p.backup for p in parts)) - active - abandoned
        census = Census(tuple(sorted(active)), tuple(sorted(backup)), tuple(sorted(abandoned)))
        if now == self._now:
            self._census = census
        return census

    def get(self, ip: int) -> Lease | None:
        found = [lease for m in self._members if (lease := m.get(ip)) is not None]
        if not found:
            return None
        active = [x for x in found if x.is_active(self._now)]
        if active:
            return max(active, key=lambda x: (x.ends is None, x.ends.timestamp() if x.ends else 0))
        return found[0]

    def _addresses(self) -> list[int]:
        seen: dict[int, None] = {}
        for m in self._members:
            seen.update(dict.fromkeys(int(lease.ip) for lease in m))
        return sorted(seen)

    def __iter__(self) -> Iterator[Lease]:
        for ip in self._addresses():
            lease = self.get(ip)
            if lease is not None:
                yield lease

    def __len__(self) -> int:
        return len(self._addresses())
