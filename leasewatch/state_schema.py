"""The state file's schema: the migrations, applied in order by ``leasewatch.state``
(``PRAGMA user_version`` counts those applied), and the tables and columns they make."""

from __future__ import annotations

import functools
import sqlite3

MIGRATIONS: tuple[str, ...] = (
    # 1: the first schema
    """
    CREATE TABLE missing (mac TEXT PRIMARY KEY, since TEXT NOT NULL);
    CREATE TABLE inventory_sizes (source TEXT PRIMARY KEY, count INTEGER NOT NULL,
                                  at TEXT NOT NULL);
    CREATE TABLE alert_memory (key TEXT PRIMARY KEY, data TEXT NOT NULL);
    CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL,
                        server TEXT NOT NULL, ip TEXT NOT NULL, mac TEXT, hostname TEXT,
                        reason TEXT NOT NULL, outcome TEXT NOT NULL, detail TEXT NOT NULL);
    CREATE INDEX audit_at ON audit (at);
    CREATE TABLE history (at TEXT NOT NULL, server TEXT NOT NULL, network TEXT NOT NULL,
                          size INTEGER NOT NULL, active INTEGER NOT NULL,
                          orphans INTEGER NOT NULL, releases INTEGER NOT NULL);
    CREATE INDEX history_at ON history (at);
    """,
    # 2: sightings, for churn and lease-time advice (leasewatch.core.advice)
    """
    CREATE TABLE vm_sightings (mac TEXT PRIMARY KEY, first_seen TEXT NOT NULL,
                               last_seen TEXT NOT NULL);
    CREATE INDEX vm_sightings_last ON vm_sightings (last_seen);
    CREATE TABLE lease_sightings (server TEXT NOT NULL, ip TEXT NOT NULL, mac TEXT NOT NULL,
                                  network TEXT, starts TEXT, ends TEXT,
                                  first_seen TEXT NOT NULL, last_seen TEXT NOT NULL,
                                  orphaned_at TEXT, PRIMARY KEY (server, ip, mac));
    CREATE INDEX lease_sightings_last ON lease_sightings (last_seen);
    """,
    # 3: the MAC pool (leasewatch.macpool.store): a row per taken MAC while taken, and
    # when each MAC last came back (no VM of ours holds it since)
    """
    CREATE TABLE macpool_taken (mac TEXT PRIMARY KEY, vm TEXT, taken_at TEXT NOT NULL,
                                seen_at TEXT, missing_since TEXT);
    CREATE TABLE macpool_returned (mac TEXT PRIMARY KEY, at TEXT NOT NULL);
    """,
    # 4: reasons as data (the words stay in ``reason``, as written)
    """
    ALTER TABLE audit ADD COLUMN reason_code TEXT;
    """,
    # 5: free addresses per scan, as the table counts them (backup and abandoned are not
    # free): the history's levels and forecasts agree with the table on failover pools
    """
    ALTER TABLE history ADD COLUMN free INTEGER;
    """,
    # 6: what the last scan saw, as digests (``leasewatch.sightings.SightingMemory``), so a
    # cron run records only the sightings that changed: ``kind`` 'at' (the scan's time as
    # ``name``), 'vms' or 'leases' (``name``: the server), ``data`` the numbers' bytes
    """
    CREATE TABLE sighting_memory (kind TEXT NOT NULL, name TEXT NOT NULL, data BLOB NOT NULL,
                                  PRIMARY KEY (kind, name));
    """,
    # 7: counts beyond SQLite's 64-bit INTEGER (an IPv6 /64 holds 2**64 addresses, and
    # SQLite turns a larger number into an inexact REAL): kept exact as decimal text, the
    # INTEGER column then holding -1 (``_split``)
    """
    ALTER TABLE history ADD COLUMN size_text TEXT;
    ALTER TABLE history ADD COLUMN free_text TEXT;
    """,
)


@functools.cache
def expected_schema() -> dict[str, frozenset[str]]:
    """The tables and columns the migrations make, read from a fresh in-memory file."""
    db = sqlite3.connect(":memory:")
    for script in MIGRATIONS:
        for statement in script.split(";"):
            if statement.strip():
                db.execute(statement)
    names = db.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
    schema = {
        name: frozenset(row[1] for row in db.execute(f"PRAGMA table_info({name})"))
        for (name,) in names
        if not name.startswith("sqlite_")
    }
    db.close()
    return schema
