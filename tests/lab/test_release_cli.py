"""``leasewatch release`` against real dhcpd: the seed's first workaround, done safely."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from lab.isc import IscLab
from leasewatch.cli import Env, main

pytestmark = pytest.mark.lab


def cli(config: Path, *argv: str) -> tuple[int, str, str]:
    """Run the CLI in-process against the lab's config."""
    out, err = io.StringIO(), io.StringIO()
    status = main(["-c", str(config), *argv], Env(stdout=out, stderr=err, color=False))
    return status, out.getvalue(), err.getvalue()


def test_release_refuses_live_vm_releases_gone_one_and_audits(small_isc_lab: IscLab) -> None:
    """A live VM's MAC is refused without --force; a destroyed VM's lease is released;
    a new VM then gets that address; every attempt is in the audit log."""
    lab = small_isc_lab
    gone, alive = lab.boot(2)
    lab.destroy(gone)
    config = lab.workdir / "leasewatch.toml"
    config.write_text(lab.leasewatch_toml(lab.workdir / "state.db"))

    status, out, _err = cli(config, "release", "--mac", alive.mac.upper())
    assert status == 1
    assert out.startswith(f"refused: {alive.ip} {alive.mac}")
    assert "still exists (use --force)" in out

    status, out, _err = cli(config, "release", "--mac", gone.mac, "--dry-run")
    assert status == 0 and out.startswith(f"dry-run: {gone.ip}")

    status, out, err = cli(config, "release", "--ip", str(gone.ip))
    assert status == 0, out + err
    assert out.startswith(f"released: {gone.ip} {gone.mac} on lab-dhcpd")

    (newcomer,) = lab.boot(1)
    assert newcomer.ip == gone.ip

    status, out, _err = cli(config, "audit", "--format", "json")
    outcomes = [(r["ip"], r["outcome"]) for r in json.loads(out)]
    assert outcomes == [(str(alive.ip), "refused"), (str(gone.ip), "released")]
    assert lab.key not in out


def test_release_unknown_mac_is_an_error(small_isc_lab: IscLab) -> None:
    """A MAC with no active lease: one line, exit 1; a malformed MAC: exit 2."""
    lab = small_isc_lab
    config = lab.workdir / "leasewatch.toml"
    config.write_text(lab.leasewatch_toml(lab.workdir / "state.db"))
    status, _out, err = cli(config, "release", "--mac", "02:00:00:00:00:99")
    assert status == 1 and err == "leasewatch: no active lease matches\n"
    status, _out, err = cli(config, "release", "--mac", "not-a-mac")
    assert status == 2 and "is not a MAC address" in err
