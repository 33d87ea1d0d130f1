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
