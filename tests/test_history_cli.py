"""Tests for ``history``, ``advise`` and ``report``'s forecast, run in-process on recorded scans."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import history_scenario as sc
from tests.cli_helpers import run


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The scenario's scans in a state file, and a config file pointing at it."""
    root = tmp_path_factory.mktemp("history")
    sc.record(root / "state.db")
    cfg = root / "leasewatch.toml"
    cfg.write_text(
        '[[servers]]\nname = "dhcp1"\nkind = "isc"\nleases = "/nonexistent/dhcpd.leases"\n'
        'dhcpd_conf = "/nonexistent/dhcpd.conf"\n'
        f'[state]\npath = "{root / "state.db"}"\nkeep = "30d"\n'
    )
    return cfg


def test_history_draws_the_peak_of_each_hour(recorded: Path) -> None:
    """12 one-hour buckets of peaks 2,3,4,5,5,5,5,4,4,4,3,2 of 20 addresses.

    Active = A + B + the short VMs' leases (V1 [1 h, 4 h), V2 [2 h, 5 h), V3 [3 h, 6 h),
    V4 [4 h, 7 h), V5 [5 h, 9.5 h), V6 [6 h, 10.5 h)); 10 % is ▁, 15-20 % ▂, 25 % ▃.
    """
    result = run("-c", str(recorded), "history", "--since", "12h", "--buckets", "12", now=sc.NOW)
    assert result.status == 0, result.err
    line = next(x for x in result.out.splitlines() if x.split()[:1] == ["lab"])
    assert "▁▂▂▃▃▃▃▂▂▂▂▁" in line
    assert line.replace("│", " ").split()[-3:] == ["10%", "25%", "10%"]
    assert "Utilization, last 12h" in result.out


def test_history_without_records_says_how_to_get_some(tmp_path: Path) -> None:
    """A fresh state: one line that says to scan first, exit 0."""
    cfg = tmp_path / "c.toml"
    server = '[[servers]]\nname = "dhcp1"\nkind = "kea"\nleases = "/var/lib/kea/l.csv"\n'
    cfg.write_text(f'[state]\npath = "{tmp_path / "state.db"}"\n' + server)
    result = run("-c", str(cfg), "history")
    assert result.status == 0, result.err
    assert "No history in the last 1d" in result.out


def test_advise_json_and_table(recorded: Path) -> None:
    """advise prints the hand-checked numbers (see tests/core/test_advice.py) and ISC lines."""
    result = run("-c", str(recorded), "advise", "--window", "12h", "--format", "json",
                 now=sc.NOW)  # fmt: skip
    assert result.status == 0, result.err
    (doc,) = json.loads(result.out)
    assert doc["network"] == "lab"
    assert doc["vms"] == 6
    assert doc["lifetime_median_seconds"] == 70 * 60
    assert doc["recommended_seconds"] == 900
    assert doc["settings"] == ["default-lease-time 900;", "max-lease-time 1800;"]
    assert doc["freed_peak"] == 2
    assert doc["address_hours"] == 11.5
    table = run("-c", str(recorded), "advise", "--window", "12h", now=sc.NOW)
    assert table.status == 0, table.err
    assert "default-lease-time 900;" in table.out
    assert "11.5 address-hours would have been free over 12h, up to 2 addresses" in table.out


def test_advise_rejects_a_bad_window(recorded: Path) -> None:
    """A window that is not a duration is a usage error."""
    assert run("-c", str(recorded), "advise", "--window", "soon").status == 2


@pytest.mark.parametrize("command", [("history", "--since", "12h"), ("advise", "--window", "12h")])
def test_80_columns_keep_network_names_whole(recorded: Path, command: tuple[str, ...]) -> None:
    """At 80 columns (piped) the network name is whole and no line is wider."""
    result = run("-c", str(recorded), *command, environ={"COLUMNS": "80"}, now=sc.NOW)
    assert result.status == 0, result.err
    assert any(line.split()[:1] == ["lab"] for line in result.out.splitlines()), result.out
    assert max(len(line) for line in result.out.splitlines()) <= 80
