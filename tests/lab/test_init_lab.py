"""``leasewatch init`` on the files a real dhcpd and a real kea-dhcp4 wrote and serve."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lab.dnsmasq import DnsmasqLab
from lab.failover import FailoverLab
from lab.isc import IscLab
from lab.kea import KeaServer
from lab.kea_ha import KeaHaLab
from tests.cli_helpers import Run, run

pytestmark = pytest.mark.lab


def init_on_dhcpd(conf: Path, leases: Path, tmp_path: Path, config: Path) -> Run:
    """``init`` into ``config`` on a root holding copies of a real dhcpd's conf and journal
    at Debian's paths; it succeeded."""
    root = tmp_path / "root"
    (root / "etc/dhcp").mkdir(parents=True)
    (root / "var/lib/dhcp").mkdir(parents=True)
    shutil.copy(conf, root / "etc/dhcp/dhcpd.conf")
    shutil.copy(leases, root / "var/lib/dhcp/dhcpd.leases")
    done = run("-c", str(config), "init", "--root", str(root))
    assert done.status == 0, done.err
    return done


def test_init_on_a_real_dhcpd_reports_what_the_lab_config_reports(
    isc_lab: IscLab, tmp_path: Path
) -> None:
    """dhcpd's own conf and journal at Debian's paths: init's config passes check-config,
    reports the same pools as the lab's hand-written config, and never holds the key."""
    isc_lab.boot(2)
    config = tmp_path / "leasewatch.toml"
    done = init_on_dhcpd(isc_lab.conf_path, isc_lab.leases_path, tmp_path, config)
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


def test_init_on_a_kea_ha_member_adds_the_peer_that_answers() -> None:
    """Run on server1 of two real kea-dhcp4 in hot-standby (in server1's namespace, as on its
    machine): init names the relationship, adds server2 by the URL the HA hook names (it
    answered), and that config reports the pair once, both peers read, nothing held."""
    lab = KeaHaLab.start(pool_size=21)
    try:
        lab.boot(2)
        kea = lab.kea(0)
        root = lab.workdir / "root"
        (root / "etc/kea").mkdir(parents=True)
        shutil.copy(kea.config_path, root / "etc/kea/kea-dhcp4.conf")
        seen = root / str(kea.socket_path).lstrip("/")
        seen.parent.mkdir(parents=True)
        seen.symlink_to(kea.socket_path)
        config = lab.workdir / "leasewatch.toml"

        def leasewatch(*argv: str) -> subprocess.CompletedProcess[str]:
            """leasewatch ARGV in server1's namespace (server2's HA URL is reached there)."""
            return subprocess.run(
                lab.namespaces[0].exec_argv([sys.executable, "-m", "leasewatch", *argv]),
                capture_output=True, text=True, timeout=120, check=False,
            )  # fmt: skip

        done = leasewatch("-c", str(config), "init", "--root", str(root))
        assert done.returncode == 0, done.stderr
        text = config.read_text(encoding="utf-8")
        assert 'makes this Kea "server1" (primary) in a hot-standby HA relationship' in text
        url = lab.urls[1]
        assert f'Kea HA peer "server2" answered at {url}: added as "kea-server2"' in text
        assert f'[[servers]]\nname = "kea-server2"\nkind = "kea"\ncontrol_url = "{url}"' in text
        assert f'name = "kea-server1"\nkind = "kea"\ncontrol_socket = "{seen}"' in text

        report = leasewatch("-c", str(config), "report", "--format", "json")
        assert report.returncode == 0, report.stderr
        doc = json.loads(report.stdout)
        assert doc["errors"] == [], doc["errors"]
        assert [(p["server"], p["size"], p["active"]) for p in doc["pools"]] == [
            ("kea-server1+kea-server2", 21, 2),
        ]  # fmt: skip
        (pair,) = doc["pairs"]
        assert pair["hold"] is None, pair
        assert [m["server"] for m in pair["members"]] == ["kea-server1", "kea-server2"]
    finally:
        lab.close()


def test_init_on_a_failover_member_names_the_partner_and_its_entry_completes_the_pair(
    failover_lab: FailoverLab, tmp_path: Path
) -> None:
    """init on dhcp1's own files (a real failover pair): a note names the failover peer, its
    role and the partner's address; the partner's commented entry, filled in with dhcp2's
    files, makes the config report the pair once, 21 addresses."""
    primary, secondary = failover_lab.members
    vms = failover_lab.boot(2)
    failover_lab.wait_bound(vms)
    config = tmp_path / "leasewatch.toml"
    init_on_dhcpd(primary.conf_path, primary.leases_path, tmp_path, config)
    text = config.read_text(encoding="utf-8")
    assert (
        f'failover peer "lw": this dhcpd is its primary ({primary.ip}), its partner is'
        f" {secondary.ip}"
    ) in text
    assert primary.key not in text
    filled = (
        text.replace("#[[servers]]\n#name = ", "[[servers]]\nname = ")
        .replace('#kind = "isc"\n#leases = "/path/to/the/partner/dhcpd.leases"',
                 f'kind = "isc"\nleases = "{secondary.leases_path}"')
        .replace('#dhcpd_conf = "/path/to/the/partner/dhcpd.conf"',
                 f'dhcpd_conf = "{secondary.conf_path}"')
    )  # fmt: skip
    config.write_text(filled, encoding="utf-8")
    doc = json.loads(run("-c", str(config), "report", "--format", "json").out)
    assert [(p["server"], p["size"], p["active"]) for p in doc["pools"]] == [
        ("dhcpd+dhcpd-partner", 21, 2),
    ]  # fmt: skip
    (pair,) = doc["pairs"]
    assert [(m["server"], m["role"]) for m in pair["members"]] == [
        ("dhcpd", "primary"), ("dhcpd-partner", "secondary"),
    ]  # fmt: skip
