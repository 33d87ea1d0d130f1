"""Issue 22's story: a VM undefined in libvirt has its lease released by the daemon within
seconds, while scheduled scans are an hour apart, and a dropped event connection is
survived. Real dhcpd with dhclient VMs (lab/isc.py), a real libvirtd with the test driver
whose domains carry the VMs' MACs (lab/libvirtd.py), ``leasewatch daemon`` as a subprocess.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.isc import IscLab
from lab.libvirtd import LibvirtdLab
from lab.toml import toml_string
from lab.vm import Vm
from tests.lab.test_story_isc import _state
from tests.test_daemon import Running, _free_port, _stop, launch

pytestmark = pytest.mark.lab

RELEASED_WITHIN = 15.0  # seconds: the bound, as a bounded wait
ACTIVE = 2  # dhcpd's binding state "active" over OMAPI


@pytest.fixture
def virt() -> Iterator[LibvirtdLab]:
    """A real libvirtd with only the test driver, one connection held open."""
    lab = LibvirtdLab.start()
    try:
        yield lab
    finally:
        lab.close()


def _config(isc: IscLab, virt: LibvirtdLab, d: Path, metrics_port: int) -> str:
    servers = isc.leasewatch_toml(d / "state.db").split("[[inventory]]")[0]
    return servers + "\n".join(
        [
            "[[inventory]]",
            'name = "kvm"',
            'kind = "libvirt"',
            f"uri = {toml_string(virt.uri)}",
            "",
            "[reaper]",
            "apply = true",
            'grace = "0s"',
            "",
            "[daemon]",
            'every = "1h"',
            f'metrics = "127.0.0.1:{metrics_port}"',
            "",
            "[state]",
            f"path = {toml_string(str(d / 'state.db'))}",
            "",
        ]
    )


def _undefine(isc: IscLab, virt: LibvirtdLab, vm: Vm) -> None:
    """``virsh undefine`` a running domain, then destroy it, and pull the VM's plug (its
    dhclient dies without a DHCPRELEASE)."""
    virt.virsh("undefine", vm.name)
    virt.virsh("destroy", vm.name)
    isc.destroy(vm)


def _released(daemon: Running, isc: IscLab, vm: Vm) -> None:
    assert vm.ip is not None
    ip = vm.ip
    daemon.wait_for(f"{ip} released", lambda: _state(isc, ip) != ACTIVE, RELEASED_WITHIN)


def test_an_undefined_vm_is_released_within_seconds_and_a_lost_stream_reconnects(
    isc_lab: IscLab, virt: LibvirtdLab
) -> None:
    """Four VMs; undefine one: released in seconds, the rest kept; kill libvirtd and start
    it again: the stream comes back and the next undefine is released too."""
    isc = isc_lab
    vms = isc.boot(4)
    assert all(vm.ip is not None for vm in vms)
    for vm in vms:
        virt.define(vm.name, vm.mac)
    d = isc.workdir
    metrics_port = _free_port()
    config = d / "leasewatch.toml"
    config.write_text(_config(isc, virt, d, metrics_port))
    daemon = launch(d, config, metrics_port)
    try:
        daemon.wait_for(
            "the first scan and a connected stream",
            lambda: (
                (daemon.value("leasewatch_scans_total") or 0) >= 1
                and daemon.value("leasewatch_event_stream_up", inventory="kvm") == 1
            ),
            30.0,
        )
        first, second, *kept = vms
        _undefine(isc, virt, first)
        _released(daemon, isc, first)
        assert all(vm.ip is not None and _state(isc, vm.ip) == ACTIVE for vm in (second, *kept))
        assert "event scan (kvm) done" in daemon.logs()

        virt.kill()
        daemon.wait_for(
            "the stream down",
            lambda: daemon.value("leasewatch_event_stream_up", inventory="kvm") == 0,
            30.0,
        )
        virt.restart()  # the test driver starts over: define the living VMs again
        for vm in (second, *kept):
            virt.define(vm.name, vm.mac)
        daemon.wait_for(
            "the stream back",
            lambda: daemon.value("leasewatch_event_stream_up", inventory="kvm") == 1,
            30.0,
        )
        assert (daemon.value("leasewatch_event_stream_reconnects_total", inventory="kvm") or 0) >= 1
        _undefine(isc, virt, second)
        _released(daemon, isc, second)
        assert all(vm.ip is not None and _state(isc, vm.ip) == ACTIVE for vm in kept)
        assert "connection lost (end of file)" in daemon.logs()
    finally:
        _stop(daemon)


@pytest.fixture
def virt2() -> Iterator[LibvirtdLab]:
    """A second libvirtd (another KVM host of the same fleet entry)."""
    lab = LibvirtdLab.start()
    try:
        yield lab
    finally:
        lab.close()


def test_a_fleet_streams_per_host_and_releases_nothing_while_a_host_is_down(
    isc_lab: IscLab, virt: LibvirtdLab, virt2: LibvirtdLab
) -> None:
    """One entry, two hosts, a stream each: an undefine on host B is released; with host A
    down, B's stream stays up, and B's next undefine releases nothing (A's VMs cannot be
    vouched for, so the entry cannot be trusted): its lease stays active."""
    isc = isc_lab
    vms = isc.boot(4)
    assert all(vm.ip is not None for vm in vms)
    on_a, on_b = vms[:2], vms[2:]
    for vm in on_a:
        virt.define(vm.name, vm.mac)
    for vm in on_b:
        virt2.define(vm.name, vm.mac)
    d = isc.workdir
    metrics_port = _free_port()
    config = d / "leasewatch.toml"
    uris = f"[{toml_string(virt.uri)}, {toml_string(virt2.uri)}]"
    config.write_text(
        _config(isc, virt, d, metrics_port).replace(
            f"uri = {toml_string(virt.uri)}", f"uris = {uris}"
        )
    )
    host_a, host_b = f"kvm[{virt.uri}]", f"kvm[{virt2.uri}]"
    daemon = launch(d, config, metrics_port)
    try:
        daemon.wait_for(
            "the first scan and both streams",
            lambda: (
                (daemon.value("leasewatch_scans_total") or 0) >= 1
                and daemon.value("leasewatch_event_stream_up", inventory=host_a) == 1
                and daemon.value("leasewatch_event_stream_up", inventory=host_b) == 1
            ),
            30.0,
        )
        _undefine(isc, virt2, on_b[0])
        _released(daemon, isc, on_b[0])

        virt.kill()
        daemon.wait_for(
            "host A's stream down",
            lambda: daemon.value("leasewatch_event_stream_up", inventory=host_a) == 0,
            30.0,
        )
        assert daemon.value("leasewatch_event_stream_up", inventory=host_b) == 1
        before = daemon.logs().count("inventory kvm: unreadable after an event")
        _undefine(isc, virt2, on_b[1])
        daemon.wait_for(
            "B's event handled",
            lambda: daemon.logs().count("inventory kvm: unreadable after an event") > before,
            RELEASED_WITHIN,
        )
        assert on_b[1].ip is not None and _state(isc, on_b[1].ip) == ACTIVE
        assert all(vm.ip is not None and _state(isc, vm.ip) == ACTIVE for vm in on_a)
    finally:
        _stop(daemon)
