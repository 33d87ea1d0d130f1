"""``leasewatch init`` on the files a real dhcpd and a real kea-dhcp4 wrote and serve."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lab.dnsmasq import DnsmasqLab
from lab.isc import IscLab
from lab.kea import KeaServer
from tests.cli_helpers import run

pytestmark = pytest.mark.lab


def test_init_on_a_real_dhcpd_reports_what_the_lab_config_reports(
    isc_lab: IscLab, tmp_path: Path
) -> None:
    """dhcpd's own conf and journal at Debian's paths: init's config passes check-config,
    reports the same pools as the lab's hand-written config, and never holds the key."""
    isc_lab.boot(2)
    root = tmp_path / "root"
    (root / "etc/dhcp").mkdir(parents=True)
    (root / "var/lib/dhcp").mkdir(parents=True)
    shutil.copy(isc_lab.conf_path, root / "etc/dhcp/dhcpd.conf")
    shutil.copy(isc_lab.leases_path, root / "var/lib/dhcp/dhcpd.leases")
    config = tmp_path / "leasewatch.toml"
    done = run("-c", str(config), "init", "--root", str(root))
    assert done.status == 0, done.err
    text = config.read_text(encoding="utf-8")
    assert isc_lab.key not in text + done.out + done.err
    assert '#key_name = "omapi_key"' in text
    assert run("-c", str(config), "check-config").status == 0

    lab_config = tmp_path / "lab.toml"
    lab_toml = isc_lab.leasewatch_toml(tmp_path / "lab-state.db", server_name="dhcpd")
    lab_config.write_text(lab_toml, encoding="utf-8")
    mine = json.loads(run("-c", str(config), "report", "--format", "json").out)
    theirs = json.loads(run("-c", str(lab_config), "report", "--format", "json").out)
    assert mine["networks"] == theirs["networks"]


def test_init_finds_a_running_kea_by_its_socket(kea: KeaServer, tmp_path: Path) -> None:
    """kea-dhcp4's own config names its control socket; init's config reads Kea through it."""
    root = tmp_path / "root"
    (root / "etc/kea").mkdir(parents=True)
    shutil.copy(kea.config_path, root / "etc/kea/kea-dhcp4.conf")
    # the socket as the conf names it, seen under --root
    seen = root / str(kea.socket_path).lstrip("/")
    seen.parent.mkdir(parents=True)
    seen.symlink_to(kea.socket_path)
    config = tmp_path / "leasewatch.toml"
    done = run("-c", str(config), "init", "--root", str(root))
    assert done.status == 0, done.err
    assert f'control_socket = "{seen}"' in config.read_text(encoding="utf-8")
    assert run("-c", str(config), "check-config").status == 0
    report = run("-c", str(config), "report", "--format", "json")
    assert report.status == 0, report.err
    assert json.loads(report.out)["networks"]


@pytest.mark.parametrize("flavour", ["plain", "libvirt"])
def test_init_on_a_real_dnsmasq_reports_what_the_lab_config_reports(
    flavour: str, tmp_path: Path
) -> None:
    """dnsmasq's lease file and conf (plain), or libvirt's status file and the network's conf
    (libvirt's leases helper), at the paths packages use: init's config reports the same
    pools as the lab's own config."""
    with DnsmasqLab.start(pool_size=4, flavour=flavour) as lab:
        vms = lab.boot(2)
        lab.wait_recorded(vm.ip for vm in vms)
        root = tmp_path / "root"
        if flavour == "plain":
            (root / "etc").mkdir(parents=True)
            (root / "var/lib/misc").mkdir(parents=True)
            shutil.copy(lab.conf_path, root / "etc/dnsmasq.conf")
            shutil.copy(lab.leases_path, root / "var/lib/misc/dnsmasq.leases")
        else:
            networks = root / "var/lib/libvirt/dnsmasq"
            networks.mkdir(parents=True)
            shutil.copy(lab.conf_path, networks / "lab.conf")
            shutil.copy(lab.status_path, networks / "lab.status")
        config = tmp_path / "leasewatch.toml"
        done = run("-c", str(config), "init", "--root", str(root))
        assert done.status == 0, done.err
        assert run("-c", str(config), "check-config").status == 0
        lab_config = tmp_path / "lab.toml"
        lab_config.write_text(lab.leasewatch_toml(tmp_path / "lab-state.db"), encoding="utf-8")
        mine = json.loads(run("-c", str(config), "report", "--format", "json").out)
        theirs = json.loads(run("-c", str(lab_config), "report", "--format", "json").out)
        strip = [{k: v for k, v in n.items() if k != "server"} for n in mine["networks"]]
        assert strip == [{k: v for k, v in n.items() if k != "server"} for n in theirs["networks"]]
        assert sum(n["active"] for n in mine["networks"]) == 2
