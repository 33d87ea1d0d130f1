"""Tests for pairs: a relationship's members counted and judged as one server (pure)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address, IPv4Network

from hypothesis import given
from hypothesis import strategies as st

from leasewatch.config import ReaperConfig
from leasewatch.core.analysis import analyse
from leasewatch.core.pairs import JoinedLeases, pair_up
from leasewatch.model import (
    Action,
    BindingState,
    InventorySnapshot,
    Lease,
    LeaseList,
    PairMember,
    PairMode,
    Range,
    Reason,
    ReleaseOnPair,
    ServerSnapshot,
)
from leasewatch.reaper.plan import plan, plan_requested

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
NET = IPv4Network("198.18.1.192/27")
RANGE = Range(IPv4Address("198.18.1.202"), IPv4Address("198.18.1.222"), NET, NET.with_prefixlen)
IPS = [IPv4Address(int(RANGE.first) + i) for i in range(RANGE.size)]
GONE = "52:54:00:00:00:99"
LIVE = "52:54:00:00:00:01"


def lease(ip: IPv4Address, state: BindingState = BindingState.ACTIVE, mac: str = GONE) -> Lease:
    """A lease that started two hours ago and ends tomorrow."""
    return Lease(ip, state, mac=mac, starts=NOW - timedelta(hours=2), ends=NOW + timedelta(days=1))


def fresh() -> list[Lease]:
    """A fresh dhcpd failover pool of 21 as both journals show it: 11 free, 10 backup."""
    return [lease(ip, BindingState.FREE if i % 2 == 0 else BindingState.BACKUP) for i, ip in
            enumerate(IPS)]  # fmt: skip


def member(
    name: str, leases: list[Lease], *, role: str = "primary", normal: bool | None = True,
    state: str = "normal",
) -> ServerSnapshot:  # fmt: skip
    """A dhcpd failover member of the pair "fo" holding ``leases``."""
    pairing = PairMember(
        relationship='failover peer "fo" 198.18.1.1 198.18.1.2',
        name="fo",
        mode=PairMode.FAILOVER,
        role=role,
        state=state,
        normal=normal,
        state_from="omapi" if normal is not None else "journal",
    )
    return ServerSnapshot(name, "isc", ranges=(RANGE,), leases=LeaseList(leases), pairing=pairing)


def with_state(leases: list[Lease], i: int, state: BindingState, mac: str = GONE) -> list[Lease]:
    """``leases`` with address ``i`` in ``state``."""
    out = list(leases)
    out[i] = lease(IPS[i], state, mac)
    return out


INVENTORY = InventorySnapshot("hv", "command", frozenset({LIVE}))


def test_a_fresh_pair_is_one_pool_of_21_free() -> None:
    """Two journals of a fresh pair (11 free + 10 backup each) are one pool: 21 free."""
    a = analyse([member("dhcp1", fresh()), member("dhcp2", fresh(), role="secondary")], [],
                now=NOW)  # fmt: skip
    (pool,) = a.pools
    assert (pool.server, pool.size, pool.active, pool.backup, pool.free) == (
        "dhcp1+dhcp2", 21, 0, 10, 21,
    )  # fmt: skip
    (pair,) = a.pairs
    assert pair.servers == ("dhcp1", "dhcp2")
    assert pair.release is ReleaseOnPair.ONCE and pair.hold is None
    assert [s.server for s in a.servers] == ["dhcp1+dhcp2"]


def test_an_address_active_on_either_member_counts_once() -> None:
    """Active on both, or on one only (a binding update on its way): one active address;
    an orphan on both members is one finding."""
    one = with_state(with_state(fresh(), 0, BindingState.ACTIVE), 1, BindingState.ACTIVE)
    two = with_state(fresh(), 0, BindingState.ACTIVE)  # .203 not (yet) active on dhcp2
    a = analyse([member("dhcp1", one), member("dhcp2", two, role="secondary")], [INVENTORY],
                now=NOW)  # fmt: skip
    (pool,) = a.pools
    assert (pool.active, pool.free) == (2, 19)
    assert [(f.lease.server, str(f.lease.ip)) for f in a.orphans] == [
        ("dhcp1+dhcp2", "198.18.1.202"), ("dhcp1+dhcp2", "198.18.1.203"),
    ]  # fmt: skip


def test_members_without_a_partner_stay_alone() -> None:
    """A server in no relationship is analysed as before, beside a pair."""
    lone = ServerSnapshot("dhcp3", "isc", ranges=(RANGE,), leases=LeaseList(fresh()))
    a = analyse([lone, member("dhcp1", fresh()), member("dhcp2", fresh())], [], now=NOW)
    assert [n.server for n in a.networks] == ["dhcp3", "dhcp1+dhcp2"]


def test_a_declared_pair_joins_an_unreadable_member_and_holds() -> None:
    """``partner``: dhcp2 unreadable, the pair is counted from dhcp1 with a warning, and
    nothing of it is released."""
    one = ServerSnapshot("dhcp1", "isc", ranges=(RANGE,), leases=LeaseList([lease(IPS[0])]))
    two = ServerSnapshot("dhcp2", "isc", error="dhcp2.leases: permission denied")
    a = analyse([one, two], [INVENTORY], now=NOW, partners={"dhcp1": "dhcp2", "dhcp2": "dhcp1"})
    (pair,) = a.pairs
    assert pair.mode is PairMode.DECLARED and pair.hold is Reason.KEEP_PAIR_UNREAD
    assert [m.readable for m in pair.members] == [True, False]
    assert a.errors == ()
    assert a.warnings == (
        "pair dhcp1+dhcp2: pair member dhcp2 could not be read: counted from the other member, "
        "nothing released",
    )
    (orphan,) = a.orphans
    (release,) = plan(a, ReaperConfig(grace=timedelta(0)), NOW, ["dhcp1", "dhcp2"])
    assert (release.action, release.code) == (Action.KEEP, Reason.KEEP_PAIR_UNREAD)
    (requested,) = plan_requested([orphan], ReaperConfig(), ["dhcp1"], force=True,
                                  pairs=a.pairs)  # fmt: skip
    assert requested.action is Action.KEEP


def test_not_normal_on_one_member_holds_the_pair_with_its_words() -> None:
    """A member whose live failover state is not normal holds the pair: the plan says
    "failover state communications-interrupted on dhcp1"; another pair still releases."""
    one = member("dhcp1", [lease(IPS[0])], normal=False, state="communications-interrupted")
    two = member("dhcp2", [lease(IPS[0])], role="secondary")
    a = analyse([one, two], [INVENTORY], now=NOW)
    (release,) = plan(a, ReaperConfig(grace=timedelta(0)), NOW, ["dhcp1", "dhcp2"])
    assert release.code is Reason.KEEP_PAIR_NOT_NORMAL
    assert release.reason == "failover state communications-interrupted on dhcp1"
    assert any("communications-interrupted" in w for w in a.warnings)


def test_no_live_state_holds_and_a_normal_pair_releases_once() -> None:
    """Journal states only (no live word): held. A live normal pair releases, on the pair
    (one member with a backend is enough for a pair dhcpd releases once)."""
    quiet = [member("dhcp1", [lease(IPS[0])], normal=None),
             member("dhcp2", [lease(IPS[0])], normal=None)]  # fmt: skip
    a = analyse(quiet, [INVENTORY], now=NOW)
    (held,) = plan(a, ReaperConfig(grace=timedelta(0)), NOW, ["dhcp1"])
    assert held.code is Reason.KEEP_PAIR_STATE_UNKNOWN
    a = analyse([member("dhcp1", [lease(IPS[0])]), member("dhcp2", [lease(IPS[0])])],
                [INVENTORY], now=NOW)  # fmt: skip
    (go,) = plan(a, ReaperConfig(grace=timedelta(0)), NOW, ["dhcp2"])
    assert (go.action, go.finding.lease.server) == (Action.RELEASE, "dhcp1+dhcp2")


def test_a_lone_member_naming_an_unreadable_partner_holds() -> None:
    """dhcp1 says it has a failover partner; no readable server is it while an ISC server
    could not be read: that may be the partner, so nothing is released."""
    one = member("dhcp1", [lease(IPS[0])])
    assert one.pairing is not None
    one = dataclasses.replace(one, pairing=dataclasses.replace(one.pairing, peers=("198.18.1.2",)))
    two = ServerSnapshot("dhcp2", "isc", error="no such file")
    paired = pair_up([one, two], {}, NOW)
    (pair,) = paired.pairs
    assert pair.unconfigured == ("198.18.1.2",)
    assert pair.hold is Reason.KEEP_PAIR_UNREAD
    assert [s.server for s in paired.servers] == ["dhcp1", "dhcp2"]


STATES = st.sampled_from(
    [BindingState.ACTIVE, BindingState.FREE, BindingState.BACKUP, BindingState.ABANDONED]
)


@given(st.lists(STATES, min_size=21, max_size=21), st.lists(STATES, min_size=21, max_size=21))
def test_joined_counts_are_the_strongest_word_and_never_exceed_the_range(
    one: list[BindingState], two: list[BindingState]
) -> None:
    """Any two journals: active is the union, each address counts in one column only,
    the pool never exceeds its size, and the order of the members does not matter."""
    a = [lease(ip, s) for ip, s in zip(IPS, one, strict=True)]
    b = [lease(ip, s) for ip, s in zip(IPS, two, strict=True)]
    census = JoinedLeases([LeaseList(a), LeaseList(b)], NOW).census(NOW)
    flipped = JoinedLeases([LeaseList(b), LeaseList(a)], NOW).census(NOW)
    assert census == flipped
    act = {i for i, (x, y) in enumerate(zip(one, two, strict=True))
           if BindingState.ACTIVE in (x, y)}  # fmt: skip
    assert census.active == tuple(int(IPS[i]) for i in sorted(act))
    columns = [set(census.active), set(census.backup), set(census.abandoned)]
    assert sum(len(c) for c in columns) == len(set().union(*columns)) <= RANGE.size
    (pool,) = analyse([member("x", a), member("y", b)], [], now=NOW).pools
    assert pool.active + pool.abandoned + pool.free == pool.size


def test_a_report_only_member_makes_the_pair_report_only() -> None:
    """A member nothing can be released on (dhcpd -6: OMAPI is DHCPv4 only) keeps the whole
    pair's orphans, with that member's reason."""
    one = dataclasses.replace(member("dhcp1", [lease(IPS[0])]),
                              report_only=Reason.KEEP_OMAPI_V4_ONLY)  # fmt: skip
    a = analyse([one, member("dhcp2", [lease(IPS[0])])], [INVENTORY], now=NOW)
    (release,) = plan(a, ReaperConfig(grace=timedelta(0)), NOW, ["dhcp1", "dhcp2"])
    assert release.code is Reason.KEEP_OMAPI_V4_ONLY
