"""The dhcpd failover story on two real dhcpd (primary dhcp1, secondary dhcp2): the pair is
one pool, orphans are released once and freed in both journals, and nothing is released
while the pair is not in sync, with the plan saying why."""

from __future__ import annotations

import csv
import json
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lab.failover import FailoverLab, Member
from leasewatch.config import ServerConfig
from leasewatch.leases.isc import IscLeaseSource
from tests.cli_helpers import Run, run

COMMUNICATIONS_INTERRUPTED = 3


def lw(*argv: str) -> Run:
    """``leasewatch ARGV`` in-process at the wall clock's time (the servers' leases are real)."""
    return run(*argv, now=datetime.now(UTC))


def config(lab: FailoverLab, tmp_path: Path) -> Path:
    """leasewatch's config for the pair (both dhcpd, each with its own OMAPI key)."""
    path = tmp_path / "leasewatch.toml"
    path.write_text(lab.leasewatch_toml(tmp_path / "state.db"))
    return path


def state_of(member: Member, ip: object) -> str | None:
    """The binding state of ``ip`` in ``member``'s journal now (None: no lease)."""
    source = IscLeaseSource(ServerConfig(member.name, "isc", leases=member.leases_path,
                                         dhcpd_conf=member.conf_path))  # fmt: skip
    lease = source.read().leases.get(int(ip))  # type: ignore[call-overload]
    if lease is None:
        return None
    return "active" if lease.is_active(datetime.now(UTC)) else lease.state.value


