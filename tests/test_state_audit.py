"""The audit is written ahead, a scan is recorded in one transaction, and a damaged state
file is one line naming it."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from leasewatch.config import ReaperConfig
from leasewatch.core.analysis import analyse
from leasewatch.errors import StateError
from leasewatch.model import (
    BindingState,
    InventorySnapshot,
    Lease,
    LeaseList,
    Outcome,
    Range,
    Reason,
    Release,
    ServerSnapshot,
)
from leasewatch.reaper.execute import execute
from leasewatch.reaper.interface import ReleaseBackend
from leasewatch.reaper.plan import plan
from leasewatch.sightings import Observation
from leasewatch.state import UNFINISHED, State
from tests.cli_helpers import isc_fixture_config, run

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
POOL = Range(
    IPv4Address("198.18.1.10"), IPv4Address("198.18.1.99"), IPv4Network("198.18.1.0/24"), "lab"
)


class Crash(BaseException):
    """What a kill between the server's answer and the audit's completion looks like."""


class CrashAfterSecond(ReleaseBackend):
    """Releases the first lease, and dies while releasing the second."""

    def __init__(self) -> None:
        self.calls = 0

    def release(self, lease: Lease) -> tuple[Outcome, str]:
        self.calls += 1
        if self.calls == 2:
            raise Crash
        return Outcome.RELEASED, "ends set to now"


def orphan_plan() -> tuple[Release, ...]:
    """Three orphans past grace, and a plan releasing them all."""
    leases = [
        Lease(
            IPv4Address(f"198.18.1.{10 + i}"),
            BindingState.ACTIVE,
            mac=f"52:54:00:00:00:{i:02x}",
            starts=NOW - timedelta(days=1),
            server="a",
        )
        for i in range(3)
    ]
    snap = ServerSnapshot(server="a", kind="isc", ranges=(POOL,), leases=LeaseList(leases))
    hv = InventorySnapshot("hv", "file", frozenset({"52:54:00:00:01:01"}))
    since = {lease.mac or "": NOW - timedelta(hours=1) for lease in leases}
    analysis = analyse([snap], [hv], now=NOW, first_missing=since)
    return plan(analysis, ReaperConfig(grace=timedelta(minutes=30)), NOW, ["a"])


def test_a_crash_between_release_and_completion_leaves_the_attempt(tmp_path: Path) -> None:
    """Every release is committed as attempting before the first server call; a run killed
    in the middle leaves the finished one completed and the interrupted ones unfinished,
    as another connection (the next ``leasewatch audit``) reads them."""
    path = tmp_path / "state.db"
    state = State.open(path)
    releases = orphan_plan()
    with pytest.raises(Crash):
        execute(releases, {"a": CrashAfterSecond()}, apply=True, clock=lambda: NOW, journal=state)
    state.close()
    reader = State.open(path)
    try:
        records = reader.audit()
    finally:
        reader.close()
    assert [(str(r.ip), r.outcome) for r in records] == [
        ("198.18.1.10", Outcome.RELEASED),
        ("198.18.1.11", Outcome.ATTEMPTING),
        ("198.18.1.12", Outcome.ATTEMPTING),
    ]
    assert [r.detail for r in records] == ["ends set to now", UNFINISHED, UNFINISHED]
    assert {r.code for r in records} == {Reason.RELEASE_ORPHAN}


def test_audit_command_shows_an_unfinished_attempt(tmp_path: Path) -> None:
    """``leasewatch audit`` (table and JSON) says an attempt never completed."""
    config = isc_fixture_config(tmp_path, "")
    state = State.open(tmp_path / "state.db")
    with pytest.raises(Crash):
        backends = {"a": CrashAfterSecond()}
        execute(orphan_plan(), backends, apply=True, clock=lambda: NOW, journal=state)
    state.close()
    table = run("-c", str(config), "audit")
    assert table.status == 0, table.err
    assert "attempting" in table.out and "unfinished" in table.out
    doc = json.loads(run("-c", str(config), "audit", "--format", "json").out)
    assert [(r["outcome"], r["reason_code"]) for r in doc][1:] == [
        ("attempting", "release-orphan"),
        ("attempting", "release-orphan"),
    ]
    assert doc[1]["detail"] == UNFINISHED


def test_missing_table_or_column_is_one_line(tmp_path: Path) -> None:
    """A state file that lost a table or a column: one error line naming the file and what
    to do, from the library and from the CLI (no traceback)."""
    path = tmp_path / "state.db"
    State.open(path).close()
    db = sqlite3.connect(path)
    db.execute("DROP TABLE history")
    db.commit()
    db.close()
    with pytest.raises(StateError, match=r"no table 'history'.*move the file aside"):
        State.open(path)
    config = isc_fixture_config(tmp_path, "")
    result = run("-c", str(config), "audit")
    assert result.status == 1
    assert result.err.startswith(f"leasewatch: error: {path}: state file has no table 'history'")
    assert result.err.count("\n") == 1 and "Traceback" not in result.err

    other = tmp_path / "other.db"
    State.open(other).close()
    db = sqlite3.connect(other)
    db.execute("ALTER TABLE audit DROP COLUMN detail")
    db.commit()
    db.close()
    with pytest.raises(StateError, match=f"{other}: state table 'audit' has no column 'detail'"):
        State.open(other)


def test_a_scan_is_recorded_in_one_transaction(tmp_path: Path) -> None:
    """``record_scan`` writes missing times, inventory sizes, history and sightings at once:
    a failure in its last write leaves none of them."""
    state = State.open(tmp_path / "state.db")
    try:
        state.db.execute("CREATE TRIGGER no_sightings BEFORE INSERT ON vm_sightings "
                         "BEGIN SELECT RAISE(ABORT, 'disk says no'); END")  # fmt: skip
        snap = ServerSnapshot(server="a", kind="isc", ranges=(POOL,))
        hv = InventorySnapshot("hv", "file", frozenset({"52:54:00:00:01:01"}))
        analysis = analyse([snap], [hv], now=NOW)
        with pytest.raises(StateError, match="disk says no"):
            state.record_scan(
                analysis,
                (),
                missing={"52:54:00:00:00:01": NOW},
                observation=Observation(NOW, frozenset({"52:54:00:00:01:01"}), ()),
                keep=timedelta(days=30),
            )
        assert state.first_missing() == {}
        assert state.inventory_sizes() == {}
        assert state.history() == []
    finally:
        state.close()
