"""What an event's scan does (issue 22): re-read one inventory, find the MACs that vanished
since its last healthy read, and plan for their leases only; a real dhcpd.leases and a file
inventory, the real scanner and core."""

from __future__ import annotations

from pathlib import Path

from leasewatch.config import load
from leasewatch.model import Action
from leasewatch.scan import Scanner
from leasewatch.state import State

A, B, C, D = (f"52:54:00:12:36:0{n}" for n in range(1, 5))

DHCPD_CONF = """\
subnet 198.18.1.0 netmask 255.255.255.0 {
  range 198.18.1.100 198.18.1.119;
}
"""


def _lease(ip: str, mac: str) -> str:
    return (
        f"lease {ip} {{\n  starts 4 2024/05/02 10:00:00;\n  ends 4 2099/05/02 10:00:00;\n"
        f"  binding state active;\n  hardware ethernet {mac};\n}}\n"
    )


def _setup(tmp_path: Path, macs: list[str]) -> Scanner:
    (tmp_path / "dhcpd.conf").write_text(DHCPD_CONF)
    (tmp_path / "dhcpd.leases").write_text(
        "".join(_lease(f"198.18.1.{100 + n}", mac) for n, mac in enumerate((A, B, C, D)))
    )
    (tmp_path / "macs").write_text("\n".join(macs) + "\n")
    (tmp_path / "leasewatch.toml").write_text(
        f"""\
[[servers]]
name = "dhcp1"
kind = "isc"
leases = "{tmp_path}/dhcpd.leases"
dhcpd_conf = "{tmp_path}/dhcpd.conf"

[[inventory]]
name = "hv"
kind = "file"
path = "{tmp_path}/macs"

[reaper]
grace = "0s"

[state]
path = "{tmp_path}/state.db"
"""
    )
    return Scanner(load(tmp_path / "leasewatch.toml", {}))


def test_vanished_compares_with_the_last_healthy_read(tmp_path: Path) -> None:
    """No earlier read: nothing vanished (and a baseline is taken); then exactly the MACs
    gone since; an unreadable inventory: None, and the baseline stays."""
    scanner = _setup(tmp_path, [A, B, C])
    assert scanner.vanished("hv") == frozenset()
    (tmp_path / "macs").write_text(f"{A}\n")
    assert scanner.vanished("hv") == frozenset({B, C})
    (tmp_path / "macs").unlink()
    assert scanner.vanished("hv") is None
    (tmp_path / "macs").write_text(f"{A}\n{B}\n")
    assert scanner.vanished("hv") == frozenset({C})
    assert scanner.vanished("no-such-inventory") is None


def test_an_event_scan_plans_for_the_vanished_macs_only(tmp_path: Path) -> None:
    """D was never listed (an orphan the schedule handles); C vanishes after the first scan:
    the event's scan plans C's lease alone, and records the scan as any other."""
    scanner = _setup(tmp_path, [A, B, C])
    state = State.open(tmp_path / "state.db")
    try:
        first = scanner.scan(state)
        assert {r.finding.lease.mac for r in first.plan} == {D}
        (tmp_path / "macs").write_text(f"{A}\n{B}\n")
        gone = scanner.vanished("hv")
        assert gone == frozenset({C})
        result = scanner.scan(state, only_macs=gone)
        assert {f.lease.mac for f in result.analysis.orphans} == {C, D}
        assert [r.finding.lease.mac for r in result.plan] == [C]
        # no OMAPI configured: the plan keeps it, for a typed reason
        assert result.plan[0].action is Action.KEEP
        assert result.plan[0].code.value == "keep-no-backend"
        assert scanner.vanished("hv") == frozenset()  # the scan moved the baseline on
    finally:
        state.close()


def test_a_reload_keeps_the_last_reads_of_inventories_configured_alike(tmp_path: Path) -> None:
    """The scanner of a reloaded config compares with the old one's last read when the
    entry is unchanged (a VM gone right after SIGHUP is still noticed)."""
    old = _setup(tmp_path, [A, B, C])
    assert old.vanished("hv") == frozenset()
    new = Scanner(old.config)
    new.remember_from(old)
    (tmp_path / "macs").write_text(f"{A}\n{B}\n")
    assert new.vanished("hv") == frozenset({C})


def test_an_event_scan_reads_the_event_inventory_once(tmp_path: Path) -> None:
    """``scan(reuse=...)`` takes the snapshot ``vanished`` just read instead of running the
    inventory's command again (each run is logged by the command itself); another scan, or
    a scan naming no entry, reads it as usual."""
    _setup(tmp_path, [A, B, C])
    runs = tmp_path / "runs"
    config = tmp_path / "leasewatch.toml"
    config.write_text(
        config.read_text().replace(
            'kind = "file"\npath = "' + f'{tmp_path}/macs"',
            f'kind = "command"\ncommand = ["sh", "-c", "echo run >> {runs}; cat {tmp_path}/macs"]',
        )
    )
    scanner = Scanner(load(config, {}))
    state = State.open(tmp_path / "state.db")

    def reads() -> int:
        return len(runs.read_text().splitlines())

    try:
        scanner.scan(state)
        (tmp_path / "macs").write_text(f"{A}\n{B}\n")
        gone = scanner.vanished("hv")
        assert gone == frozenset({C}) and reads() == 2
        result = scanner.scan(state, only_macs=gone, reuse="hv")
        assert reads() == 2  # the event's re-read, taken as it was
        assert [r.finding.lease.mac for r in result.plan] == [C]
        assert [i.source for i in result.analysis.inventories] == ["hv"]
        scanner.scan(state, reuse="hv")  # nothing re-read since: read as usual
        assert reads() == 3
    finally:
        state.close()
