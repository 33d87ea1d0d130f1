"""The pool's pure rules: which MAC take chooses, list's states, automatic return, holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address, IPv4Network

from leasewatch.core.advice import LeaseSighting
from leasewatch.macpool import choose
from leasewatch.macpool.choose import MacState, Taken, Why
from leasewatch.macpool.pool import from_prefix
from leasewatch.model import (
    BindingState,
    InventorySnapshot,
    Lease,
    LeaseList,
    PoolHold,
    Range,
    ServerSnapshot,
)

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
POOL = from_prefix("52:54:00:5e")
SUBNET = IPv4Network("198.18.1.192/27")
RANGE = Range(IPv4Address("198.18.1.202"), IPv4Address("198.18.1.222"), SUBNET, "lab")


def mac(n: int) -> str:
    """The pool's n-th MAC."""
    return f"52:54:00:5e:00:{n:02x}"


def lease(ip: int, owner: str, ends_in: timedelta | None = timedelta(days=2)) -> Lease:
    """An active lease of 198.18.1.<ip> held by ``owner``."""
    return Lease(
        IPv4Address(f"198.18.1.{ip}"),
        BindingState.ACTIVE,
        owner,
        NOW - timedelta(hours=1),
        None if ends_in is None else NOW + ends_in,
        server="dhcp1",
    )


def server(*leases: Lease) -> ServerSnapshot:
    """dhcpd with the lab's range."""
    return ServerSnapshot("dhcp1", "isc", ranges=(RANGE,), leases=LeaseList(leases))


def inventory(*macs: str, healthy: bool = True) -> InventorySnapshot:
    """A hypervisor listing ``macs``."""
    return InventorySnapshot("hv", "command", frozenset(macs), healthy, None if healthy else "down")


def view(
    servers: tuple[ServerSnapshot, ...] = (),
    inventories: tuple[InventorySnapshot, ...] = (inventory(),),
    sightings: tuple[LeaseSighting, ...] = (),
    blocked: tuple[str, ...] = (),
    networks: tuple[str, ...] = (),
) -> choose.View:
    """The view take and list decide on."""
    leases = choose.pool_leases(POOL, servers, sightings, networks, NOW)
    return choose.build_view(POOL, leases, inventories, blocked, networks)


def sighting(ip: int, owner: str, ended_ago: timedelta) -> LeaseSighting:
    """A lease a past scan recorded, which ended ``ended_ago``."""
    return LeaseSighting(
        "dhcp1",
        IPv4Address(f"198.18.1.{ip}"),
        owner,
        "lab",
        NOW - timedelta(days=3),
        NOW - ended_ago,
        NOW - timedelta(days=3),
        NOW - ended_ago,
    )


def test_empty_pool_hands_out_its_first_mac() -> None:
    """Nothing known: the lowest MAC, never used."""
    choice = choose.choose(view(), set(), "vm1")
    assert choice == choose.Choice(mac(0), "vm1", Why.NEVER_USED)


def test_active_lease_is_preferred_over_never_used() -> None:
    """A pool MAC with an active lease (no inventory lists it) is chosen: its address comes back."""
    v = view((server(lease(210, mac(9))),))
    choice = choose.choose(v, set(), None)
    assert choice is not None and choice.mac == mac(9) and choice.why is Why.ACTIVE_LEASE
    assert choice.ip == IPv4Address("198.18.1.210")


def test_never_a_live_taken_protected_or_non_pool_mac() -> None:
    """Live, taken and blocked MACs are skipped; a non-pool MAC's lease is not a candidate."""
    v = view(
        (
            server(
                lease(210, mac(0)),
                lease(211, mac(1)),
                lease(212, mac(2)),
                lease(213, "02:00:00:00:00:01"),
            ),
        ),
        inventories=(inventory(mac(0)),),
        blocked=(mac(2),),
    )
    choice = choose.choose(v, {mac(1)}, None)
    assert choice == choose.Choice(mac(3), None, Why.NEVER_USED)


def test_active_then_most_recently_ended_then_never_used() -> None:
    """Order: active leases, then the latest ended one, then the lowest unused MAC."""
    v = view(
        (server(lease(210, mac(5))),),
        sightings=(
            sighting(211, mac(6), timedelta(days=2)),
            sighting(212, mac(7), timedelta(hours=1)),
        ),
    )
    picks = []
    held: set[str] = set()
    for _ in range(4):
        choice = choose.choose(v, held, None)
        assert choice is not None
        picks.append((choice.mac, choice.why))
        held.add(choice.mac)
    assert picks == [
        (mac(5), Why.ACTIVE_LEASE),
        (mac(7), Why.EXPIRED_LEASE),
        (mac(6), Why.EXPIRED_LEASE),
        (mac(0), Why.NEVER_USED),
    ]


def test_ended_lease_whose_address_another_mac_holds_is_not_offered() -> None:
    """dhcpd gives an ended lease back only while no other MAC took the address."""
    v = view(
        (server(lease(212, "02:00:00:00:00:01")),),
        sightings=(sighting(212, mac(7), timedelta(hours=1)),),
    )
    assert v.leases == {}


