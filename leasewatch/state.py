"""The SQLite state file: what one scan leaves for the next.

- ``missing``: since when each MAC has been missing (the reaper's grace);
- ``inventory_sizes``: each source's VM count at its last healthy scan (``max_shrink``);
- ``alert_memory``: the last level seen and notified per network or source;
- ``audit``: every release and refusal, written ahead (``begin`` before the server is
  asked, ``finish`` after);
- ``history``: per scan, per server and network: size, active, free, orphans, releases;
- sightings (``leasewatch.sightings``): VM lifetimes and lease ends, for ``advise``.

A scan's conclusions are recorded in one transaction (``record_scan``); the audit's
write-ahead records are the only write before the releases.

The schema carries a version and a list of migrations applied in order
(``leasewatch.state_schema``), so an upgrade never loses or misreads old state. Times are
stored as ISO 8601 UTC text.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence, Set
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from itertools import chain
from pathlib import Path
from typing import Any

from leasewatch.errors import StateError
from leasewatch.macset import MacSet
from leasewatch.model import (
    Analysis,
    AuditRecord,
    Finding,
    InventorySnapshot,
    Outcome,
    Reason,
    Verdict,
    usage_name,
)
from leasewatch.sightings import LeaseSighting, Observation, SightingMemory, VmSighting
from leasewatch.state_schema import MIGRATIONS, expected_schema

# The sighting memory's blobs (megabytes) go in and out a piece at a time: written or read
# whole, SQLite and Python each held a copy, 12 MB of a cron scan's peak (bench/).
_BLOB_CHUNK = 1 << 20

UNFINISHED = "unfinished: no outcome was recorded after the attempt (the run stopped)"


def _split(count: int | None) -> tuple[int | None, str | None]:
    """A count as (INTEGER column, TEXT column): text only beyond SQLite's 64-bit INTEGER."""
    return (count, None) if count is None or count < 2**63 else (-1, str(count))


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="seconds")


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _maybe_iso(t: datetime | None) -> str | None:
    return _iso(t) if t is not None else None


def _maybe_time(text: str | None) -> datetime | None:
    return _time(text) if text is not None else None


def _in_order(macs: Set[str]) -> Iterable[str]:
    """MACs sorted (a MacSet iterates in order, without a list of half a million strings)."""
    return macs if isinstance(macs, MacSet) else sorted(macs)


def _reason(code: str | None) -> Reason | None:
    """A stored reason code; one this version does not know (a newer leasewatch wrote it)
    reads as None, and the record's words still say why."""
    try:
        return None if code is None else Reason(code)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One network's counts at one scan."""

    at: datetime
    server: str
    network: str
    size: int
    active: int
    orphans: int
    releases: int
    free: int | None = None  # None: recorded before schema 5


BUSY_TIMEOUT = 60.0  # seconds


