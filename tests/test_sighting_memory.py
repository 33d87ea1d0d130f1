"""Tests for the sighting memory kept in the state file: a cron run records only changes."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from leasewatch.config import ServerConfig
from leasewatch.core.analysis import analyse
from leasewatch.leases.isc import IscLeaseSource
from leasewatch.scan import Scanner
from leasewatch.sightings import REFRESH, SightingMemory, _difference, observe
from leasewatch.state import State
from tests import history_scenario as sc
from tests.core.test_observe import NOW, inventory, server

JOURNAL = """\
lease 198.18.1.10 {
  starts 3 2026/11/25 10:00:00;
  ends 3 2026/11/25 22:00:00;
  binding state active;
  hardware ethernet 52:54:00:00:01:0a;
  client-hostname "vm-a";
}
lease 198.18.1.11 {
  starts 3 2026/11/25 10:00:00;
  ends never;
  binding state active;
  hardware ethernet 52:54:00:00:01:0b;
}
lease 198.18.1.12 {
  starts 3 2026/11/25 10:00:00;
  binding state active;
}
"""
CONF = "subnet 198.18.1.0 netmask 255.255.255.0 { range 198.18.1.10 198.18.1.99; }\n"
STAMPS = """
import json, sys
from pathlib import Path
from leasewatch.config import ServerConfig
from leasewatch.leases.isc import IscLeaseSource
d = Path(sys.argv[1])
server = ServerConfig("dhcp1", "isc", leases=d / "dhcpd.leases", dhcpd_conf=d / "dhcpd.conf")
table = IscLeaseSource(server).read().leases
print(json.dumps(list(table.stamps(range(3323068682, 3323068685)))))
"""


def scenario(state_path: Path, *, fresh_each_scan: bool) -> State:
    """The history scenario's scans into ``state_path``: by one scanner kept alive (the
    daemon) or by a new scanner each scan (cron, with only the state file between runs)."""
    cfg = sc.config(state_path)
    clock = [sc.T0]

    def scanner() -> Scanner:
        return Scanner(
            cfg,
            clock=lambda: clock[0],
            lease_source=lambda _s: sc.ReplayLeases(clock),
            inventory_source=lambda _i: sc.ReplayInventory(clock),
        )

    kept = scanner()
    state = State.open(state_path)
    while clock[0] <= sc.NOW:
        (scanner() if fresh_each_scan else kept).scan(state, apply=False, send_alerts=False)
        clock[0] += sc.EVERY
    return state


def test_cron_runs_record_what_the_daemon_records(tmp_path: Path) -> None:
    """A scan in a fresh process each time (memory from the state file) leaves the very
    sightings a daemon leaves."""
    daemon = scenario(tmp_path / "daemon.db", fresh_each_scan=False)
    cron = scenario(tmp_path / "cron.db", fresh_each_scan=True)
    try:
        assert cron.vm_sightings() == daemon.vm_sightings()
        assert cron.lease_sightings() == daemon.lease_sightings()
        assert len(cron.lease_sightings()) == len(sc.VMS)
    finally:
        daemon.close()
        cron.close()


def test_the_memory_reads_back_and_an_unchanged_scan_records_nothing() -> None:
    """The memory the state file keeps reads back equal, and a scan five minutes later that
    sees the same leases and VMs records none of them."""
    state = State.memory()
    _, memory = observe(analyse([server()], [inventory()], now=NOW))
    state.save_sighting_memory(memory)
    loaded = state.sighting_memory()
    assert loaded == memory and loaded.at == NOW
    later = NOW + timedelta(minutes=5)
    seen, _ = observe(analyse([server()], [inventory()], now=later), loaded)
    assert seen.leases == () and seen.vms == frozenset() and seen.vms_last_seen == ()
    due = NOW + REFRESH
    seen, _ = observe(analyse([server()], [inventory()], now=due), loaded)
    assert len(seen.leases) == 10 and len(seen.vms) == 10


def test_a_damaged_memory_reads_as_none(tmp_path: Path) -> None:
    """A memory that cannot be read back (bytes not a whole number of digests) is empty,
    so the next scan records everything rather than failing."""
    state = State.open(tmp_path / "state.db")
    try:
        _, memory = observe(analyse([server()], [inventory()], now=NOW))
        state.save_sighting_memory(memory)
        state.db.execute("UPDATE sighting_memory SET data = ? WHERE kind = 'vms'", (b"12345",))
        state.db.commit()
        assert state.sighting_memory() == SightingMemory()
    finally:
        state.close()


def test_an_old_state_file_gains_the_memory_table(tmp_path: Path) -> None:
    """A schema-5 file migrates to the memory table and starts with no memory."""
    path = tmp_path / "state.db"
    State.open(path).close()
    db = sqlite3.connect(path)
    db.execute("DROP TABLE sighting_memory")
    for column in ("size_text", "free_text"):  # migration 7's, after the memory's
        db.execute(f"ALTER TABLE history DROP COLUMN {column}")
    db.execute("PRAGMA user_version = 5")
    db.commit()
    db.close()
    state = State.open(path)
    try:
        assert state.version == 7 and state.sighting_memory() == SightingMemory()
    finally:
        state.close()


sorted_keys = st.lists(st.integers(0, 400), unique=True).map(sorted)


@given(sorted_keys, sorted_keys, st.integers(1, 70))
def test_difference_agrees_with_set_arithmetic(a: list[int], b: list[int], run: int) -> None:
    """The hand-written run-wise difference of two sorted arrays is what sets compute."""
    from array import array

    only_a, only_b = _difference(array("Q", a), array("Q", b), run)
    assert only_a == sorted(set(a) - set(b)) and only_b == sorted(set(b) - set(a))


def test_journal_stamps_are_the_same_in_another_process(tmp_path: Path) -> None:
    """A lease's stamp, which the memory stores, is the same in a process with another
    hash seed (Python hashes str and bytes differently in every process)."""
    (tmp_path / "dhcpd.leases").write_text(JOURNAL)
    (tmp_path / "dhcpd.conf").write_text(CONF)
    server = ServerConfig(
        "dhcp1", "isc", leases=tmp_path / "dhcpd.leases", dhcpd_conf=tmp_path / "dhcpd.conf"
    )
    table = IscLeaseSource(server).read().leases
    here = list(table.stamps(range(3323068682, 3323068685)))
    assert len(set(here)) == 3
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", STAMPS, str(tmp_path)],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        ).stdout
        assert json.loads(out) == here
