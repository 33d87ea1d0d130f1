"""The MAC pool on real dhcpd: sixty clones reuse one lease; random MACs run dry at 21."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

from lab.demo import CLONES, POOL, tell_pool
from lab.isc import IscLab
from lab.kea import KeaLab
from lab.macpool import churn, leasewatch, pool_config

pytestmark = pytest.mark.lab


def test_demo_act_pool_serves_every_clone_random_macs_run_dry() -> None:
    """make demo's act: 60 pooled clones all get an address; random MACs stop after 21."""
    out = io.StringIO()
    act = tell_pool(Console(file=out, width=120))
    assert act.random.served == POOL and len(act.random.ips) == POOL + 1
    assert act.random.ips[-1] is None
    assert len({ip for ip in act.random.ips if ip is not None}) == POOL
    assert act.pooled.served == CLONES and None not in act.pooled.ips
    assert len(set(act.pooled.ips)) == 1 and len(set(act.pooled.macs)) == 1
    assert "60 of 60 clones got an address" in out.getvalue()


def test_pool_lease_is_listed_and_kept_with_live_neighbours(isc_lab: IscLab) -> None:
    """With a live VM beside the churn (a healthy inventory), every clone still reuses the
    one lease, mac list shows it leased, and a dry-run scan keeps it for the next taker."""
    neighbour = isc_lab.boot(1)[0]
    assert neighbour.ip is not None
    config = pool_config(isc_lab)
    config.write_text(config.read_text().replace("apply = false", 'apply = false\ngrace = "0s"'))
    done = churn(isc_lab, 5, config)
    assert done.served == 5 and len(set(done.ips)) == 1 and neighbour.ip not in done.ips
    (entry,) = json.loads(leasewatch(config, "mac", "list", "--format", "json"))
    assert entry["state"] == "leased" and entry["ip"] == str(done.ips[0])
    scan = json.loads(leasewatch(config, "scan", "--format", "json", "--no-alerts"))
    (planned,) = scan["plan"]
    assert planned["action"] == "keep" and "next leasewatch mac take" in planned["why"]
    taken = json.loads(leasewatch(config, "mac", "take", "--vm", "next", "--format", "json"))
    assert taken["ip"] == str(done.ips[0]) and "still holds an active lease" in taken["why"]


def test_kea_gives_pooled_clones_one_lease_and_random_ones_new_leases() -> None:
    """Real kea-dhcp4: ten pooled clones reuse one address; ten random clones take ten."""
    with KeaLab.start(pool_size=POOL) as lab:
        pooled = churn(lab, 10, pool_config(lab))
        assert pooled.served == 10 and len(set(pooled.ips)) == 1
        assert len(set(pooled.macs)) == 1
        randomly = churn(lab, 10, None, prefix="random")
        assert randomly.served == 10 and len(set(randomly.ips)) == 10
        assert not set(randomly.ips) & set(pooled.ips)


def test_released_lease_comes_back_to_its_pool_mac(isc_lab: IscLab) -> None:
    """After a release over OMAPI, take still prefers the MAC (its lease ended most
    recently, as a scan recorded it) and real dhcpd gives that MAC its old address again."""
    neighbour = isc_lab.boot(1)[0]
    config = pool_config(isc_lab)
    first = churn(isc_lab, 1, config)
    (mac,), (ip,) = first.macs, first.ips
    assert ip is not None and ip != neighbour.ip
    leasewatch(config, "scan", "--no-alerts")  # records the lease's sighting
    released = leasewatch(config, "release", "--mac", mac)
    assert f"released: {ip} {mac}" in released, released
    taken = json.loads(leasewatch(config, "mac", "take", "--vm", "again", "--format", "json"))
    assert (taken["mac"], taken["ip"]) == (mac, str(ip)) and "ended" in taken["why"], taken
    vm = isc_lab.hypervisor.start("again", mac)
    isc_lab.hypervisor.wait([vm])
    assert vm.ip == ip
