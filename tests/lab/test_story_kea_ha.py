"""The story on a Kea HA pair: two real kea-dhcp4 in hot-standby, real dhclient VMs.

Measured on Kea 2.2 (tests/lab/test_kea_ha_lab.py): an administrator's lease4-del on one
peer stays on the other and comes back after ``ha-sync`` or a restart. So leasewatch deletes
on every peer, and the story proves nothing comes back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from lab.kea_ha import NAMES, KeaHaLab
from lab.vm import Vm
from tests.cli_helpers import run

pytestmark = pytest.mark.lab

PAIR = "kea-server1+kea-server2"


@pytest.fixture
def ha_lab() -> Iterator[KeaHaLab]:
    """server1 (primary) and server2 (standby) serving the seed's /27 with a 21-address pool."""
    lab = KeaHaLab.start(pool_size=21)
    try:
        yield lab
    finally:
        lab.close()


def write_config(lab: KeaHaLab) -> Path:
    """A leasewatch config naming both peers by their control sockets, the VMs' inventory."""
    path = lab.workdir / "leasewatch.toml"
    path.write_text(lab.leasewatch_toml(lab.workdir / "state.db", reaper=""), encoding="utf-8")
    return path


def one_gone(lab: KeaHaLab, n: int) -> tuple[Vm, Path, datetime]:
    """``n`` VMs booted, the first destroyed, a first scan (it starts the grace): the gone
    VM, the config and the scan's time."""
    vms = lab.boot(n)
    lab.destroy(vms[0])
    config = write_config(lab)
    now = datetime.now(UTC)
    run("-c", str(config), "scan", now=now)
    return vms[0], config, now


def leases(lab: KeaHaLab, index: int) -> dict[str, str]:
    """Address -> MAC of every lease one peer holds now."""
    answer = lab.kea(index).command("lease4-get-all")
    items: list[dict[str, Any]] = (answer.get("arguments") or {}).get("leases", [])
    return {item["ip-address"]: item["hw-address"] for item in items}


def test_orphans_go_on_both_peers_and_nothing_comes_back(ha_lab: KeaHaLab) -> None:
    """The pool counts once; scan --apply deletes orphans on both peers; syncs and restarts
    of either peer bring none back; live leases stay on both; new VMs get addresses."""
    lab = ha_lab
    vms = lab.boot(21)
    assert sorted(vm.ip for vm in vms if vm.ip) == lab.layout.pool
    dead, live = vms[:6], vms[6:]
    for vm in dead:
        lab.destroy(vm)
    before = [leases(lab, 0), leases(lab, 1)]
    assert before[0] == before[1]  # hot-standby: the standby holds a full copy
    config = write_config(lab)
    now = datetime.now(UTC)

    report = json.loads(run("-c", str(config), "report", "--format", "json", now=now).out)
    assert report["errors"] == []
    pools = [(p["server"], p["first"], p["last"], p["size"], p["active"]) for p in report["pools"]]
    assert pools == [(PAIR, "198.18.1.202", "198.18.1.222", 21, 21)]
    assert {o["mac"] for o in report["orphans"]} == {vm.mac for vm in dead}

    first = run("-c", str(config), "scan", "--format", "json", now=now)  # starts the grace
    assert json.loads(first.out)["applied"] is False
    assert [leases(lab, 0), leases(lab, 1)] == before
    applied = run(
        "-c", str(config), "scan", "--apply", "--format", "json", now=now + timedelta(hours=1)
    )
    doc = json.loads(applied.out)
    released = [r for r in doc["releases"] if r["outcome"] == "released"]
    assert sorted(r["mac"] for r in released) == sorted(vm.mac for vm in dead)
    assert len(doc["releases"]) == len(dead)  # one record per lease, not one per peer
    for record in released:
        assert "kea-server1: released" in record["detail"]
        assert "kea-server2: released" in record["detail"]

    gone = {str(vm.ip) for vm in dead}
    for index in (0, 1):
        assert not gone & set(leases(lab, index)), NAMES[index]
    lab.sync(0)
    lab.sync(1)
    lab.restart(0)
    lab.restart(1)
    for index in (0, 1):
        now_held = leases(lab, index)
        assert not gone & set(now_held), f"{NAMES[index]} resurrected an orphan"
        for vm in live:
            assert now_held[str(vm.ip)] == vm.mac

    new = lab.boot(3, timeout=30)
    assert all(vm.ip is not None for vm in new)
    assert {str(vm.ip) for vm in new} <= gone