def range_of(member: Member) -> dict[str, str]:
    """dhcpd-pools' row for the pool's range in one member's journal (CSV: ``max``, ``cur``,
    ``bu``), the reference for a single journal. Its "Sum of all ranges" counts backup twice
    (2 for 1 in a one-range file): not compared."""
    out = subprocess.run(
        ["dhcpd-pools", "-c", str(member.conf_path), "-l", str(member.leases_path), "-f", "c"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    rows = list(csv.reader(out.splitlines()))
    header = rows.index(["Ranges:"]) + 1
    return dict(zip(rows[header], rows[header + 1], strict=True))


def test_a_fresh_pair_is_one_pool_counted_once(failover_lab: FailoverLab, tmp_path: Path) -> None:
    """Two journals, one pool: 21 addresses, the active ones once, backup counted as free;
    each journal alone agrees with dhcpd-pools; both members normal, over OMAPI."""
    vms = failover_lab.boot(3)
    failover_lab.wait_bound(vms)
    doc = json.loads(lw("-c", str(config(failover_lab, tmp_path)), "report", "--format",
                         "json").out)  # fmt: skip
    (pool,) = doc["pools"]
    assert (pool["server"], pool["size"], pool["active"], pool["free"]) == (
        "dhcp1+dhcp2", 21, 3, 18,
    )  # fmt: skip
    (pair,) = doc["pairs"]
    assert (pair["mode"], pair["relationship"], pair["release"], pair["hold"]) == (
        "failover", "lw", "once", None,
    )  # fmt: skip
    assert [(m["server"], m["role"], m["state"], m["normal"], m["state_from"])
            for m in pair["members"]] == [
        ("dhcp1", "primary", "normal", True, "omapi"),
        ("dhcp2", "secondary", "normal", True, "omapi"),
    ]  # fmt: skip
    for member in failover_lab.members:  # one journal at a time: leasewatch = dhcpd-pools
        alone = lw("report", "--leases", str(member.leases_path), "--dhcpd-conf",
                   str(member.conf_path), "--format", "json")  # fmt: skip
        (ours,) = json.loads(alone.out)["pools"]
        theirs = range_of(member)
        assert [str(ours[k]) for k in ("size", "active", "backup")] == [
            theirs["max"], theirs["cur"], theirs["bu"],
        ], member.name  # fmt: skip
        assert ours["backup"] > 0 and ours["free"] == 21 - 3  # backup is free capacity


def test_orphans_are_released_once_and_freed_in_both_journals(
    failover_lab: FailoverLab, tmp_path: Path
) -> None:
    """Two VMs gone: one release each (on dhcp1, which passes it on), one audit record per
    lease named by the pair, free in both journals; the live VM keeps its lease on both, and
    new VMs get addresses."""
    vms = failover_lab.boot(3)
    failover_lab.wait_bound(vms)
    gone, live = vms[:2], vms[2]
    for vm in gone:
        failover_lab.destroy(vm)
    result = lw("-c", str(config(failover_lab, tmp_path)), "scan", "--apply", "--format", "json")
    doc = json.loads(result.out)
    released = {r["ip"]: r for r in doc["releases"]}
    assert set(released) == {str(vm.ip) for vm in gone}, [p["why"] for p in doc["plan"]]
    for record in released.values():
        assert (record["server"], record["outcome"]) == ("dhcp1+dhcp2", "released"), record
        assert record["detail"].startswith(
            f"check: dhcp1: holds it ({record['ip']} active for {record['mac']}); "
            f"dhcp2: holds it ({record['ip']} active for {record['mac']}); "
            "release on dhcp1: released (released, ends set to "
        ), record
        assert record["detail"].endswith("freed in the journals of dhcp1, dhcp2")
    for vm in gone:
        assert [state_of(m, vm.ip) for m in failover_lab.members] != ["active", "active"]
        assert "active" not in [state_of(m, vm.ip) for m in failover_lab.members]
    assert [state_of(m, live.ip) for m in failover_lab.members] == ["active", "active"]
    fresh = failover_lab.boot(2)
    assert all(vm.ip is not None for vm in fresh)
    again = json.loads(lw("-c", str(config(failover_lab, tmp_path)), "report", "--format",
                           "json").out)  # fmt: skip
    assert again["orphans"] == []


def test_with_the_secondary_stopped_nothing_is_released_and_the_plan_says_why(
    failover_lab: FailoverLab, tmp_path: Path
) -> None:
    """dhcp2 stopped: dhcp1 goes communications-interrupted (a dead peer's journal still
    says normal); a scan releases nothing, for that pair, and says why; check warns."""
    vms = failover_lab.boot(2)
    failover_lab.wait_bound(vms)
    failover_lab.destroy(vms[0])
    primary, secondary = failover_lab.members
    failover_lab.stop_member(secondary)
    deadline = time.monotonic() + 30
    while failover_lab.local_state(primary) != COMMUNICATIONS_INTERRUPTED:
        assert time.monotonic() < deadline, "dhcp1 never noticed its partner stopped"
        time.sleep(0.2)
    path = config(failover_lab, tmp_path)
    doc = json.loads(lw("-c", str(path), "scan", "--apply", "--format", "json").out)
    assert doc["releases"] == []
    (line,) = doc["plan"]
    assert (line["ip"], line["action"], line["why_code"]) == (
        str(vms[0].ip), "keep", "keep-pair-not-normal",
    )  # fmt: skip
    assert line["why"] == "failover state communications-interrupted on dhcp1"
    (pair,) = doc["pairs"]
    assert [(m["state"], m["normal"]) for m in pair["members"]] == [
        ("communications-interrupted", False), ("normal", None),
    ]  # dhcp2: its journal's last word, not trusted  # fmt: skip
    assert state_of(primary, vms[0].ip) == "active"
    why = lw("-c", str(path), "why", str(vms[0].ip)).out
    assert f"{vms[0].ip} {vms[0].mac} vm-001 on dhcp1+dhcp2" in why, why
    assert "reaper: keep: failover state communications-interrupted on dhcp1 " in why, why
    check = lw("-c", str(path), "check")
    assert check.status == 1 and "failover state communications-interrupted on dhcp1" in check.out


def test_release_server_takes_the_pair_or_a_member_and_frees_both_journals(
    failover_lab: FailoverLab, tmp_path: Path
) -> None:
    """``release --server dhcp1+dhcp2`` and ``--server dhcp2`` (a member: its pair) each free
    a gone VM's lease once, in both journals; an unknown name lists the pair as the report
    names it."""
    vms = failover_lab.boot(3)
    failover_lab.wait_bound(vms)
    for vm in vms[:2]:
        failover_lab.destroy(vm)
    path = str(config(failover_lab, tmp_path))
    for vm, named in zip(vms[:2], ("dhcp1+dhcp2", "dhcp2"), strict=True):
        result = lw("-c", path, "release", "--mac", vm.mac, "--server", named, "--format", "json")
        (record,) = json.loads(result.out)
        assert (record["server"], record["ip"], record["outcome"]) == (
            "dhcp1+dhcp2", str(vm.ip), "released",
        ), record  # fmt: skip
        assert record["detail"].endswith("freed in the journals of dhcp1, dhcp2"), record
        assert "active" not in [state_of(m, vm.ip) for m in failover_lab.members]
    assert [state_of(m, vms[2].ip) for m in failover_lab.members] == ["active", "active"]
    unknown = lw("-c", path, "release", "--mac", vms[2].mac, "--server", "dhcp3")
    assert unknown.status == 2
    assert "no such server (servers: dhcp1+dhcp2; a pair's member names its pair)" in unknown.err


def test_a_member_lost_after_the_read_releases_nothing_and_the_next_scan_does(
    failover_lab: FailoverLab, tmp_path: Path
) -> None:
    """dhcp2 stops after the scan read both: the check asks both members before the release
    goes to dhcp1, so nothing is released (failed, each member's answer recorded) and dhcp1
    still holds the lease; with dhcp2 back and the pair normal, the next scan releases it."""
    vms = failover_lab.boot(2)
    failover_lab.wait_bound(vms)
    gone = vms[0]
    failover_lab.destroy(gone)
    primary, secondary = failover_lab.members
    path = config(failover_lab, tmp_path)
    from leasewatch.config import load
    from leasewatch.scan import Scanner
    from leasewatch.state import State

    scanner = Scanner(load(path))
    real_read = scanner.read_servers

    def read_then_lose_dhcp2(*args: Any, **kwargs: Any) -> Any:
        """The real read of both members; then dhcp2 stops, before any release."""
        snapshots = real_read(*args, **kwargs)
        failover_lab.stop_member(secondary)
        return snapshots

    scanner.read_servers = read_then_lose_dhcp2  # type: ignore[method-assign]
    scanner.clock = lambda: datetime.now(UTC)
    state = State.open(tmp_path / "state.db")
    try:
        result = scanner.scan(state, apply=True, send_alerts=False)
    finally:
        state.close()
    [record] = result.records
    assert (record.ip, record.outcome.value) == (gone.ip, "failed"), record
    assert record.detail.startswith("pair dhcp1+dhcp2: nothing released: check: dhcp1: "), record
    assert "dhcp2: unreachable (dhcp2 (OMAPI " in record.detail, record
    assert state_of(primary, gone.ip) == "active"

    failover_lab.start_member(secondary)
    failover_lab.wait_normal(30)
    doc = json.loads(lw("-c", str(path), "scan", "--apply", "--format", "json").out)
    [again] = doc["releases"]
    assert (again["ip"], again["outcome"]) == (str(gone.ip), "released"), again
    assert "active" not in [state_of(m, gone.ip) for m in failover_lab.members]
