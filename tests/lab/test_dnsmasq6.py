"""dnsmasq DHCPv6 against the real thing: dnsmasq serving a v6 range, ``dhclient -6`` VMs,
leases counted, and an orphan released with ``dhcp_release6`` (confirmed by a re-read)."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import pytest

from lab.dnsmasq import DnsmasqLab
from lab.vm import Vm
from leasewatch.cli import Env, main
from leasewatch.config import ServerConfig
from leasewatch.leases.dnsmasq import DnsmasqLeaseSource
from leasewatch.model import Outcome
from leasewatch.reaper.dnsmasq import DnsmasqReleaseBackend

pytestmark = pytest.mark.lab


def cli(config: Path, *argv: str) -> tuple[int, str, str]:
    """Run the CLI in-process against the lab's config."""
    out, err = io.StringIO(), io.StringIO()
    status = main(["-c", str(config), *argv], Env(stdout=out, stderr=err, color=False))
    return status, out.getvalue(), err.getvalue()


def _boot6(lab: DnsmasqLab, n: int) -> list[Vm]:
    vms = lab.hypervisor.boot6(n, "na")
    assert all(vm.ip6 is not None for vm in vms)
    lab.wait_recorded([vm.ip6 for vm in vms])
    return vms


def _config(lab: DnsmasqLab) -> ServerConfig:
    """The lab's dnsmasq as a leasewatch server (its lease file, in its namespace)."""
    return ServerConfig(
        name="lab-dnsmasq",
        kind="dnsmasq",
        leases=lab.leases_path,
        dnsmasq_conf=lab.conf_path,
        interface=lab.interface,
        netns=lab.netns,
        timeout=10.0,
    )


def _held(lab: DnsmasqLab) -> set[str]:
    lines = [line.split() for line in lab.leases_path.read_text().splitlines()]
    return {words[2] for words in lines if len(words) == 5 and ":" in words[2]}


def test_v6_orphan_is_released_with_dhcp_release6_and_live_vm_kept() -> None:
    """Counted in the v6 range; unknown while the DUID's MAC is not trusted; with
    trust_duid_mac, scan --apply releases the destroyed VM's lease (dnsmasq answers, the
    file confirms) and keeps the live one."""
    with DnsmasqLab.start(pool_size=2, ipv6=True) as lab6:
        _story(lab6)


def _story(lab6: DnsmasqLab) -> None:
    gone, alive = _boot6(lab6, 2)
    lab6.destroy(gone)
    state = lab6.workdir / "state.db"
    config = lab6.workdir / "leasewatch.toml"
    config.write_text(lab6.leasewatch_toml(state))
    status, out, err = cli(config, "report", "--format", "json")
    assert status == 0, err
    (pool,) = [p for p in json.loads(out)["pools"] if ":" in p["first"]]
    assert (pool["size"], pool["active"]) == (256, 2)
    status, out, err = cli(config, "why", str(gone.ip6))
    assert "[unknown-duid-mac]" in out, out + err
    status, out, err = cli(config, "scan", "--apply")
    assert _held(lab6) == {str(gone.ip6), str(alive.ip6)}

    config.write_text(lab6.leasewatch_toml(state, reaper='grace = "0s"\ntrust_duid_mac = true'))
    status, out, err = cli(config, "release", "--ip", str(gone.ip6), "--dry-run")
    assert status == 0 and out.startswith(f"dry-run: {gone.ip6}"), out + err
    status, out, err = cli(config, "scan", "--apply")
    assert status == 0, out + err
    assert _held(lab6) == {str(alive.ip6)}
    assert "DHCPRELEASE" in lab6.log_path.read_text()
    status, out, err = cli(config, "audit", "--format", "json")
    assert [(r["ip"], r["outcome"]) for r in json.loads(out)] == [(str(gone.ip6), "released")]


def test_dhcp_release6_outcomes_on_the_real_server() -> None:
    """Another client's DUID: changed, nothing sent; released once; then not found (dnsmasq
    answers NoBinding, or the re-read shows it gone first)."""
    with DnsmasqLab.start(pool_size=2, ipv6=True) as lab6:
        _outcomes(lab6)


def _outcomes(lab6: DnsmasqLab) -> None:
    (vm,) = _boot6(lab6, 1)
    config = _config(lab6)
    (lease,) = [x for x in DnsmasqLeaseSource(config).read().leases if str(x.ip) == str(vm.ip6)]
    backend = DnsmasqReleaseBackend(config)
    other = dataclasses.replace(lease, duid="00:03:00:01:02:00:00:00:00:99")
    assert backend.release(other)[0] is Outcome.CHANGED
    outcome, detail = backend.release(lease)
    assert outcome is Outcome.RELEASED, detail
    assert "dhcp_release6" in detail and str(vm.ip6) not in _held(lab6)
    assert backend.release(lease)[0] is Outcome.NOT_FOUND


def test_unprivileged_dhcp_release6_is_confirmed_by_the_re_read() -> None:
    """As an unprivileged user dhcp_release6 cannot bind port 546: it never sees dnsmasq's
    Reply and exits 255 ("Response timed out"), yet dnsmasq released the lease: the re-read
    says released, naming the exit."""
    with DnsmasqLab.start(pool_size=2, ipv6=True) as lab6:
        (vm,) = _boot6(lab6, 1)
        wrapper = lab6.workdir / "dhcp_release6-as-nobody"
        wrapper.write_text(
            "#!/bin/sh\nexec setpriv --reuid=nobody --regid=nogroup --clear-groups "
            'dhcp_release6 "$@"\n'
        )
        wrapper.chmod(0o755)
        config = _config(lab6)
        (lease,) = [x for x in DnsmasqLeaseSource(config).read().leases if x.ip == vm.ip6]
        outcome, detail = DnsmasqReleaseBackend(config, command6=str(wrapper)).release(lease)
        assert outcome is Outcome.RELEASED, detail
        assert "exit 255: Response timed out" in detail.replace("bind: Permission denied ", "")
        assert str(vm.ip6) not in _held(lab6)
