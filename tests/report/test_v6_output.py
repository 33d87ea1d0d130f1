"""IPv6 figures in every output: humane in the table, exact in JSON, CSV and the history."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from ipaddress import IPv6Address, IPv6Network
from pathlib import Path

import pytest

from leasewatch.config import Config, ServerConfig
from leasewatch.core.analysis import analyse
from leasewatch.metrics import ScanMetrics, registry_for
from leasewatch.model import (
    Analysis,
    BindingState,
    InventorySnapshot,
    Lease,
    LeaseList,
    PoolKind,
    Range,
    ServerSnapshot,
    figure,
)
from leasewatch.report import csv as csv_format
from leasewatch.report import json as json_format
from leasewatch.scan import ScanResult
from leasewatch.state import State

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SUBNET = IPv6Network("2001:db8:1::/64")
PD_NET = IPv6Network("2001:db8:8000::/48")
DUID = "00:03:00:01:52:54:00:00:00:0b"


def analysis() -> Analysis:
    """A /64 address pool with one orphan and a /48 PD pool delegating /64 with one prefix."""
    leases = (
        Lease(
            IPv6Address("2001:db8:1::10"),
            BindingState.ACTIVE,
            mac="52:54:00:00:00:0b",
            ends=NOW + timedelta(hours=1),
            duid=DUID,
            iaid=7,
        ),
        Lease(
            PD_NET[0],
            BindingState.ACTIVE,
            mac="52:54:00:00:00:0a",
            ends=NOW + timedelta(hours=1),
            kind=PoolKind.PREFIX,
            prefix_len=64,
            duid=DUID,
            iaid=8,
        ),
    )
    ranges = (
        Range(SUBNET[0], SUBNET[-1], SUBNET, str(SUBNET)),
        Range(PD_NET[0], PD_NET[-1], SUBNET, str(SUBNET), PoolKind.PREFIX, 64),
    )
    server = ServerSnapshot("kea6", "kea", ranges=ranges, leases=LeaseList(leases))
    hv = InventorySnapshot("hv", "command", macs=frozenset({"52:54:00:00:00:0a"}))
    return analyse([server], [hv], now=NOW)


@pytest.mark.parametrize(
    ("count", "shown"),
    [
        (21, "21"),
        (2**32, "4294967296"),  # every IPv4 figure stays exact
        (2**64, "2^64"),
        (2**64 - 1, "1.8e19"),
        (2**64 + 2**16, "1.8e19"),
        (2**16, "65536"),
    ],
)
def test_the_table_shows_humane_figures(count: int, shown: str) -> None:
    """Up to ten digits exact; beyond, a power of two as 2^n and anything else as 1.8e19."""
    assert figure(count) == shown


def test_json_carries_exact_integers_and_v6_lease_fields() -> None:
    """Sizes beyond 2**53 are written as exact JSON numbers; leases name DUID, IAID, kind."""
    text = json.dumps(json_format.document(analysis()))
    assert '"size": 18446744073709551616' in text
    doc = json.loads(text)
    pools = {p["kind"]: p for p in doc["pools"]}
    assert pools["address"]["free"] == 2**64 - 1
    assert (pools["prefix"]["size"], pools["prefix"]["delegated_len"]) == (2**16, 64)
    assert [n["name"] for n in doc["networks"]] == ["2001:db8:1::/64", "2001:db8:1::/64 prefixes"]
    (orphan,) = doc["orphans"]
    assert (orphan["ip"], orphan["duid"], orphan["iaid"], orphan["mac_source"]) == (
        "2001:db8:1::10",
        DUID,
        7,
        "hardware",
    )


def test_csv_has_exact_sizes_and_the_pool_kind() -> None:
    """The pool rows carry the exact size, the kind and the delegated length."""
    out = io.StringIO()
    csv_format.render(analysis(), out)
    pools_text, _orphans = out.getvalue().split("\n\n", 1)
    rows = list(csv.DictReader(io.StringIO(pools_text)))
    assert [(r["size"], r["kind"], r["delegated_len"]) for r in rows] == [
        (str(2**64), "address", ""),
        (str(2**16), "prefix", "64"),
    ]


def test_history_keeps_sizes_beyond_sqlite_integers() -> None:
    """A /64's 2**64 goes through SQLite (whose INTEGER stops at 2**63 - 1) exactly."""
    state = State.memory()
    state.add_history(analysis(), (), keep=timedelta(days=1))
    rows = {r.network: r for r in state.history()}
    assert (rows["2001:db8:1::/64"].size, rows["2001:db8:1::/64"].free) == (2**64, 2**64 - 1)
    prefixes = rows["2001:db8:1::/64 prefixes"]
    assert (prefixes.size, prefixes.active, prefixes.free) == (2**16, 1, 2**16 - 1)
    assert rows["2001:db8:1::/64"].orphans == 1 and prefixes.orphans == 0


def test_metrics_carry_v6_sizes_as_floats() -> None:
    """The gauges hold a /64's size as the float nearest 2**64 (their HELP says so)."""
    config = Config(path=Path("t.toml"), servers=(ServerConfig("kea6", "kea", leases=Path("l")),))
    metrics = ScanMetrics(config, clock=lambda: 0.0)
    registry = registry_for(metrics)
    metrics.record(ScanResult(analysis(), records=(), applied=False), duration=0.1)
    pool = {"server": "kea6", "network": "2001:db8:1::/64", "range": analysis().pools[0].label}
    assert registry.get_sample_value("leasewatch_pool_size", pool) == float(2**64)
    prefixes = {"server": "kea6", "network": "2001:db8:1::/64 prefixes"}
    assert registry.get_sample_value("leasewatch_network_size", prefixes) == 2**16


def test_a_schema_6_state_file_keeps_its_history(tmp_path: Path) -> None:
    """Migration 7 adds the text columns; rows written before read as they were."""
    path = tmp_path / "state.db"
    State.open(path).close()
    db = sqlite3.connect(path)
    for column in ("size_text", "free_text"):
        db.execute(f"ALTER TABLE history DROP COLUMN {column}")
    db.execute(
        "INSERT INTO history (at, server, network, size, active, orphans, releases, free) "
        "VALUES ('2026-11-25T11:00:00+00:00', 'dhcp1', 'lab', 21, 20, 0, 0, 1)"
    )
    db.execute("PRAGMA user_version = 6")
    db.commit()
    db.close()
    state = State.open(path)
    try:
        state.add_history(analysis(), (), keep=timedelta(days=1))
        rows = {r.network: (r.size, r.free) for r in state.history()}
        assert state.version == 7
    finally:
        state.close()
    assert rows == {
        "lab": (21, 1),
        "2001:db8:1::/64": (2**64, 2**64 - 1),
        "2001:db8:1::/64 prefixes": (2**16, 2**16 - 1),
    }
