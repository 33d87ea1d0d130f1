"""Kea DHCPv6 through a real kea-dhcp6 (API only): config-get's Dhcp6, lease6-get-page,
kea-leases6.csv, and release with lease6-get/lease6-del."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from ipaddress import IPv6Address
from pathlib import Path
from typing import Any

import pytest

from lab.kea import KeaServer
from lab.kea6 import running_kea6
from lab.netns import LabError
from leasewatch.config import ServerConfig
from leasewatch.core.analysis import analyse
from leasewatch.errors import LeasesError
from leasewatch.leases import kinds
from leasewatch.leases.kea6 import duid_may_fill_mac, lease6_from_api
from leasewatch.model import Lease, MacSource, Outcome, PoolKind, ServerSnapshot
from leasewatch.reaper.kea import KeaReleaseBackend
from tests.cli_helpers import run

pytestmark = pytest.mark.lab

# a /64 address pool and a /40 PD pool delegating /56 on one subnet; on the other an `a - b`
# range (config-get writes it back as `a-b`) and a /48 PD pool delegating /64
SUBNETS: list[dict[str, Any]] = [
    {
        "id": 1,
        "subnet": "2001:db8:1::/64",
        "pools": [{"pool": "2001:db8:1::/64"}],
        "pd-pools": [{"prefix": "2001:db8:8000::", "prefix-len": 40, "delegated-len": 56}],
        "reservations": [
            {
                "duid": "00:03:00:01:52:54:00:00:00:01",
                "ip-addresses": ["2001:db8:1::5"],
                "prefixes": ["2001:db8:9000::/56"],
                "hostname": "fixed6",
            }
        ],
    },
    {
        "id": 2,
        "subnet": "2001:db8:2::/64",
        "pools": [{"pool": "2001:db8:2::105 - 2001:db8:2::1ff"}],
        "pd-pools": [{"prefix": "2001:db8:a::", "prefix-len": 48, "delegated-len": 64}],
    },
]
MAC_B, MAC_C = "52:54:00:00:00:0b", "52:54:00:00:00:0c"
DUID_B = "00:01:00:01:2c:5f:1a:2b:52:54:00:00:00:0b"
DUID_C = "00:03:00:01:52:54:00:00:00:0c"


@pytest.fixture
def kea6(short_tmp: Path) -> Iterator[KeaServer]:
    """A real kea-dhcp6 with lease_cmds, serving no interface (API only)."""
    with running_kea6(short_tmp / "kea6", SUBNETS) as server:
        yield server


def add(kea: KeaServer, ip: str, duid: str, iaid: int, **extra: Any) -> None:
    """``lease6-add`` one lease (a prefix with ``type`` IA_PD and ``prefix-len``)."""
    answer = kea.command("lease6-add", {"ip-address": ip, "duid": duid, "iaid": iaid, **extra})
    assert answer["result"] == 0, answer["text"]


def fill(kea: KeaServer) -> None:
    """Two addresses and a delegated prefix with hw-address, one address without."""
    add(kea, "2001:db8:1::10", DUID_B, 1, **{"hw-address": MAC_B, "hostname": "vm-b"})
    add(kea, "2001:db8:2::105", DUID_C, 2, **{"hw-address": MAC_C})
    add(kea, "2001:db8:2::106", "00:03:00:01:52:54:00:00:00:0d", 3)
    pd = {"type": "IA_PD", "prefix-len": 56, "subnet-id": 1, "hw-address": MAC_C}
    add(kea, "2001:db8:8000:100::", DUID_C, 4, **pd)


def read(kea: KeaServer, **config: Any) -> ServerSnapshot:
    """The server as ``kind = "kea"`` reads it (its socket, unless ``leases`` is given)."""
    if "leases" not in config:
        config["control_socket"] = kea.socket_path
    return kinds.build(ServerConfig(name="kea6", kind="kea", timeout=5, **config)).read()


def test_config_get_gives_exact_pool_sizes(kea6: KeaServer) -> None:
    """A /64 pool holds 2**64 addresses, a /48 delegating /64 holds 2**16 prefixes, exactly."""
    snap = read(kea6)
    assert [(r.label, r.kind, r.size) for r in snap.ranges] == [
        ("2001:db8:1::-2001:db8:1:0:ffff:ffff:ffff:ffff", PoolKind.ADDRESS, 2**64),
        ("2001:db8:8000::/40 /56", PoolKind.PREFIX, 2**16),
        ("2001:db8:2::105-2001:db8:2::1ff", PoolKind.ADDRESS, 0x1FF - 0x105 + 1),
        ("2001:db8:a::/48 /64", PoolKind.PREFIX, 2**16),
    ]
    fixed = {str(h.ip) for h in snap.fixed}
    assert fixed == {"2001:db8:1::5", "2001:db8:9000::"}


def test_lease6_get_page_reads_addresses_and_prefixes(kea6: KeaServer) -> None:
    """Paging two at a time reads all four leases with their type, DUID, IAID and MAC."""
    fill(kea6)
    snap = read(kea6, page_size=2)
    leases = {lease.label: lease for lease in snap.leases}
    assert sorted(leases) == [
        "2001:db8:1::10",
        "2001:db8:2::105",
        "2001:db8:2::106",
        "2001:db8:8000:100::/56",
    ]
    b, pd = leases["2001:db8:1::10"], leases["2001:db8:8000:100::/56"]
    assert (b.mac, b.duid, b.iaid, b.hostname, b.kind) == (
        MAC_B,
        DUID_B,
        1,
        "vm-b",
        PoolKind.ADDRESS,
    )
    assert (pd.kind, pd.prefix_len, pd.mac, pd.iaid) == (PoolKind.PREFIX, 56, MAC_C, 4)
    assert leases["2001:db8:2::106"].mac is None
    usage = {n.name: n for n in analyse([snap], [], now=datetime.now(UTC)).networks}
    assert {name: (n.size, n.active, n.free) for name, n in usage.items()} == {
        "2001:db8:1::/64": (2**64, 1, 2**64 - 1),
        "2001:db8:1::/64 prefixes": (2**16, 1, 2**16 - 1),
        "2001:db8:2::/64": (251, 2, 249),
        "2001:db8:2::/64 prefixes": (2**16, 0, 2**16),
    }


def test_kea_leases6_csv_reads_as_the_api_does(kea6: KeaServer) -> None:
    """The memfile Kea wrote gives the same leases as the API, for report only."""

    def key(lease: Lease) -> tuple[object, ...]:
        return (lease.label, lease.mac, lease.duid, lease.iaid, lease.ends, lease.state)

    fill(kea6)
    kea6.command("lease6-del", {"ip-address": "2001:db8:2::106"})
    live = read(kea6)
    offline = read(kea6, leases=kea6.leases_file)
    assert sorted(map(key, offline.leases)) == sorted(map(key, live.leases))
    assert len(offline.leases) == 3  # the deleted one is gone (a row with lifetime 0)
    assert not offline.complete and offline.ranges == ()
    assert all(lease.mac_source is MacSource.HARDWARE for lease in offline.leases)


def test_a_v4_header_is_not_taken_for_v6(tmp_path: Path) -> None:
    """A file that is neither memfile names what was expected at file:1."""
    path = tmp_path / "kea-leases6.csv"
    path.write_text("address,duid,valid_lifetime\n2001:db8::1,00:01,3600\n", encoding="utf-8")
    with pytest.raises(LeasesError, match=r"kea-leases6.csv:1: Kea lease file header lacks"):
        kinds.build(ServerConfig(name="k", kind="kea", leases=path)).read()


def test_release_deletes_by_address_and_type(kea6: KeaServer) -> None:
    """lease6-del removes an address and a delegated prefix; a second try is not-found."""
    fill(kea6)
    snap = read(kea6)
    by_label = {lease.label: lease for lease in snap.leases}
    backend = KeaReleaseBackend(
        ServerConfig(name="kea6", kind="kea", control_socket=kea6.socket_path)
    )
    try:
        for label, kind in (("2001:db8:1::10", "IA_NA"), ("2001:db8:8000:100::/56", "IA_PD")):
            outcome, detail = backend.release(by_label[label])
            assert outcome is Outcome.RELEASED, detail
            assert f"lease6-del {label}" in detail
            ip = str(by_label[label].ip)
            assert kea6.command("lease6-get", {"ip-address": ip, "type": kind})["result"] == 3
        # measured on Kea 2.2: lease6-del of a lease that is not there answers result 3
        missing = kea6.command("lease6-del", {"ip-address": "2001:db8:1::99", "type": "IA_NA"})
        assert missing["result"] == 3
        outcome, _ = backend.release(by_label["2001:db8:1::10"])
        assert outcome is Outcome.NOT_FOUND
    finally:
        backend.close()


def test_release_leaves_a_lease_another_client_holds(kea6: KeaServer) -> None:
    """The address went to another DUID since the scan: CHANGED, and it stays."""
    fill(kea6)
    lease = next(x for x in read(kea6).leases if x.label == "2001:db8:1::10")
    kea6.command("lease6-del", {"ip-address": "2001:db8:1::10"})
    add(kea6, "2001:db8:1::10", "00:03:00:01:52:54:00:00:00:99", 9, **{"hw-address": MAC_B})
    backend = KeaReleaseBackend(
        ServerConfig(name="kea6", kind="kea", control_socket=kea6.socket_path)
    )
    try:
        outcome, detail = backend.release(lease)
    finally:
        backend.close()
    assert outcome is Outcome.CHANGED and "DUID" in detail
    assert IPv6Address("2001:db8:1::10") == lease.ip
    assert kea6.command("lease6-get", {"ip-address": "2001:db8:1::10"})["result"] == 0


def test_why_and_release_take_a_v6_address_or_a_duid(kea6: KeaServer, tmp_path: Path) -> None:
    """``why`` finds a client's leases by DUID or address; ``release --ip`` takes a v6 one."""
    fill(kea6)
    inventory = tmp_path / "macs.txt"
    inventory.write_text(f"{MAC_B}\n", encoding="utf-8")
    config = tmp_path / "leasewatch.toml"
    config.write_text(
        f'[[servers]]\nname = "kea6"\nkind = "kea"\ncontrol_socket = "{kea6.socket_path}"\n\n'
        f'[[inventory]]\nname = "hv"\nkind = "file"\npath = "{inventory}"\n\n'
        f'[state]\npath = "{tmp_path / "state.db"}"\n',
        encoding="utf-8",
    )
    now = datetime.now(UTC)
    by_duid = run("-c", str(config), "why", DUID_C.upper(), now=now)
    assert by_duid.status == 0, by_duid.err
    assert "2001:db8:2::105 52:54:00:00:00:0c" in by_duid.out
    assert "2001:db8:8000:100::/56 52:54:00:00:00:0c" in by_duid.out
    assert f"DHCPv6 client: DUID {DUID_C}, IAID 2" in by_duid.out
    by_ip = run("-c", str(config), "why", "2001:DB8:1::10", now=now)
    assert "verdict: LIVE" in by_ip.out
    dry = run("-c", str(config), "release", "--ip", "2001:db8:2::105", "--dry-run", now=now)
    assert dry.status == 0, dry.err
    assert "2001:db8:2::105" in dry.out


