"""Tests for schema 2 of the state file: the upgrade from 1 keeps every record; sightings."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path

from leasewatch.model import Outcome, Verdict
from leasewatch.sightings import LeaseSighting, Observation
from leasewatch.state import State
from leasewatch.state_schema import MIGRATIONS

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
MAC = "52:54:00:00:00:01"


def v1_file(path: Path) -> None:
    """A state file as leasewatch with schema 1 left it, with a row in every table."""
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0])
    db.execute("PRAGMA user_version = 1")
    at = NOW.isoformat(timespec="seconds")
    db.execute("INSERT INTO missing VALUES (?, ?)", (MAC, at))
    db.execute("INSERT INTO inventory_sizes VALUES ('hv', 7, ?)", (at,))
    db.execute("INSERT INTO alert_memory VALUES ('lab', '{\"level\": \"warn\"}')")
    db.execute(
        "INSERT INTO audit (at, server, ip, mac, hostname, reason, outcome, detail) "
        "VALUES (?, 'dhcp1', '198.18.1.20', ?, 'vm1', 'MAC not seen by hv', 'released', 'ok')",
        (at, MAC),
    )
    for hours in (2, 1, 0):
        t = (NOW - timedelta(hours=hours)).isoformat(timespec="seconds")
        db.execute("INSERT INTO history VALUES (?, 'dhcp1', 'lab', 21, ?, 1, 0)", (t, 10 - hours))
    db.commit()
    db.close()


def test_upgrade_from_schema_1_keeps_every_record(tmp_path: Path) -> None:
    """Opening a schema-1 file migrates it to the latest and every old row reads back unchanged
    (an audit record from before reason codes has none)."""
    path = tmp_path / "state.db"
    v1_file(path)
    state = State.open(path)
    try:
        assert state.version == len(MIGRATIONS)
        assert state.first_missing() == {MAC: NOW}
        assert state.inventory_sizes() == {"hv": 7}
        assert state.alert_memory() == {"lab": {"level": "warn"}}
        (record,) = state.audit()
        assert (record.ip, record.outcome, record.hostname, record.code) == (
            IPv4Address("198.18.1.20"), Outcome.RELEASED, "vm1", None,
        )  # fmt: skip
        assert [(r.at, r.active) for r in state.history()] == [
            (NOW - timedelta(hours=2), 8), (NOW - timedelta(hours=1), 9), (NOW, 10),
        ]  # fmt: skip
        assert state.vm_sightings() == [] and state.lease_sightings() == []
    finally:
        state.close()


def sighting(at: datetime, orphaned_at: datetime | None = None) -> LeaseSighting:
    """One lease of MAC at ``at``."""
    return LeaseSighting("dhcp1", IPv4Address("198.18.1.20"), MAC, "lab", at,
                         at + timedelta(hours=3), at, at, orphaned_at)  # fmt: skip


def test_orphan_time_is_kept_while_unknown_and_cleared_when_live() -> None:
    """Live clears the orphan time; an unjudgeable scan keeps it; first/last seen advance."""
    state = State.memory()
    keep = timedelta(days=30)
    t = [NOW + timedelta(minutes=10 * i) for i in range(4)]
    state.add_sightings(
        Observation(t[0], frozenset({MAC}), ((sighting(t[0]), Verdict.LIVE),)), keep
    )
    state.add_sightings(
        Observation(t[1], frozenset(), ((sighting(t[1], t[1]), Verdict.ORPHAN),)), keep
    )
    state.add_sightings(Observation(t[2], frozenset(), ((sighting(t[2]), Verdict.UNKNOWN),)), keep)
    (lease,) = state.lease_sightings()
    assert (lease.first_seen, lease.last_seen, lease.orphaned_at) == (t[0], t[2], t[1])
    state.add_sightings(
        Observation(t[3], frozenset({MAC}), ((sighting(t[3]), Verdict.LIVE),)), keep
    )
    (lease,) = state.lease_sightings()
    assert lease.orphaned_at is None
    (vm,) = state.vm_sightings()
    assert (vm.first_seen, vm.last_seen) == (t[0], t[3])
    state.add_sightings(Observation(t[3] + keep + timedelta(seconds=1), frozenset(), ()), keep)
    assert state.vm_sightings() == [] and state.lease_sightings() == []


def test_a_gone_vm_gets_its_last_sighting_and_time_never_goes_back() -> None:
    """A VM recorded at t0, then seen unrecorded until t2 (the daemon's memory), then gone:
    its last_seen becomes t2; an older last sighting written later changes nothing."""
    state = State.memory()
    keep = timedelta(days=30)
    t = [NOW + timedelta(minutes=10 * i) for i in range(4)]
    state.add_sightings(Observation(t[0], frozenset({MAC}), ()), keep)
    state.add_sightings(Observation(t[3], frozenset(), (), ((MAC, t[2]),)), keep)
    (vm,) = state.vm_sightings()
    assert (vm.first_seen, vm.last_seen) == (t[0], t[2])
    state.add_sightings(Observation(t[3], frozenset(), (), ((MAC, t[1]),)), keep)
    (vm,) = state.vm_sightings()
    assert vm.last_seen == t[2]
