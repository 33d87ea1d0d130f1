"""The lab itself: real dhcpd hands real dhclient VMs addresses; teardown leaves nothing."""

from __future__ import annotations

import subprocess
from ipaddress import IPv4Address

import pytest

from lab.demo import Story
from lab.isc import IscLab, Layout
from lab.netns import NETNS_DIR

pytestmark = pytest.mark.lab


def test_layout_is_the_seeds() -> None:
    """The default layout is the seed's /27: gateway .193, dhcpd .197, pool .202-.222."""
    layout = Layout.seed()
    assert str(layout.subnet) == "198.18.1.192/27"
    assert layout.gateway == IPv4Address("198.18.1.193")
    assert layout.server_ip == IPv4Address("198.18.1.197")
    assert (layout.first, layout.last) == (IPv4Address("198.18.1.202"), IPv4Address("198.18.1.222"))
    assert len(layout.pool) == 21


def test_layout_grows_the_subnet_for_a_bigger_pool() -> None:
    """A pool that does not fit a /27 gets the smallest subnet that holds it."""
    layout = Layout.seed(pool_size=100)
    assert layout.subnet.prefixlen == 25
    assert layout.last in layout.subnet and layout.last != layout.subnet.broadcast_address


def test_vms_get_pool_addresses_and_inventory_lists_live_ones(small_isc_lab: IscLab) -> None:
    """Two VMs get the two pool addresses; a destroyed VM leaves the inventory."""
    vms = small_isc_lab.boot(2)
    assert sorted(vm.ip for vm in vms if vm.ip) == small_isc_lab.layout.pool
    small_isc_lab.destroy(vms[0])
    out = subprocess.run(
        small_isc_lab.inventory_argv(), capture_output=True, text=True, check=True, cwd="/"
    ).stdout
    assert out.split() == [vms[1].mac]


def test_a_vm_gets_no_address_when_the_pool_is_dry(small_isc_lab: IscLab) -> None:
    """With the pool held by a destroyed VM's lease, a new VM times out with no address."""
    first = small_isc_lab.boot(2)
    small_isc_lab.destroy(first[0])
    late = small_isc_lab.boot(1, timeout=4)[0]
    assert late.ip is None
    assert "no free leases" in small_isc_lab.log_path.read_text()


def test_close_removes_namespaces_processes_and_files() -> None:
    """After close() no namespace, dhcpd, dhclient or temp dir of the lab is left."""
    lab = IscLab.start(pool_size=2)
    vm = lab.boot(1)[0]
    names = [lab.server_ns.name, lab.hypervisor.ns.name] if lab.server_ns else []
    workdir = lab.workdir
    lab.close()
    assert vm.proc.poll() is not None
    assert not any((NETNS_DIR / n).exists() for n in names)
    assert not workdir.exists()
    assert not lab.omapi_reachable()


def test_a_story_that_did_not_happen_says_what_went_wrong() -> None:
    """An empty story is wrong in every count the end-to-end tests check, each named."""
    wrong = Story().wrong()
    assert "0 VMs booted, not 21" in wrong and "the pool was not dry" in wrong
    assert len(wrong) == 7  # all but "a new VM got no released address" (none, none freed)