def test_a_peer_down_holds_the_pair_and_a_peer_lost_after_the_read_releases_on_none(
    ha_lab: KeaHaLab,
) -> None:
    """server2 stopped: scan --apply releases nothing and says why. server2 lost after the
    read: the check asks both peers first, so nothing is deleted on server1 either (failed,
    each peer's answer recorded), and the next scan deletes it on both."""
    lab = ha_lab
    dead, config, now = one_gone(lab, 3)
    ip = str(dead.ip)
    later = now + timedelta(hours=1)

    lab.stop(1)
    held = json.loads(run("-c", str(config), "scan", "--apply", "--format", "json", now=later).out)
    assert held["releases"] == []
    assert [p["why_code"] for p in held["plan"]] == ["keep-pair-unread"]
    assert lab.lease(0, ip) is not None

    lab.restart(1)
    from leasewatch.config import load
    from leasewatch.scan import Scanner
    from leasewatch.state import State

    scanner = Scanner(load(config))
    real_read = scanner.read_servers

    def read_then_lose_server2(*args: Any, **kwargs: Any) -> Any:
        """The real read of both peers; then server2 stops, before any release."""
        snapshots = real_read(*args, **kwargs)
        lab.stop(1)
        return snapshots

    scanner.read_servers = read_then_lose_server2  # type: ignore[method-assign]
    scanner.clock = lambda: later + timedelta(minutes=1)
    state = State.open(lab.workdir / "state.db")
    try:
        result = scanner.scan(state, apply=True, send_alerts=False)
    finally:
        state.close()
    [record] = result.records
    assert record.outcome.value == "failed", record
    assert record.detail.startswith(f"pair {PAIR}: nothing released: check: kea-server1: "), record
    assert "kea-server2: unreachable" in record.detail, record
    assert lab.lease(0, ip) is not None  # not deleted on server1 alone

    lab.restart(1)
    assert lab.lease(1, ip) is not None
    again = run(
        "-c", str(config), "scan", "--apply", "--format", "json", now=later + timedelta(hours=1)
    )
    [retry] = json.loads(again.out)["releases"]
    assert retry["outcome"] == "released", retry
    assert "release: kea-server1: released" in retry["detail"]
    assert "kea-server2: released" in retry["detail"]
    assert lab.lease(0, ip) is None and lab.lease(1, ip) is None


def test_a_peer_that_disagrees_releases_on_none(ha_lab: KeaHaLab) -> None:
    """Right after the scan read both peers, the gone VM's address becomes another client's
    on server2 only (``lease4-update`` there: lease_cmds changes are not passed on to the
    partner, measured here): the check deletes it on neither peer, recording both peers'
    answers; server1 still holds it for the VM."""
    lab = ha_lab
    dead, config, now = one_gone(lab, 2)
    ip = str(dead.ip)
    other = "52:54:00:fe:dc:ba"
    from leasewatch.config import load
    from leasewatch.scan import Scanner
    from leasewatch.state import State

    scanner = Scanner(load(config))
    real_read = scanner.read_servers

    def read_then_change_hands(*args: Any, **kwargs: Any) -> Any:
        """The real read of both peers; then server2 gives the address to another client."""
        snapshots = real_read(*args, **kwargs)
        answer = lab.kea(1).command("lease4-update", {"ip-address": ip, "hw-address": other})
        assert answer["result"] == 0, answer
        return snapshots

    scanner.read_servers = read_then_change_hands  # type: ignore[method-assign]
    scanner.clock = lambda: now + timedelta(hours=1)
    state = State.open(lab.workdir / "state.db")
    try:
        [record] = scanner.scan(state, apply=True, send_alerts=False).records
    finally:
        state.close()
    assert (str(record.ip), record.mac, record.outcome.value) == (ip, dead.mac, "changed")
    assert record.detail == (
        f"nothing released: check: kea-server1: holds it ({ip} for {dead.mac}); "
        f"kea-server2: changed ({ip} now belongs to {other})"
    )
    after = [lab.lease(0, ip), lab.lease(1, ip)]
    assert [lease["hw-address"] if lease else None for lease in after] == [dead.mac, other]


def test_a_lease_freed_on_both_peers_counts_once_against_max_per_run(ha_lab: KeaHaLab) -> None:
    """max_per_run = 2 with three orphans on a pair: two leases go, each from both peers."""
    lab = ha_lab
    vms = lab.boot(4)
    for vm in vms[:3]:
        lab.destroy(vm)
    path = lab.workdir / "leasewatch.toml"
    path.write_text(
        lab.leasewatch_toml(lab.workdir / "state.db", reaper='grace = "0s"\nmax_per_run = 2'),
        encoding="utf-8",
    )
    now = datetime.now(UTC)
    run("-c", str(path), "scan", now=now)
    doc = json.loads(
        run(
            "-c", str(path), "scan", "--apply", "--format", "json", now=now + timedelta(hours=1)
        ).out
    )
    released = [r["ip"] for r in doc["releases"] if r["outcome"] == "released"]
    assert len(released) == 2
    for index in (0, 1):
        assert not set(released) & set(leases(lab, index))
    held = {str(vm.ip) for vm in vms[:3]} - set(released)
    assert all(ip in leases(lab, 0) and ip in leases(lab, 1) for ip in held)


def test_release_server_takes_the_pair_or_a_member_and_deletes_on_both_peers(
    ha_lab: KeaHaLab,
) -> None:
    """``release --server`` by the pair's name or by a member's deletes a gone VM's lease on
    both peers (one record, named by the pair); the live VM's lease stays on both."""
    lab = ha_lab
    vms = lab.boot(3)
    for vm in vms[:2]:
        lab.destroy(vm)
    config = str(write_config(lab))
    now = datetime.now(UTC)
    for vm, named in zip(vms[:2], (PAIR, "kea-server1"), strict=True):
        result = run("-c", config, "release", "--mac", vm.mac, "--server", named, "--format",
                     "json", now=now)  # fmt: skip
        (record,) = json.loads(result.out)
        assert (record["server"], record["ip"], record["outcome"]) == (
            PAIR, str(vm.ip), "released",
        ), record  # fmt: skip
        assert lab.lease(0, str(vm.ip)) is None and lab.lease(1, str(vm.ip)) is None
    live = str(vms[2].ip)
    assert lab.lease(0, live) is not None and lab.lease(1, live) is not None
