"""The story on a real kea-dhcp6 with dhclient -6 VMs, through the CLI: orphans deleted with
lease6-del, live leases kept, new VMs get addresses; a PD pool filled by dhclient -6 -P."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from lab.isc import Layout6
from lab.kea6 import Kea6Lab, pd_prefix
from tests.cli_helpers import run

pytestmark = pytest.mark.lab


@pytest.fixture
def kea6_lab() -> Iterator[Kea6Lab]:
    """kea-dhcp6 in a namespace: 16 addresses and four /56 prefixes for dhclient -6 VMs."""
    lab = Kea6Lab.start(Layout6(na_size=16, pd_count=4, pd_len=56))
    try:
        yield lab
    finally:
        lab.close()


def write_config(lab: Kea6Lab) -> Path:
    """A leasewatch config: the lab's kea-dhcp6 by its socket, the hypervisor's inventory."""
    path = lab.workdir / "leasewatch.toml"
    path.write_text(lab.leasewatch_toml(lab.workdir / "state.db", reaper=""), encoding="utf-8")
    return path


def report(config: Path) -> dict[str, Any]:
    """``report --format json`` as a document."""
    doc: dict[str, Any] = json.loads(
        run("-c", str(config), "report", "--format", "json", now=datetime.now(UTC)).out
    )
    return doc


def test_orphans_go_with_lease6_del_and_new_vms_bind(kea6_lab: Kea6Lab) -> None:
    """16 VMs fill the pool, 10 die, 2 new get nothing; scan --apply deletes 10, the 2 bind."""
    lab = kea6_lab
    vms = lab.boot6(16)
    assert all(vm.ip6 is not None for vm in vms)
    by_ip = {item["ip-address"]: item for item in lab.leases()}
    # mac-sources lists ipv6-link-local first: Kea's hw-address is each VM's own MAC
    assert {by_ip[str(vm.ip6)].get("hw-address") for vm in vms} == {vm.mac for vm in vms}
    dead, live = vms[:10], vms[10:]
    for vm in dead:
        lab.destroy(vm)
    new = lab.boot6(2, timeout=4)
    assert [vm.ip6 for vm in new] == [None, None]  # the pool is dry
    config = write_config(lab)

    doc = report(config)
    (pool,) = [p for p in doc["pools"] if p["kind"] == "address"]
    assert (pool["size"], pool["active"], pool["free"], pool["level"]) == (16, 16, 0, "critical")
    assert {o["mac"] for o in doc["orphans"]} == {vm.mac for vm in dead}
    assert all(o["duid"] and o["iaid"] is not None for o in doc["orphans"])

    now = datetime.now(UTC)
    first = run("-c", str(config), "scan", "--format", "json", now=now)
    assert json.loads(first.out)["applied"] is False  # a dry run: grace starts now
    later = now + timedelta(minutes=31)
    scan = run("-c", str(config), "scan", "--apply", "--format", "json", now=later)
    released = [r for r in json.loads(scan.out)["releases"] if r["outcome"] == "released"]
    assert sorted(r["mac"] for r in released) == sorted(vm.mac for vm in dead)
    assert all("lease6-del" in r["detail"] for r in released)
    held = {item["ip-address"] for item in lab.leases()}
    assert held == {str(vm.ip6) for vm in live}  # the live VMs' leases are kept
    # dhclient -6 backs off up to its SOL_MAX_RT once told "no addresses": the VMs that
    # asked while the pool was dry are gone, and new ones get the freed addresses
    for vm in new:
        lab.destroy(vm)
    fresh = lab.boot6(2, timeout=30)
    assert {str(vm.ip6) for vm in fresh} <= {str(vm.ip6) for vm in dead}
    after = json.loads(run("-c", str(config), "report", "--format", "json", now=later).out)
    assert after["orphans"] == []


def test_a_pd_pool_filled_by_dhclient_p_is_reported(kea6_lab: Kea6Lab) -> None:
    """Four dhclient -6 -P VMs take the four /56 prefixes: the PD network is full."""
    lab = kea6_lab
    vms = lab.boot6(4, dhcp6="pd")
    assert {vm.prefix for vm in vms} == set(pd_prefix(lab.layout).subnets(new_prefix=56))
    doc = report(write_config(lab))
    (pd,) = [p for p in doc["pools"] if p["kind"] == "prefix"]
    assert (pd["size"], pd["active"], pd["free"], pd["delegated_len"]) == (4, 4, 0, 56)
    networks = {n["name"]: n for n in doc["networks"]}
    assert networks["2001:db8:1::/64 prefixes"]["level"] == "critical"
    assert doc["outside"] == []
    table = run("-c", str(write_config(lab)), "report", now=datetime.now(UTC)).out
    assert f"{pd_prefix(lab.layout)} /56" in table
