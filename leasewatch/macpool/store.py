"""The taken MACs in the state file (table ``macpool_taken``, schema 3 in leasewatch.state).

Every change runs inside one ``BEGIN IMMEDIATE`` transaction: SQLite lets one writer in at
a time across processes, so the read of the taken MACs and the insert of the chosen one
cannot interleave with another caller's (twenty parallel ``mac take`` get twenty MACs).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime

from leasewatch.errors import StateError
from leasewatch.macpool.choose import Choice, Returns, Taken
from leasewatch.state import State

_COLUMNS = "mac, vm, taken_at, seen_at, missing_since"


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.astimezone(UTC).isoformat(timespec="seconds")


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _rows(state: State) -> list[Taken]:
    try:
        rows = state.db.execute(
            f"SELECT {_COLUMNS} FROM macpool_taken ORDER BY taken_at, mac"
        ).fetchall()
    except sqlite3.Error as exc:
        raise StateError(f"{state.path}: state file error: {exc}") from None
    return [
        Taken(mac, vm, taken, _time(seen), _time(missing))
        for mac, vm, taken_text, seen, missing in rows
        if (taken := _time(taken_text)) is not None
    ]


def taken(state: State) -> list[Taken]:
    """The MACs handed out and not returned, oldest first."""
    return _rows(state)


def returned(state: State) -> frozenset[str]:
    """MACs that came back to the pool (``give`` or a scan) and were not taken since."""
    try:
        rows = state.db.execute("SELECT mac FROM macpool_returned").fetchall()
    except sqlite3.Error as exc:
        raise StateError(f"{state.path}: state file error: {exc}") from None
    return frozenset(mac for (mac,) in rows)


def take(
    state: State, pick: Callable[[frozenset[str]], Choice | None], now: datetime
) -> Choice | None:
    """Record the MAC ``pick`` chooses, given the MACs others hold, in one transaction."""
    with state.transaction():
        choice = pick(frozenset(t.mac for t in _rows(state)))
        if choice is not None:
            state.db.execute(
                f"INSERT INTO macpool_taken ({_COLUMNS}) VALUES (?, ?, ?, NULL, NULL)",
                (choice.mac, choice.vm, _iso(now)),
            )
            state.db.execute("DELETE FROM macpool_returned WHERE mac = ?", (choice.mac,))
    return choice


def _returned(state: State, macs: list[str], now: datetime) -> None:
    state.db.executemany("DELETE FROM macpool_taken WHERE mac = ?", [(mac,) for mac in macs])
    state.db.executemany(
        "INSERT INTO macpool_returned (mac, at) VALUES (?, ?) "
        "ON CONFLICT(mac) DO UPDATE SET at = excluded.at",
        [(mac, _iso(now)) for mac in macs],
    )


def give(state: State, mac: str, now: datetime, *, in_pool: bool) -> Taken | None:
    """Return ``mac`` (when taken, or ``in_pool``); the row it had, or None when free."""
    with state.transaction():
        found = [t for t in _rows(state) if t.mac == mac]
        if found or in_pool:
            _returned(state, [mac], now)
    return found[0] if found else None


def settle(state: State, decide: Callable[[list[Taken]], Returns], now: datetime) -> Returns:
    """Apply one scan's ``Returns`` to the rows ``decide`` saw, in one transaction (a
    ``take`` or ``give`` running meanwhile waits, so no row is judged on stale data)."""
    with state.transaction():
        result = decide(_rows(state))
        db = state.db
        db.executemany(
            "UPDATE macpool_taken SET seen_at = ?, missing_since = NULL WHERE mac = ?",
            [(_iso(now), mac) for mac in sorted(result.seen)],
        )
        db.executemany(
            "UPDATE macpool_taken SET missing_since = ? WHERE mac = ?",
            [(_iso(since), mac) for mac, since in sorted(result.missing.items())],
        )
        _returned(state, [t.mac for t in result.returned], now)
    return result
