"""End to end through the CLI on the ISC fixtures: failover pools in a shared network,
superseded blocks and a truncated tail give the right counts and the right orphans."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.cli_helpers import isc_fixture_config, run

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "isc"
NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
LIVE = ["52:54:00:00:00:0B", "52-54-00-00-01-03", "52:54:00:00:02:aa", "52:54:00:00:14:0a"]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A config over the fixtures with a file inventory listing four live VMs."""
    return isc_fixture_config(
        tmp_path, "# live VMs\n" + "\n".join(LIVE) + "\n", '\n[reaper]\ngrace = "0s"\n'
    )


def test_report_json_counts_and_orphans(config: Path) -> None:
    """Per-network counts, and orphans = active leases whose MAC the inventory lacks."""
    result = run("-c", str(config), "report", "--format", "json", now=NOW)
    assert result.status == 0, result.err
    doc = json.loads(result.out)
    networks = {n["name"]: (n["size"], n["active"], n["backup"]) for n in doc["networks"]}
    assert networks["campus"][1:] == (5, 2)
    assert networks["lab"][1:] == (2, 1)
    assert networks["198.18.20.0/26"][1:] == (2, 0)
    assert networks["198.18.30.0/24"][1:] == (1, 0)
    orphans = {o["ip"] for o in doc["orphans"]}
    # 198.18.1.100 belongs to a fixed host by MAC? no: it is a plain orphan unless reserved
    live_ips = {"198.18.0.11", "198.18.1.103", "198.18.2.10", "198.18.20.10"}
    assert not orphans & live_ips
    assert "198.18.0.13" in orphans and "198.18.30.5" in orphans
    assert [o["ip"] for o in doc["outside"]] == ["198.18.99.1"]
    assert any("cut short" in w for w in doc["warnings"])
    pools = {(p["first"], p["last"]): p for p in doc["pools"]}
    assert pools[("198.18.0.10", "198.18.0.19")]["active"] == 3
    # 3 active, 1 abandoned; the 1 backup is the failover peer's share of free
    assert pools[("198.18.0.10", "198.18.0.19")]["free"] == 10 - 3 - 1


def test_scan_on_truncated_file_plans_no_release(config: Path) -> None:
    """A leases file that ends mid-block is reported, but nothing is planned for release."""
    result = run("-c", str(config), "scan", "--format", "json", now=NOW)
    assert result.status == 0, result.err
    doc = json.loads(result.out)
    assert doc["applied"] is False
    assert doc["plan"] and all(p["action"] == "keep" for p in doc["plan"])
    assert all("mid-block" in p["why"] for p in doc["plan"])


def test_table_and_csv_render(config: Path) -> None:
    """The terminal table names networks and orphans; CSV has one row per pool."""
    table = run("-c", str(config), "report", now=NOW)
    assert table.status == 0, table.err
    assert "campus" in table.out and "Orphaned leases" in table.out
    csv = run("-c", str(config), "report", "--format", "csv", now=NOW)
    pools_part = csv.out.split("\n\n")[0].splitlines()
    assert pools_part[0].startswith("server,network,subnet,first,last")
    assert len(pools_part) == 1 + 7


def test_check_nagios_line(config: Path) -> None:
    """check prints one plugin line with perfdata and a Nagios exit code."""
    result = run("-c", str(config), "check", now=NOW)
    assert result.status in (0, 1, 2)
    assert result.out.count("\n") == 1
    assert result.out.startswith("DHCP ") and " | " in result.out
    assert "orphans=" in result.out


def test_unreadable_leases_is_one_line_partial(config: Path, tmp_path: Path) -> None:
    """Garbage in the leases file: the rest is reported, one error line names file and line;
    exit 4 (partial), no traceback."""
    bad = tmp_path / "bad.leases"
    bad.write_text(
        "lease 198.18.0.11 {\n  starts 3 2025/01/01 09:00:00;\n  ends 3 2025/01/02 09:00:00;\n"
        "  binding state active;\n  hardware ethernet 52:54:00:00:00:0b;\n}\n"
        "what is this;\nlease 198.18.0.12 {\n"
    )
    config.write_text(config.read_text().replace(str(FIXTURES / "dhcpd.leases"), str(bad)))
    result = run("-c", str(config), "report", "--format", "json", now=NOW)
    assert result.status == 4
    doc = json.loads(result.out)
    assert doc["errors"] == [
        f"{bad}:7: expected a top-level statement (lease, host, failover peer, server-duid, "
        "...), got 'what'"
    ]
    assert "Traceback" not in result.err


def test_release_finds_a_live_lease_by_address_only_as_written(config: Path) -> None:
    """``release --ip`` names a live VM's lease (refused: the VM exists); an address written
    otherwise, or not an address at all, names nothing (exit 1, one line)."""
    live = run("-c", str(config), "release", "--ip", "198.18.0.11", "--dry-run", now=NOW)
    assert live.status == 1, live.err
    assert "198.18.0.11" in live.out and "the VM still exists" in live.out
    for text in ("198.018.0.11", "not-an-ip"):
        none = run("-c", str(config), "release", "--ip", text, "--dry-run", now=NOW)
        assert (none.status, none.err.strip()) == (1, "leasewatch: no active lease matches")
