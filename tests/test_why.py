"""Tests for ``why`` and ``report``'s forecast against a real kea-dhcp4 (API only, no DHCP).

The lab Kea serves "lab-shared" (198.18.1.10-20 and 198.18.2.0/28: 27 addresses). Three
leases, granted an hour ago for two hours: A (live, listed by the inventory), X (missing
since 10 minutes, a refused release on record) and P (missing, protected by MAC).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from lab.kea import running_kea
from leasewatch.model import Analysis, AuditRecord, Level, NetworkUsage, Outcome
from leasewatch.state import State
from tests.cli_helpers import run

pytestmark = pytest.mark.lab  # a real kea-dhcp4 in every test

A, X, P = "52:54:00:00:01:0a", "52:54:00:00:01:0b", "52:54:00:00:01:0c"


@dataclass
class Setup:
    """The config file, and the fixed clock every run uses."""

    config: Path
    now: datetime


@pytest.fixture
def kea_setup() -> Iterator[Setup]:
    """A real Kea holding the three leases, a file inventory, a state file with history."""
    root = Path(tempfile.mkdtemp(prefix="lwwhy-"))  # short: a socket path fits 107 bytes
    try:
        with running_kea(root / "kea") as kea:
            now = datetime.now(UTC).replace(microsecond=0)
            expire = int((now + timedelta(hours=1)).timestamp())
            for ip, mac in (("198.18.1.10", A), ("198.18.1.11", X), ("198.18.1.12", P)):
                kea.add_lease(ip, mac, hostname=f"vm-{mac[-2:]}", **{"valid-lft": 7200,
                              "expire": expire})  # fmt: skip
            (root / "macs").write_text(f"{A}\n")
            state = State.open(root / "state.db")
            state.save_missing({X: now - timedelta(minutes=10), P: now - timedelta(hours=2)})
            state.add_audit([
                AuditRecord(now - timedelta(minutes=5), "kea1", IPv4Address("198.18.1.11"), X,
                            "vm-0b", "leasewatch release", Outcome.REFUSED, "the VM still exists"),
            ])  # fmt: skip
            for hours in (3, 2, 1):  # 0, 1, 2 active an hour apart; the report adds 3 now
                net = NetworkUsage("kea1", "lab-shared", 27, 3 - hours, 0, 0, Level.OK)
                state.add_history(Analysis(now - timedelta(hours=hours), networks=(net,)), [],
                                  timedelta(days=30))  # fmt: skip
            state.close()
            config = root / "leasewatch.toml"
            config.write_text(
                f'[[servers]]\nname = "kea1"\nkind = "kea"\ncontrol_socket = "{kea.socket_path}"\n'
                f'[[inventory]]\nname = "hv"\nkind = "file"\npath = "{root / "macs"}"\n'
                f'[reaper]\ngrace = "30m"\nprotect = ["{P}"]\n'
                f'[state]\npath = "{root / "state.db"}"\n'
            )
            yield Setup(config, now)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_why_an_orphan_in_grace(kea_setup: Setup) -> None:
    """X: orphan, missing 10 min of a 30 min grace, 20 min left; the refusal on record."""
    result = run("-c", str(kea_setup.config), "why", "198.18.1.11", now=kea_setup.now)
    assert result.status == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == f"198.18.1.11 {X} vm-0b on kea1, network lab-shared"
    assert lines[1] == "verdict: ORPHAN: MAC not seen by hv [orphan-not-seen]"
    assert "inventory hv: does not list the MAC (1 VMs)" in lines
    assert f"missing since {kea_setup.now - timedelta(minutes=10):%Y-%m-%d %H:%M:%S} (10m)" in lines
    assert "grace left: 20m" in lines
    assert "reaper: keep: missing for 10m, grace is 30m [keep-grace]" in lines
    assert any(
        line.startswith("last release attempt: ") and "refused (the VM still exists)" in line
        for line in lines
    )


def test_why_a_live_and_a_protected_lease(kea_setup: Setup) -> None:
    """A is live (listed by hv); P by MAC is an orphan past grace, kept by protection."""
    live = run("-c", str(kea_setup.config), "why", A.upper(), now=kea_setup.now)
    assert live.status == 0, live.err
    assert "verdict: LIVE: seen by hv [live-seen]" in live.out
    assert "inventory hv: lists the MAC (1 VMs)" in live.out
    assert "last release attempt: none on record" in live.out
    protected = run("-c", str(kea_setup.config), "why", P, now=kea_setup.now)
    assert protected.status == 0, protected.err
    assert "grace: over" in protected.out
    assert "protected: MAC listed in [reaper] protect" in protected.out
    assert "reaper: keep: protected MAC ([reaper] protect) [keep-protected-mac]" in protected.out


def test_why_nothing_or_nonsense(kea_setup: Setup) -> None:
    """An address with no active lease is exit 1; a word that is neither IP nor MAC exit 2."""
    none = run("-c", str(kea_setup.config), "why", "198.18.1.19", now=kea_setup.now)
    assert none.status == 1
    assert "no active lease for 198.18.1.19" in none.err
    assert run("-c", str(kea_setup.config), "why", "lab").status == 2


def test_report_shows_the_forecast(kea_setup: Setup) -> None:
    """History 0, 1, 2 and now 3 active an hour apart: +1/h, 24 free -> 24 h, medium (12.5 %)."""
    result = run("-c", str(kea_setup.config), "report", "--format", "json", now=kea_setup.now)
    assert result.status == 0, result.err
    doc = json.loads(result.out)
    shared = next(n for n in doc["networks"] if n["name"] == "lab-shared")
    assert shared["forecast"]["rate_per_hour"] == 1.0
    assert shared["forecast"]["full_in_seconds"] == 24 * 3600
    assert shared["forecast"]["confidence"] == "medium"
    lone = next(n for n in doc["networks"] if n["name"] != "lab-shared")
    assert lone["forecast"]["confidence"] == "none"
    table = run("-c", str(kea_setup.config), "report", now=kea_setup.now)
    assert "dry in" in table.out
    assert "24h" in next(x for x in table.out.splitlines() if "lab-shared" in x)


def test_scan_shows_the_forecast_once(kea_setup: Setup) -> None:
    """scan records this scan in the history, then forecasts from it: the same +1/h and 24 h
    as report (the scan counted once), in its JSON and in its table's "dry in" column."""
    result = run("-c", str(kea_setup.config), "scan", "--format", "json", now=kea_setup.now)
    assert result.status == 0, result.err
    shared = next(n for n in json.loads(result.out)["networks"] if n["name"] == "lab-shared")
    assert shared["forecast"]["rate_per_hour"] == 1.0
    assert shared["forecast"]["full_in_seconds"] == 24 * 3600
    table = run("-c", str(kea_setup.config), "scan", now=kea_setup.now)
    assert table.status == 0, table.err
    assert "24h" in next(x for x in table.out.splitlines() if "lab-shared" in x)
