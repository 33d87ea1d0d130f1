"""``release --force/--server`` and ``audit --limit`` in-process against a real dhcpd.

The teardown-hook case: a VM is destroyed, but the inventory still lists it (the hypervisor
has not caught up); ``release`` refuses it, ``--force`` releases it, and the next VM gets the
address. ``--server`` picks the server the lease is on.
"""

from __future__ import annotations

import json
import sys

import pytest

from lab.isc import IscLab
from tests.cli_helpers import ISC_FIXTURES, Run, run

pytestmark = pytest.mark.lab

OTHER_SERVER = f"""
[[servers]]
name = "fixtures"
kind = "isc"
leases = "{ISC_FIXTURES / "dhcpd.leases"}"
dhcpd_conf = "{ISC_FIXTURES / "dhcpd.conf"}"
"""


def test_release_force_server_then_audit_limit(small_isc_lab: IscLab) -> None:
    """Refused while listed; --server names where to look; --force releases; the address
    goes to the next VM; ``audit --limit`` shows the newest records, oldest first."""
    lab = small_isc_lab
    gone, alive = lab.boot(2)
    lab.destroy(gone)
    stale = lab.workdir / "stale-inventory.txt"
    stale.write_text(f"{gone.mac}\n{alive.mac}\n")
    config = lab.workdir / "leasewatch.toml"
    inventory = [sys.executable, "-c", f"print(open({str(stale)!r}).read(), end='')"]
    config.write_text(lab.leasewatch_toml(lab.workdir / "state.db", inventory) + OTHER_SERVER)

    def cli(*argv: str) -> Run:
        return run("-c", str(config), *argv)

    refused = cli("release", "--mac", gone.mac)
    assert refused.status == 1
    assert refused.out.startswith(f"refused: {gone.ip} {gone.mac} on lab-dhcpd")

    elsewhere = cli("release", "--mac", gone.mac, "--server", "fixtures", "--force")
    assert elsewhere.status == 1
    assert elsewhere.out == ""
    assert "no active lease matches" in elsewhere.err

    forced = cli("release", "--mac", gone.mac, "--server", "lab-dhcpd", "--force")
    assert forced.status == 0, forced.out + forced.err
    assert forced.out.startswith(f"released: {gone.ip} {gone.mac} on lab-dhcpd")

    (newcomer,) = lab.boot(1)
    assert newcomer.ip == gone.ip

    everything = json.loads(cli("audit", "--format", "json").out)
    assert [(r["ip"], r["outcome"]) for r in everything] == [
        (str(gone.ip), "refused"),
        (str(gone.ip), "released"),
    ]
    newest = cli("audit", "--limit", "1", "--format", "json")
    assert newest.status == 0, newest.err
    assert json.loads(newest.out) == everything[-1:]
    table = cli("audit", "--limit", "1")
    assert table.status == 0
    assert "released" in table.out and "refused" not in table.out
    assert lab.key not in json.dumps(everything) + table.out


def test_release_unknown_server_is_an_error(small_isc_lab: IscLab) -> None:
    """``--server`` naming no configured server releases nothing and exits non-zero."""
    lab = small_isc_lab
    (vm,) = lab.boot(1)
    config = lab.workdir / "leasewatch.toml"
    config.write_text(lab.leasewatch_toml(lab.workdir / "state.db"))
    result = run("-c", str(config), "release", "--mac", vm.mac, "--server", "nope", "--force")
    assert result.status != 0
    assert "released" not in result.out
