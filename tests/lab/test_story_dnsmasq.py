"""The seed's story against a real dnsmasq and real dhclients, through the real CLI: dnsmasq
with its lease file, run the way libvirt runs it, and run by a real libvirtd."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from rich.console import Console

from lab.demo import run
from lab.dnsmasq import DnsmasqLab
from leasewatch.cli import Env, main

pytestmark = pytest.mark.lab


@pytest.mark.parametrize("kind", ["dnsmasq", "dnsmasq-libvirt", "dnsmasq-libvirtd"])
def test_story_reaps_exactly_the_destroyed_vms_and_new_vms_boot(kind: str) -> None:
    """Pool dry; one scan --apply frees the 15 orphans; 3 new VMs get them; 6 live VMs kept."""
    out = io.StringIO()
    story = run(kind, Console(file=out, width=120))
    assert story.wrong() == []
    assert "released" in out.getvalue()


@pytest.fixture
def small_lab() -> Iterator[DnsmasqLab]:
    """dnsmasq with a 2-address pool."""
    with DnsmasqLab.start(pool_size=2) as lab:
        yield lab


def _leases(lab: DnsmasqLab) -> list[str]:
    return sorted(line.split()[2] for line in lab.leases_path.read_text().splitlines() if line)


@pytest.mark.parametrize(
    "inventory",
    [["/bin/false"], ["/bin/true"], ["/nonexistent/inventory-command"]],
    ids=["failing", "empty", "missing"],
)
def test_unhealthy_inventory_releases_nothing(
    small_lab: DnsmasqLab, inventory: Sequence[str]
) -> None:
    """A failing, empty or missing inventory: scan --apply sends no dhcp_release at all."""
    lab = small_lab
    gone, alive = lab.boot(2)
    lab.destroy(gone)
    lab.wait_recorded([gone.ip, alive.ip])
    before = _leases(lab)
    config = lab.workdir / "leasewatch.toml"
    config.write_text(lab.leasewatch_toml(lab.workdir / "state.db", inventory=inventory))
    out, err = io.StringIO(), io.StringIO()
    main(["-c", str(config), "scan", "--apply"], Env(stdout=out, stderr=err, color=False))
    assert _leases(lab) == before == sorted([str(gone.ip), str(alive.ip)])
    assert "DHCPRELEASE" not in lab.log_path.read_text()


def test_release_dnsmasq_ignores_is_audited_failed() -> None:
    """scan --apply with a wrong interface: dhcp_release exits 0, dnsmasq ignores it; the
    audit says failed (never released) for it and, untried, for the other orphan; the
    leases are still there."""
    with DnsmasqLab.start(pool_size=3) as lab:
        _ignored_release_is_failed(lab)


def _ignored_release_is_failed(lab: DnsmasqLab) -> None:
    first, second, alive = lab.boot(3)
    lab.destroy(first)
    lab.destroy(second)
    lab.wait_recorded([first.ip, second.ip, alive.ip])
    gone = sorted([first, second], key=lambda vm: int(vm.ip) if vm.ip else 0)
    text = lab.leasewatch_toml(lab.workdir / "state.db").replace(
        f'interface = "{lab.interface}"', 'interface = "lo"'
    )
    text = text.replace("timeout = 5.0", "timeout = 0.5")
    config = lab.workdir / "leasewatch.toml"
    config.write_text(text)
    out, err = io.StringIO(), io.StringIO()
    status = main(["-c", str(config), "scan", "--apply"], Env(stdout=out, stderr=err, color=False))
    audit = io.StringIO()
    main(["-c", str(config), "audit", "--format", "json"], Env(stdout=audit, stderr=err))
    records = json.loads(audit.getvalue())
    rows = records if isinstance(records, list) else records["records"]
    outcomes = [(r["ip"], r["outcome"]) for r in rows]
    assert outcomes == [(str(vm.ip), "failed") for vm in gone], (out.getvalue(), status)
    assert all("ignored the DHCPRELEASE" in r["detail"] for r in rows)
    assert lab.log_path.read_text().count("DHCPRELEASE") == 0  # sent on lo: never arrived
    assert _leases(lab) == sorted(str(vm.ip) for vm in (first, second, alive))


def _cli(config: Path, *argv: str) -> tuple[int, str, str]:
    """The CLI in-process against the lab's config."""
    out, err = io.StringIO(), io.StringIO()
    status = main(["-c", str(config), *argv], Env(stdout=out, stderr=err, color=False))
    return status, out.getvalue(), err.getvalue()


def test_report_and_release_cli_on_dnsmasq(small_lab: DnsmasqLab) -> None:
    """report counts dnsmasq's pool; release --mac (a teardown hook) refuses a live VM,
    releases a destroyed one's lease, and a new VM gets the address."""
    lab = small_lab
    gone, alive = lab.boot(2)
    lab.destroy(gone)
    lab.wait_recorded([gone.ip, alive.ip])
    config = lab.workdir / "leasewatch.toml"
    config.write_text(lab.leasewatch_toml(lab.workdir / "state.db"))

    status, out, err = _cli(config, "report", "--format", "json")
    assert status == 0, err
    doc = json.loads(out)
    (pool,) = doc["pools"]
    assert (pool["server"], pool["size"], pool["active"], pool["free"]) == ("lab-dnsmasq", 2, 2, 0)
    assert [o["mac"] for o in doc["orphans"]] == [gone.mac]

    status, out, _err = _cli(config, "release", "--mac", alive.mac)
    assert status == 1 and "still exists (use --force)" in out
    status, out, err = _cli(config, "release", "--mac", gone.mac)
    assert status == 0, out + err
    assert out.startswith(f"released: {gone.ip} {gone.mac} on lab-dnsmasq")
    (newcomer,) = lab.boot(1)
    assert newcomer.ip == gone.ip


def test_protect_and_max_per_run_hold_on_dnsmasq() -> None:
    """Three orphans, one protected, max_per_run = 1: one released, the protected one and one
    over the budget refused; only the released address leaves dnsmasq's lease file."""
    with DnsmasqLab.start(pool_size=4) as lab:
        vms = lab.boot(4)
        lab.wait_recorded(vm.ip for vm in vms)
        gone, alive = vms[:3], vms[3]
        for vm in gone:
            lab.destroy(vm)
        protected = gone[0]
        reaper = f'grace = "0s"\nmax_per_run = 1\nprotect = ["{protected.mac}"]'
        config = lab.workdir / "leasewatch.toml"
        config.write_text(lab.leasewatch_toml(lab.workdir / "state.db", reaper=reaper))
        status, out, err = _cli(config, "scan", "--apply")
        assert status == 0, out + err
        _status, audit, _err = _cli(config, "audit", "--format", "json")
        outcomes = {r["ip"]: r["outcome"] for r in json.loads(audit)}
        released = [ip for ip, outcome in outcomes.items() if outcome == "released"]
        assert len(released) == 1 and outcomes[str(protected.ip)] == "refused"
        assert sorted(outcomes.values()) == ["refused", "refused", "released"]
        left = set(_leases(lab))
        assert left == {str(vm.ip) for vm in vms} - set(released)
        assert str(alive.ip) in left