def test_release_names_a_delegated_prefix_as_reports_write_it(
    kea6: KeaServer, tmp_path: Path
) -> None:
    """``release --ip 2001:db8:8000:100::/56`` releases the delegated prefix (forced here)."""
    fill(kea6)
    config = tmp_path / "leasewatch.toml"
    config.write_text(
        f'[[servers]]\nname = "kea6"\nkind = "kea"\ncontrol_socket = "{kea6.socket_path}"\n\n'
        f'[state]\npath = "{tmp_path / "state.db"}"\n',
        encoding="utf-8",
    )
    ip = "2001:db8:8000:100::/56"
    done = run("-c", str(config), "release", "--ip", ip, "--force", now=datetime.now(UTC))
    assert "lease6-del 2001:db8:8000:100::/56" in done.out, done.err
    answer = kea6.command("lease6-get", {"ip-address": "2001:db8:8000:100::", "type": "IA_PD"})
    assert answer["result"] == 3


@pytest.mark.parametrize(
    ("sources", "hw", "source"),
    [
        (None, "52:54:00:00:00:0b", MacSource.DUID),  # Kea's default "any" includes duid
        (["ipv6-link-local", "duid"], "52:54:00:00:00:0b", MacSource.DUID),
        (["ipv6-link-local", "duid"], "00:16:3e:00:00:01", MacSource.HARDWARE),
        (["ipv6-link-local"], "52:54:00:00:00:0b", MacSource.HARDWARE),
    ],
)
def test_a_hw_address_equal_to_the_duids_mac_is_weak(
    sources: list[str] | None, hw: str, source: MacSource
) -> None:
    """The API does not say which mac-source filled hw-address: equal to the MAC inside the
    client's DUID, with duid among the sources, it may have come from there."""
    dhcp6: dict[str, Any] = {} if sources is None else {"mac-sources": sources}
    item = {
        "ip-address": "2001:db8:1::10",
        "cltt": 1796033802,
        "valid-lft": 3600,
        "type": "IA_NA",
        "duid": DUID_B,
        "iaid": 1,
        "hw-address": hw,
    }
    lease = lease6_from_api("kea6", item, duid_may_fill=duid_may_fill_mac(dhcp6))
    assert lease.mac_source is source


def test_a_kea_that_cannot_start_is_one_lab_error_and_leaves_nothing(short_tmp: Path) -> None:
    """A config kea-dhcp6 refuses: the lab says which server and why (its log), and neither
    the process nor its socket is left behind (lab.launch)."""
    bad = [{"id": 1, "subnet": "2001:db8:1::/64", "pools": [{"pool": "2001:db8:2::/64"}]}]
    root = short_tmp / "bad"
    with pytest.raises(LabError) as caught, running_kea6(root, bad):
        pass
    assert f"kea-dhcp6 in {root} exited" in str(caught.value)
    assert "to which it is being added" in str(caught.value)  # Kea's own words, its log
    assert not (root / "kea6.sock").exists()
    # no process runs on this config (its path is unique to this test)
    found = subprocess.run(["pgrep", "-f", str(root)], check=False, capture_output=True)
    assert found.stdout == b""
