"""``leasewatch release`` against real dhcpd: an unrelated server down is a warning, the
scan's judge decides (``max_shrink`` included), and the audit is written ahead."""

from __future__ import annotations

import io
import json
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lab.isc import IscLab
from leasewatch.cli import Env, main
from leasewatch.model import InventorySnapshot, Reason
from leasewatch.state import UNFINISHED, State
from tests.reaper.crash import release_and_die

pytestmark = pytest.mark.lab


def cli(config: Path, *argv: str) -> tuple[int, str, str]:
    """Run the CLI in-process against the lab's config."""
    out, err = io.StringIO(), io.StringIO()
    status = main(["-c", str(config), *argv], Env(stdout=out, stderr=err, color=False))
    return status, out.getvalue(), err.getvalue()


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_release_when_an_unrelated_server_is_down(small_isc_lab: IscLab) -> None:
    """A Kea server that does not answer is a warning on stderr; the lease on the lab's
    dhcpd is still released (before: exit 1, nothing released)."""
    lab = small_isc_lab
    gone, _alive = lab.boot(2)  # one alive: an empty inventory would be unhealthy
    lab.destroy(gone)
    config = lab.workdir / "leasewatch.toml"
    down = f"http://127.0.0.1:{closed_port()}/"
    config.write_text(
        lab.leasewatch_toml(lab.workdir / "state.db")
        + f'\n[[servers]]\nname = "far-kea"\nkind = "kea"\ncontrol_agent = "{down}"\n'
    )
    status, out, err = cli(config, "release", "--mac", gone.mac)
    assert status == 0, out + err
    assert out.startswith(f"released: {gone.ip} {gone.mac} on lab-dhcpd")
    assert err.startswith("leasewatch: warning: ") and "far-kea" in err
    assert err.count("\n") == 1
    # naming the server that is down is an error: the hook asked for it
    status, out, err = cli(config, "release", "--mac", gone.mac, "--server", "far-kea")
    assert status == 1 and out == "" and "far-kea" in err


def test_release_goes_through_max_shrink(small_isc_lab: IscLab) -> None:
    """An inventory that shrank past max_shrink since its last healthy scan cannot confirm a
    VM gone: release refuses (before: released), and --force still releases."""
    lab = small_isc_lab
    gone, _alive = lab.boot(2)
    lab.destroy(gone)
    state_path = lab.workdir / "state.db"
    config = lab.workdir / "leasewatch.toml"
    config.write_text(lab.leasewatch_toml(state_path, reaper='grace = "0s"\nmax_shrink = 0.5'))
    state = State.open(state_path)
    many = frozenset(f"52:54:00:aa:00:{i:02x}" for i in range(10))
    state.save_inventory_sizes(
        [InventorySnapshot("hypervisor", "command", many)], datetime.now(UTC)
    )
    state.close()
    status, out, _err = cli(config, "release", "--mac", gone.mac)
    assert status == 1
    assert out.startswith(f"refused: {gone.ip} {gone.mac}")
    assert "shrank from 10 to 1" in out and "cannot confirm the VM is gone" in out
    status, out, err = cli(config, "release", "--mac", gone.mac, "--force")
    assert status == 0 and out.startswith(f"released: {gone.ip}"), out + err
    status, out, _err = cli(config, "audit", "--format", "json")
    codes = [(r["outcome"], r["reason_code"]) for r in json.loads(out)]
    assert codes == [("refused", "keep-unconfirmed"), ("released", "release-forced")]


def test_a_crash_after_the_omapi_release_leaves_an_unfinished_attempt(
    small_isc_lab: IscLab,
) -> None:
    """The attempt is committed before dhcpd is asked: killed after dhcpd released the
    address, the audit still shows the attempt, as unfinished; dhcpd hands the address out."""
    lab = small_isc_lab
    gone, _alive = lab.boot(2)  # one alive: an empty inventory would be unhealthy
    lab.destroy(gone)
    path = lab.workdir / "leasewatch.toml"
    path.write_text(lab.leasewatch_toml(lab.workdir / "state.db"))
    release_and_die(path, gone.mac)
    status, out, _err = cli(path, "audit", "--format", "json")
    assert status == 0
    (record,) = json.loads(out)
    assert (record["ip"], record["outcome"], record["detail"]) == (
        str(gone.ip), "attempting", UNFINISHED,
    )  # fmt: skip
    assert record["reason_code"] == Reason.RELEASE_REQUESTED.value
    (newcomer,) = lab.boot(1)
    assert newcomer.ip == gone.ip