def _state_error(exc: sqlite3.Error, doing: str = "state file error") -> str:
    """SQLite's error in a user's words; a busy file (by its error code, extended codes
    included) says who to look for."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None and code & 0xFF == sqlite3.SQLITE_BUSY:
        return (
            f"state file busy: another leasewatch held it for over {BUSY_TIMEOUT:.0f} s "
            "(a scan, the daemon or mac take); try again"
        )
    return f"{doing}: {exc}"


class State:
    """An open state file. Use ``State.open(path)``; ``close()`` when done."""

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self.db = db
        self.path = path
        self._depth = 0  # open transactions: writes inside ``record_scan`` share its one

    @classmethod
    def open(cls, path: Path, *, busy_timeout: float = BUSY_TIMEOUT) -> State:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # How long a writer waits for another process's transaction (SQLite's busy
            # timeout). 10 s was too short once: twenty parallel `mac take` on a machine
            # loaded by a test run, and one failed with "database is locked". A command that
            # waits a minute for the state file is better than one that fails.
            db = sqlite3.connect(path, timeout=busy_timeout)
            db.execute("PRAGMA journal_mode=WAL")
            state = cls(db, path)
            state._migrate()
            state._check_schema()
        except sqlite3.Error as exc:
            raise StateError(f"{path}: {_state_error(exc, 'cannot open state file')}") from None
        except OSError as exc:
            raise StateError(f"{path}: cannot create state directory: {exc.strerror}") from None
        return state

    @classmethod
    def memory(cls) -> State:
        """A throwaway state (for ``report`` without a state file, and tests)."""
        state = cls(sqlite3.connect(":memory:"), Path(":memory:"))
        state._migrate()
        return state

    def close(self) -> None:
        self.db.close()

    @property
    def version(self) -> int:
        row = self.db.execute("PRAGMA user_version").fetchone()
        return int(row[0])

    def _migrate(self) -> None:
        current = self.version
        if current > len(MIGRATIONS):
            raise StateError(
                f"{self.path}: state schema version {current} is newer than this leasewatch "
                f"understands ({len(MIGRATIONS)}); upgrade leasewatch"
            )
        for number, script in enumerate(MIGRATIONS[current:], start=current + 1):
            with self._transaction():
                # another process may have migrated while this one waited for the lock
                # (twenty parallel `mac take` on a new state file): re-read under it
                if self.version >= number:
                    continue
                for statement in script.split(";"):
                    if statement.strip():
                        self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {number}")

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        """``BEGIN IMMEDIATE`` .. ``COMMIT``: one writer at a time across processes
        (``mac take``: twenty parallel callers get twenty distinct MACs)."""
        return self._transaction()

    def _check_schema(self) -> None:
        """Every table and column the migrations make is there (a hand-edited or damaged
        file otherwise fails later, mid-scan, with SQLite's words)."""
        for table, columns in expected_schema().items():
            found = {row[1] for row in self.db.execute(f"PRAGMA table_info({table})")}
            if not found:
                raise StateError(
                    f"{self.path}: state file has no table {table!r} (schema version "
                    f"{self.version}): move the file aside and leasewatch starts a new one"
                )
            lacking = sorted(columns - found)
            if lacking:
                raise StateError(
                    f"{self.path}: state table {table!r} has no column {lacking[0]!r} (schema "
                    f"version {self.version}): move the file aside and leasewatch starts a new one"
                )

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        if self._depth:  # inside record_scan: one transaction for all
            yield
            return
        self._depth += 1
        try:
            self.db.execute("BEGIN IMMEDIATE")
            yield
            self.db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise StateError(f"{self.path}: {_state_error(exc)}") from None
        except BaseException:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise
        finally:
            self._depth -= 1

    # --- one scan, recorded at once ------------------------------------------------------
    def record_scan(
        self,
        analysis: Analysis,
        records: Sequence[AuditRecord],
        *,
        missing: Mapping[str, datetime],
        observation: Observation,
        keep: timedelta,
        sighted: SightingMemory | None = None,
    ) -> None:
        """What one scan saw, judged and did, in one transaction (the releases' audit was
        written ahead by the executor), and the memory of it the next scan compares with."""
        with self._transaction():
            self.save_missing(missing)
            self.save_inventory_sizes(analysis.inventories, analysis.now)
            self.add_history(analysis, records, keep)
            self.add_sightings(observation, keep)
            if sighted is not None:
                self.save_sighting_memory(sighted)

    # --- grace: first-missing times -------------------------------------------------
    def first_missing(self) -> dict[str, datetime]:
        rows = self.db.execute("SELECT mac, since FROM missing").fetchall()
        return {mac: _time(since) for mac, since in rows}

    def save_missing(self, missing: Mapping[str, datetime]) -> None:
        with self._transaction():
            self.db.execute("DELETE FROM missing")
            self.db.executemany(
                "INSERT INTO missing (mac, since) VALUES (?, ?)",
                [(mac, _iso(since)) for mac, since in missing.items()],
            )

    # --- max_shrink: last healthy inventory sizes -------------------------------------
    def inventory_sizes(self) -> dict[str, int]:
        rows = self.db.execute("SELECT source, count FROM inventory_sizes").fetchall()
        return {source: int(count) for source, count in rows}

    def save_inventory_sizes(self, inventories: Iterable[InventorySnapshot], now: datetime) -> None:
        with self._transaction():
            self.db.executemany(
                "INSERT INTO inventory_sizes (source, count, at) VALUES (?, ?, ?) "
                "ON CONFLICT(source) DO UPDATE SET count = excluded.count, at = excluded.at",
                [(i.source, len(i.macs), _iso(now)) for i in inventories if i.healthy],
            )

    # --- alerts ------------------------------------------------------------------------
    def alert_memory(self) -> dict[str, dict[str, Any]]:
        rows = self.db.execute("SELECT key, data FROM alert_memory").fetchall()
        return {key: json.loads(data) for key, data in rows}

    def save_alert_memory(self, memory: Mapping[str, Mapping[str, Any]]) -> None:
        with self._transaction():
            self.db.execute("DELETE FROM alert_memory")
            self.db.executemany(
                "INSERT INTO alert_memory (key, data) VALUES (?, ?)",
                [(key, json.dumps(data, sort_keys=True)) for key, data in memory.items()],
            )

    # --- audit -------------------------------------------------------------------------
    def add_audit(self, records: Iterable[AuditRecord]) -> None:
        self.begin(list(records))

    def begin(self, records: Sequence[AuditRecord]) -> list[int]:
        """Commit records (a release's as ``attempting``) before any server is asked; return
        each one's key for ``finish``."""
        keys = []
        with self._transaction():
            for r in records:
                cursor = self.db.execute(
                    "INSERT INTO audit (at, server, ip, mac, hostname, reason, outcome, detail, "
                    "reason_code) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        _iso(r.at),
                        r.server,
                        str(r.ip),
                        r.mac,
                        r.hostname,
                        r.reason,
                        r.outcome.value,
                        r.detail,
                        r.code.value if r.code is not None else None,
                    ),
                )
                assert cursor.lastrowid is not None
                keys.append(cursor.lastrowid)
        return keys

    def finish(self, key: int, record: AuditRecord) -> None:
        """Complete the record ``begin`` wrote with what the server answered."""
        with self._transaction():
            self.db.execute(
                "UPDATE audit SET at = ?, outcome = ?, detail = ? WHERE id = ?",
                (_iso(record.at), record.outcome.value, record.detail, key),
            )

    def audit(self, since: datetime | None = None, limit: int | None = None) -> list[AuditRecord]:
        """Records oldest first; an attempt never completed says so in its detail."""
        query = (
            "SELECT at, server, ip, mac, hostname, reason, outcome, detail, reason_code FROM audit"
        )
        args: list[Any] = []
        if since is not None:
            query += " WHERE at >= ?"
            args.append(_iso(since))
        query += " ORDER BY id DESC"
        if limit is not None:
            query += " LIMIT ?"
            args.append(limit)
        rows = self.db.execute(query, args).fetchall()
        return [
            AuditRecord(
                at=_time(at),
                server=server,
                ip=ip_address(ip),
                mac=mac,
                hostname=hostname,
                reason=reason,
                outcome=Outcome(outcome),
                detail=detail or (UNFINISHED if outcome == Outcome.ATTEMPTING else ""),
                code=_reason(code),
            )
            for at, server, ip, mac, hostname, reason, outcome, detail, code in reversed(rows)
        ]

    # --- history -------------------------------------------------------------------------
    def add_history(
        self, analysis: Analysis, records: Sequence[AuditRecord], keep: timedelta
    ) -> None:
        released: dict[tuple[str, str | None], int] = {}
        network_of = {(f.lease.server, f.lease.ip): _counted(f) for f in analysis.orphans}
        for r in records:
            if r.outcome is Outcome.RELEASED:
                key = (r.server, network_of.get((r.server, r.ip)))
                released[key] = released.get(key, 0) + 1
        orphans: dict[tuple[str, str | None], int] = {}
        for f in analysis.orphans:
            key = (f.lease.server, _counted(f))
            orphans[key] = orphans.get(key, 0) + 1
        rows = [
            (
                _iso(analysis.now),
                n.server,
                n.name,
                *_split(n.size),
                n.active,
                orphans.get((n.server, n.name), 0),
                released.get((n.server, n.name), 0),
                *_split(n.free),
            )
            for n in analysis.networks
        ]
        with self._transaction():
            self.db.executemany(
                "INSERT INTO history (at, server, network, size, size_text, active, orphans, "
                "releases, free, free_text) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            self.db.execute("DELETE FROM history WHERE at < ?", (_iso(analysis.now - keep),))
            self.db.execute("DELETE FROM audit WHERE at < ?", (_iso(analysis.now - keep),))

    def history(self, since: datetime | None = None) -> list[HistoryRow]:
        # text where the count outgrew SQLite's INTEGER (migration 7), else the number
        query = (
            "SELECT at, server, network, COALESCE(size_text, size), active, orphans, releases, "
            "COALESCE(free_text, free) FROM history"
        )
        args: list[Any] = []
        if since is not None:
            query += " WHERE at >= ?"
            args.append(_iso(since))
        query += " ORDER BY at, server, network"
        return [
            HistoryRow(_time(at), server, network, int(size), active, orphans, releases,
                       None if free is None else int(free))
            for at, server, network, size, active, orphans, releases, free in self.db.execute(
                query, args
            )
        ]  # fmt: skip

    def tracking_since(self) -> datetime | None:
        """The oldest scan still on record (VMs first seen then were born earlier)."""
        row = self.db.execute("SELECT MIN(at) FROM history").fetchone()
        return _time(row[0]) if row and row[0] is not None else None

    # --- sightings (schema 2): VM lifetimes and lease ends, for ``advise`` and ``why`` ----
    def add_sightings(self, seen: Observation, keep: timedelta) -> None:
        """Fold one scan's observation in; forget what was last seen longer than keep ago.

        A lease judged live clears its orphan time, an orphan takes the analysis' missing
        time, and a lease that could not be judged keeps what it had.
        """
        at = _iso(seen.at)
        with self._transaction():
            self.db.executemany(
                "INSERT INTO vm_sightings (mac, first_seen, last_seen) VALUES (?, ?, ?) "
                "ON CONFLICT(mac) DO UPDATE SET "
                "last_seen = max(vm_sightings.last_seen, excluded.last_seen)",
                chain(  # generators: a first scan may record half a million VMs
                    ((mac, at, at) for mac in _in_order(seen.vms)),
                    ((mac, _iso(last), _iso(last)) for mac, last in seen.vms_last_seen),
                ),
            )
            self.db.executemany(
                "INSERT INTO lease_sightings (server, ip, mac, network, starts, ends, "
                "first_seen, last_seen, orphaned_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(server, ip, mac) DO UPDATE SET network = excluded.network, "
                "starts = excluded.starts, ends = excluded.ends, "
                "last_seen = excluded.last_seen, orphaned_at = "
                "CASE WHEN ? THEN lease_sightings.orphaned_at ELSE excluded.orphaned_at END",
                (  # a generator: a first scan may record half a million leases
                    (
                        s.server,
                        str(s.ip),
                        s.mac,
                        s.network,
                        _maybe_iso(s.starts),
                        _maybe_iso(s.ends),
                        at,
                        at,
                        _maybe_iso(s.orphaned_at),
                        verdict is Verdict.UNKNOWN,
                    )
                    for s, verdict in seen.leases
                ),
            )
            cutoff = _iso(seen.at - keep)
            self.db.execute("DELETE FROM vm_sightings WHERE last_seen < ?", (cutoff,))
            self.db.execute("DELETE FROM lease_sightings WHERE last_seen < ?", (cutoff,))

    def sighting_memory(self) -> SightingMemory:
        """What the last recorded scan saw (``save_sighting_memory``); empty when none was
        kept or it cannot be read back, which only makes the next scan record everything."""
        rows = self.db.execute(
            "SELECT rowid, kind, name, length(data) FROM sighting_memory"
        ).fetchall()
        at: datetime | None = None
        vms = array("Q")
        leases: dict[str, array[int]] = {}
        try:
            for rowid, kind, name, size in rows:
                if kind == "at":
                    at = _time(name)
                elif kind in ("vms", "leases"):
                    numbers = vms if kind == "vms" else leases.setdefault(name, array("q"))
                    if size % numbers.itemsize:
                        raise ValueError("not a whole number of digests")
                    with self.db.blobopen("sighting_memory", "data", rowid, readonly=True) as b:
                        while chunk := b.read(_BLOB_CHUNK):
                            numbers.frombytes(chunk)
        except (ValueError, TypeError, sqlite3.Error):  # written by another build, damaged
            return SightingMemory()
        if at is None:
            return SightingMemory()
        return SightingMemory(at, leases, vms)

    def save_sighting_memory(self, memory: SightingMemory) -> None:
        with self._transaction():
            self.db.execute("DELETE FROM sighting_memory")
            if memory.at is None:
                return
            self.db.execute(
                "INSERT INTO sighting_memory (kind, name, data) VALUES ('at', ?, x'')",
                (_iso(memory.at),),
            )
            for kind, name, numbers in [
                ("vms", "", memory.vms),
                *(("leases", server, d) for server, d in memory.leases.items()),
            ]:
                data = memoryview(numbers).cast("B")
                row = self.db.execute(
                    "INSERT INTO sighting_memory (kind, name, data) VALUES (?, ?, zeroblob(?))",
                    (kind, name, len(data)),
                ).lastrowid
                assert row is not None
                with self.db.blobopen("sighting_memory", "data", row) as blob:
                    for start in range(0, len(data), _BLOB_CHUNK):
                        blob.write(data[start : start + _BLOB_CHUNK])

    def vm_sightings(self) -> list[VmSighting]:
        rows = self.db.execute(
            "SELECT mac, first_seen, last_seen FROM vm_sightings ORDER BY mac"
        ).fetchall()
        return [VmSighting(mac, _time(first), _time(last)) for mac, first, last in rows]

    def lease_sightings(self, since: datetime | None = None) -> list[LeaseSighting]:
        """Leases last seen at or after ``since`` (all of them by default)."""
        query = (
            "SELECT server, ip, mac, network, starts, ends, first_seen, last_seen, orphaned_at "
            "FROM lease_sightings"
        )
        args: list[Any] = []
        if since is not None:
            query += " WHERE last_seen >= ?"
            args.append(_iso(since))
        query += " ORDER BY server, first_seen, ip"
        return [
            LeaseSighting(
                server=server,
                ip=ip_address(ip),
                mac=mac,
                network=network,
                starts=_maybe_time(starts),
                ends=_maybe_time(ends),
                first_seen=_time(first),
                last_seen=_time(last),
                orphaned_at=_maybe_time(orphaned),
            )
            for server, ip, mac, network, starts, ends, first, last, orphaned in self.db.execute(
                query, args
            )
        ]


def _counted(f: Finding) -> str | None:
    """The network a finding's lease is counted under (a delegated prefix: ``<network>
    prefixes``), so that its history row holds it."""
    return None if f.network is None else usage_name(f.network, f.lease.kind)
