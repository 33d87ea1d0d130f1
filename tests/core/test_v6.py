"""Tests for the address-family-aware model: exact v6 sizes, PD pools and DUID evidence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

import pytest

from leasewatch.core.analysis import analyse
from leasewatch.model import (
    BindingState,
    InventorySnapshot,
    Lease,
    LeaseList,
    MacSource,
    PoolKind,
    Range,
    Reason,
    ServerSnapshot,
    Verdict,
    address_of,
    parse_address,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SUBNET = IPv6Network("2001:db8:1::/64")
NA = Range(SUBNET[0], SUBNET[-1], SUBNET, "2001:db8:1::/64")
PD_NET = IPv6Network("2001:db8:8000::/40")
PD = Range(PD_NET[0], PD_NET[-1], SUBNET, "2001:db8:1::/64", PoolKind.PREFIX, 56)
A, B = "52:54:00:00:00:0a", "52:54:00:00:00:0b"
DUID = "00:01:00:01:2c:5f:1a:2b:52:54:00:00:00:0b"


def v6(
    ip: str,
    mac: str | None,
    *,
    kind: PoolKind = PoolKind.ADDRESS,
    prefix_len: int | None = None,
    duid: str | None = None,
    mac_source: MacSource = MacSource.HARDWARE,
) -> Lease:
    """An active v6 lease ending in three days."""
    return Lease(
        IPv6Address(ip),
        BindingState.ACTIVE,
        mac=mac,
        ends=NOW + timedelta(days=3),
        server="kea6",
        kind=kind,
        prefix_len=prefix_len,
        duid=duid,
        iaid=1,
        mac_source=mac_source,
    )


def server(*leases: Lease) -> ServerSnapshot:
    """A kea-dhcp6 server with a /64 address pool and a /40 PD pool delegating /56."""
    return ServerSnapshot(server="kea6", kind="kea", ranges=(NA, PD), leases=LeaseList(leases))


def inventory(*macs: str) -> InventorySnapshot:
    """A healthy inventory that lists these MACs."""
    return InventorySnapshot(source="hv", kind="command", macs=frozenset(macs))


def test_sizes_are_exact_integers() -> None:
    """A /64 address pool holds 2**64 addresses; a /40 delegating /56 holds 2**16 prefixes."""
    assert NA.size == 2**64
    assert PD.size == 2**16
    whole = IPv6Network("2001:db8:9::/48")
    assert Range(whole[0], whole[-1], SUBNET, "n", PoolKind.PREFIX, 64).size == 2**16


def test_labels_name_a_pd_pool_by_prefix_and_delegated_length() -> None:
    """A PD pool reads as its prefix and delegated length; an address pool as first-last."""
    assert PD.label == "2001:db8:8000::/40 /56"
    assert NA.label == "2001:db8:1::-2001:db8:1:0:ffff:ffff:ffff:ffff"
    lease = v6("2001:db8:8000:100::", None, kind=PoolKind.PREFIX, prefix_len=56)
    assert lease.label == "2001:db8:8000:100::/56"


def test_families_never_compare() -> None:
    """A v4 address is in no v6 range (and the reverse) instead of raising TypeError."""
    v4 = Range(
        IPv4Address("198.18.0.10"),
        IPv4Address("198.18.0.20"),
        IPv4Network("198.18.0.0/24"),
        "lab",
    )
    assert IPv6Address("2001:db8:1::5") in NA
    assert IPv4Address("198.18.0.10") not in NA
    assert IPv6Address("::c612:a") not in v4  # the int of 198.18.0.10, as v6
    assert parse_address("2001:DB8::1") == IPv6Address("2001:db8::1")
    assert parse_address("host") is None
    assert address_of(int(IPv6Address("2001:db8::1"))) == IPv6Address("2001:db8::1")


def test_usage_counts_addresses_and_prefixes_apart() -> None:
    """Addresses count in the address pool, delegated prefixes in a network of their own."""
    result = analyse(
        [
            server(
                v6("2001:db8:1::10", A),
                v6("2001:db8:1::11", A),
                v6("2001:db8:8000:100::", A, kind=PoolKind.PREFIX, prefix_len=56),
            )
        ],
        [inventory(A)],
        now=NOW,
    )
    addresses, prefixes = result.networks
    (na,) = addresses.pools
    (pd,) = prefixes.pools
    assert (na.size, na.active, na.free) == (2**64, 2, 2**64 - 2)
    assert (pd.kind, pd.delegated_len, pd.size, pd.active) == (PoolKind.PREFIX, 56, 2**16, 1)
    # a network's PD pools are counted apart: prefixes and addresses never add up
    assert (addresses.name, addresses.size) == ("2001:db8:1::/64", 2**64)
    assert (prefixes.name, prefixes.size, prefixes.free) == (
        "2001:db8:1::/64 prefixes",
        2**16,
        2**16 - 1,
    )
    assert pd.network == "2001:db8:1::/64"  # the network inventories and the judge know
    assert result.live == 3


@pytest.mark.parametrize(
    ("lease", "trust", "verdict", "code"),
    [
        (v6("2001:db8:1::10", B), False, Verdict.ORPHAN, Reason.ORPHAN_NOT_SEEN),
        (v6("2001:db8:1::10", None, duid=DUID), False, Verdict.UNKNOWN, Reason.UNKNOWN_DUID_ONLY),
        (
            v6("2001:db8:1::10", B, duid=DUID, mac_source=MacSource.DUID),
            False,
            Verdict.UNKNOWN,
            Reason.UNKNOWN_DUID_MAC,
        ),
        (
            v6("2001:db8:1::10", B, duid=DUID, mac_source=MacSource.DUID),
            True,
            Verdict.ORPHAN,
            Reason.ORPHAN_NOT_SEEN,
        ),
        (
            v6("2001:db8:1::10", A, duid=DUID, mac_source=MacSource.DUID),
            False,
            Verdict.LIVE,
            Reason.LIVE_SEEN,
        ),
    ],
)
def test_only_a_trusted_mac_makes_a_v6_orphan(
    lease: Lease, trust: bool, verdict: Verdict, code: Reason
) -> None:
    """Kea's hw-address can make an orphan; a DUID alone never, a DUID's MAC only if trusted."""
    result = analyse([server(lease)], [inventory(A)], now=NOW, trust_duid_mac=trust)
    findings = (*result.orphans, *result.unknown)
    if verdict is Verdict.LIVE:
        assert (findings, result.live) == ((), 1)
        return
    (finding,) = findings
    assert (finding.verdict, finding.code) == (verdict, code)
