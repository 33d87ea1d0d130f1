"""The seed's story against a real kea-dhcp4 and real dhclient VMs, through the CLI."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from lab.kea import KeaLab
from leasewatch.leases.kea_api import KeaClient
from tests.cli_helpers import run

pytestmark = pytest.mark.lab


@pytest.fixture
def kea_lab() -> Iterator[KeaLab]:
    """The seed's /27 with a 21-address pool, served by Kea in a namespace."""
    lab = KeaLab.start(pool_size=21)
    try:
        yield lab
    finally:
        lab.close()


def write_config(lab: KeaLab, page_size: int = 1000) -> Path:
    """A leasewatch config: the lab's Kea by its control socket, the hypervisor's inventory."""
    path = lab.workdir / "leasewatch.toml"
    text = lab.leasewatch_toml(
        lab.workdir / "state.db", reaper="", server_name="kea", page_size=page_size
    )
    path.write_text(text, encoding="utf-8")
    return path


def kea_leases(lab: KeaLab) -> dict[str, str]:
    """Address -> MAC of every lease Kea holds now."""
    leases = lab.kea.command("lease4-get-all")["arguments"]["leases"]
    return {item["ip-address"]: item["hw-address"] for item in leases}


def test_scan_apply_frees_destroyed_vms_leases_and_new_vms_bind(kea_lab: KeaLab) -> None:
    """21 VMs fill the pool, 15 die, 3 new get nothing; scan --apply frees 15, the 3 bind."""
    lab = kea_lab
    vms = lab.boot(21)
    assert sorted(vm.ip for vm in vms if vm.ip) == lab.layout.pool
    dead, live = vms[:15], vms[15:]
    for vm in dead:
        lab.destroy(vm)
    new = lab.boot(3, timeout=4)
    assert [vm.ip for vm in new] == [None, None, None]  # the pool is dry
    before = kea_leases(lab)
    config = write_config(lab)
    now = datetime.now(UTC)

    report = run("-c", str(config), "report", "--format", "json", now=now)
    doc: dict[str, Any] = json.loads(report.out)
    assert doc["pools"] == [
        {
            "server": "kea",
            "network": "198.18.1.192/27",
            "subnet": "198.18.1.192/27",
            "first": "198.18.1.202",
            "last": "198.18.1.222",
            "size": 21,
            "active": 21,
            "backup": 0,
            "abandoned": 0,
            "free": 0,
            "utilization": 1.0,
            "level": "critical",
            "kind": "address",
            "delegated_len": None,
            "pair": None,
        }
    ]
    assert {o["mac"] for o in doc["orphans"]} == {vm.mac for vm in dead}

    first = run("-c", str(config), "scan", "--format", "json", now=now)
    assert kea_leases(lab) == before  # a dry run (and the grace period) releases nothing
    assert json.loads(first.out)["applied"] is False

    later = now + timedelta(minutes=31)
    applied = run("-c", str(config), "scan", "--apply", "--format", "json", now=later)
    releases = json.loads(applied.out)["releases"]
    assert sorted(r["mac"] for r in releases if r["outcome"] == "released") == sorted(
        vm.mac for vm in dead
    )
    assert applied.err == ""

    lab.hypervisor.wait(new, timeout=30)
    assert all(vm.ip is not None for vm in new)
    freed = {str(vm.ip) for vm in dead}
    assert {str(vm.ip) for vm in new} <= freed
    after = kea_leases(lab)
    for vm in live:  # the live VMs' leases are untouched
        assert after[str(vm.ip)] == before[str(vm.ip)] == vm.mac
    assert set(after.values()) == {vm.mac for vm in (*live, *new)}


def test_the_lab_config_reaches_kea_through_the_agent_with_basic_auth() -> None:
    """leasewatch_toml with the agent: user and password_file, and report reads the pool."""
    lab = KeaLab.start(pool_size=2, agent=True, username="leasewatch", password="lab-pw")
    try:
        lab.boot(2)
        path = lab.workdir / "leasewatch.toml"
        path.write_text(lab.leasewatch_toml(lab.workdir / "state.db"), encoding="utf-8")
        assert "lab-pw" not in path.read_text()
        result = run("-c", str(path), "report", "--format", "json", now=datetime.now(UTC))
    finally:
        lab.close()
    doc = json.loads(result.out)
    assert doc["errors"] == []
    assert [(p["network"], p["size"], p["active"]) for p in doc["pools"]] == [
        ("198.18.1.192/28", 2, 2)
    ]


def test_kea_killed_mid_scan_is_one_error_and_no_release(
    kea_lab: KeaLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kea dies while leases are paged: scan --apply prints one error line, releases nothing."""
    lab = kea_lab
    vms = lab.boot(6)
    for vm in vms[:4]:
        lab.destroy(vm)
    config = write_config(lab, page_size=2)
    now = datetime.now(UTC)
    assert run("-c", str(config), "scan", now=now).status == 0

    real_call = KeaClient.call
    pages: list[str] = []

    def call(client: KeaClient, command: str, arguments: Any = None) -> Any:
        """The real call; after the first page of leases, Kea is killed."""
        answer = real_call(client, command, arguments)
        if command == "lease4-get-page":
            pages.append(command)
            if len(pages) == 1:
                lab.kea.kill(signal.SIGKILL)
        return answer

    monkeypatch.setattr(KeaClient, "call", call)
    result = run(
        "-c", str(config), "scan", "--apply", "--format", "json", now=now + timedelta(hours=1)
    )
    doc = json.loads(result.out)
    assert doc["releases"] == []
    assert doc["orphans"] == []
    assert len(doc["errors"]) == 1
    assert doc["errors"][0] == (
        f"kea server 'kea': lease4-get-page: control socket {lab.socket_path} refused the "
        "connection (is kea-dhcp4 running?)"
    )
    assert result.status == 1  # ERROR: nothing readable
    assert len(pages) == 1


def test_the_demo_tells_the_story_on_kea() -> None:
    """``python -m lab.demo --kind kea``: every CLI step exits 0, 3 newcomers get freed IPs."""
    import io

    from rich.console import Console

    from lab.demo import run as demo

    story = demo("kea", Console(file=io.StringIO(), width=120))
    assert story.wrong() == []
