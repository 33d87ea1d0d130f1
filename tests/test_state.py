"""Tests for the SQLite state file: migrations, grace clocks, audit, history retention."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from leasewatch.errors import StateError
from leasewatch.model import Analysis, AuditRecord, Level, NetworkUsage, Outcome
from leasewatch.state import State
from leasewatch.state_schema import MIGRATIONS

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_fresh_file_is_migrated_and_reopens(tmp_path: Path) -> None:
    """A new state file gets the latest schema; reopening keeps the data."""
    path = tmp_path / "sub" / "state.db"
    state = State.open(path)
    assert state.version == len(MIGRATIONS)
    state.save_missing({"52:54:00:00:00:01": NOW})
    state.close()
    state = State.open(path)
    assert state.first_missing() == {"52:54:00:00:00:01": NOW}
    state.close()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    """A state file from a newer leasewatch is not misread."""
    path = tmp_path / "state.db"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    db.close()
    with pytest.raises(StateError, match="newer than this leasewatch understands"):
        State.open(path)


def test_audit_round_trip_and_retention() -> None:
    """Audit records come back as written; history older than keep is dropped."""
    state = State.memory()
    record = AuditRecord(
        NOW,
        "dhcp1",
        IPv4Address("198.18.1.202"),
        "52:54:00:00:00:01",
        "vm1",
        "MAC not seen by hv",
        Outcome.RELEASED,
        "ends set to now",
    )
    state.add_audit([record])
    assert state.audit() == [record]
    net = NetworkUsage("dhcp1", "lab", 21, 5, 0, 0, Level.OK)
    state.add_history(
        Analysis(now=NOW - timedelta(days=40), networks=(net,)), [], timedelta(days=30)
    )
    state.add_history(Analysis(now=NOW, networks=(net,)), [record], timedelta(days=30))
    rows = state.history()
    assert [r.at for r in rows] == [NOW]
    assert state.audit(since=NOW - timedelta(days=1)) == [record]


def test_a_state_file_held_by_another_process_is_one_clear_line(tmp_path: Path) -> None:
    """A writer that cannot get the file within its busy timeout says the file is busy and
    who may hold it, by SQLite's error code (the default wait is a minute)."""
    path = tmp_path / "state.db"
    State.open(path).close()
    other = sqlite3.connect(path)
    other.execute("BEGIN IMMEDIATE")
    try:
        state = State.open(path, busy_timeout=0.05)
        with pytest.raises(StateError) as raised, state.transaction():
            pass
        state.close()
    finally:
        other.rollback()
        other.close()
    assert "state file busy: another leasewatch held it" in str(raised.value)
    assert str(path) in str(raised.value)