def test_sighted_lease_not_active_on_the_server_now_is_ended() -> None:
    """A lease a scan saw with a future end, gone from the server since (released): ended."""
    future = sighting(212, mac(7), -timedelta(days=1))
    (got,) = view((server(),), sightings=(future,)).leases.values()
    assert not got.active
    (unread,) = view((), sightings=(future,)).leases.values()
    assert unread.active  # no server read: the scan's word is all there is


def test_networks_limit_which_leases_count() -> None:
    """With networks = ['other'], the lab's leases are not the pool's addresses."""
    assert view((server(lease(210, mac(9))),), networks=("other",)).leases == {}
    assert mac(9) in view((server(lease(210, mac(9))),), networks=("lab",)).leases


def test_unhealthy_inventory_gives_no_mac_with_an_active_lease() -> None:
    """An unhealthy inventory may hide the VM that holds an active lease: only unleased MACs."""
    v = view((server(lease(210, mac(0))),), inventories=(inventory(healthy=False),))
    assert choose.choose(v, set(), None) == choose.Choice(
        mac(1), None, Why.NEVER_USED, passed_over=("hv",)
    )


def test_returned_mac_is_reused_even_while_an_inventory_is_unhealthy() -> None:
    """A MAC given back is known free: its active lease is reused despite an unhealthy
    inventory (an empty hypervisor between two test runs looks unhealthy)."""
    leases = choose.pool_leases(POOL, (server(lease(210, mac(4))),), (), (), NOW)
    v = choose.build_view(
        POOL, leases, (inventory(healthy=False),), (), (), returned=frozenset({mac(4)})
    )
    choice = choose.choose(v, set(), None)
    assert choice is not None and (choice.mac, choice.why) == (mac(4), Why.ACTIVE_LEASE)


def test_exhausted_pool_chooses_nothing() -> None:
    """Every MAC of a two-MAC pool taken or live: None."""
    small = from_prefix("52:54:00:5e:00")
    leases = choose.pool_leases(small, (), (), (), NOW)
    v = choose.build_view(small, leases, (inventory(mac(0)),), (), ())
    assert choose.choose(v, {mac(1)}, None) is not None
    listed = choose.build_view(
        from_prefix("52:54:00:5e:00"), leases, (inventory(*(mac(i) for i in range(256))),), (), ()
    )
    assert choose.choose(listed, set(), None) is None


def test_entries_states() -> None:
    """taken (ours), live (an inventory's, not ours), leased (free with a lease)."""
    v = view(
        (server(lease(210, mac(1)), lease(211, mac(2)), lease(212, mac(3))),),
        inventories=(inventory(mac(1), mac(2)),),
    )
    rows = [Taken(mac(1), "web", NOW - timedelta(minutes=5)), Taken(mac(4), "db", NOW)]
    got = choose.entries(v, rows, {}, NOW)
    assert [(e.mac, e.state, e.vm) for e in got] == [
        (mac(1), MacState.TAKEN, "web"),
        (mac(2), MacState.LIVE, None),
        (mac(3), MacState.LEASED, None),
        (mac(4), MacState.TAKEN, "db"),
    ]
    assert got[0].seen == NOW and got[3].seen is None and got[3].lease is None


GRACE = timedelta(minutes=30)
HOLD = timedelta(minutes=10)


def returns(rows: list[Taken], *invs: InventorySnapshot) -> choose.Returns:
    """One scan's returns at NOW."""
    return choose.returns(rows, invs, (), hold=HOLD, grace=GRACE, now=NOW)


def test_never_seen_returns_after_hold() -> None:
    """A MAC no inventory ever listed returns once hold has passed, not before."""
    old = Taken(mac(1), "a", NOW - HOLD)
    young = Taken(mac(2), "b", NOW - HOLD + timedelta(seconds=1))
    assert returns([old, young], inventory()).returned == (old,)


def test_seen_then_gone_returns_after_grace() -> None:
    """A listed MAC is marked seen; gone, it starts missing and returns after grace."""
    row = Taken(mac(1), "a", NOW - timedelta(hours=2))
    assert returns([row], inventory(mac(1))).seen == {mac(1)}
    seen = Taken(mac(1), "a", NOW - timedelta(hours=2), seen_at=NOW - timedelta(hours=1))
    first = returns([seen], inventory())
    assert first.missing == {mac(1): NOW} and first.returned == ()
    long_gone = Taken(mac(1), "a", NOW - timedelta(hours=2), NOW - timedelta(hours=1), NOW - GRACE)
    assert returns([long_gone], inventory()).returned == (long_gone,)


def test_unhealthy_or_no_inventory_returns_nothing() -> None:
    """An unhealthy inventory, or none at all, returns nothing (the VM may be alive)."""
    old = Taken(mac(1), "a", NOW - timedelta(days=1))
    assert returns([old], inventory(healthy=False)).returned == ()
    assert returns([old]).returned == ()
    assert returns([old], inventory(), inventory(healthy=False)).missing == {}


def test_holds_for_the_reaper() -> None:
    """Orphans under the pool are taken or kept; others are not the pool's business."""
    got = choose.holds(POOL, [mac(1), mac(2), "02:00:00:00:00:01", None], {mac(1)})
    assert got == {mac(1): PoolHold.TAKEN, mac(2): PoolHold.KEPT}
