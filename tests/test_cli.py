"""Tests for the CLI wiring that needs no DHCP server: config errors, check-config, audit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.cli_helpers import run


def test_missing_config_is_one_line_exit_3(tmp_path: Path) -> None:
    """A missing config file: one line, exit 3, no traceback."""
    result = run("-c", str(tmp_path / "none.toml"), "report")
    assert result.status == 3
    assert result.err.strip().count("\n") == 0
    assert "config file not found" in result.err
    assert "Traceback" not in result.err


# a config names at least one server (report-only: a Kea memfile)
SERVER = '[[servers]]\nname = "dhcp1"\nkind = "kea"\nleases = "/var/lib/kea/l.csv"\n'


def test_check_config_lists_all_errors_and_redacts(tmp_path: Path) -> None:
    """check-config reports every bad key, and prints secrets redacted when valid."""
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[reaper]\ngrace = "soon"\nmax_per_run = "many"\n[daemon]\nevry = "5m"\n' + SERVER
    )
    result = run("-c", str(bad), "check-config")
    assert result.status == 3
    assert len(result.err.strip().splitlines()) == 3
    assert f"{bad}:5: daemon.evry: unknown key" in result.err
    good = tmp_path / "good.toml"
    (tmp_path / "l.csv").write_text("")  # check-config reads every file named
    good.write_text(
        '[[alerts.webhooks]]\nformat = "generic"\nurl = "http://127.0.0.1:9/hook/s3cr3t"\n'
        + SERVER.replace("/var/lib/kea", str(tmp_path))
        + f'[state]\npath = "{tmp_path / "state.db"}"\n'
    )
    result = run("-c", str(good), "check-config")
    assert result.status == 0, result.err
    assert "s3cr3t" not in result.out + result.err
    assert json.loads(result.out)["alerts"]["webhooks"][0]["url"] == "<redacted>"


def test_bad_command_line_exit_2(tmp_path: Path) -> None:
    """argparse errors give exit 2."""
    assert run("frobnicate").status == 2


def test_audit_on_empty_state(tmp_path: Path) -> None:
    """audit works (empty) on a fresh state file."""
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[state]\npath = "{tmp_path / "state.db"}"\n' + SERVER)
    result = run("-c", str(cfg), "audit", "--format", "json")
    assert result.status == 0, result.err
    assert json.loads(result.out) == []


def test_debug_shows_traceback_and_module_entry_point(tmp_path: Path) -> None:
    """``python -m leasewatch --debug`` shows the traceback; without it, one line."""
    cfg = tmp_path / "c.toml"
    cfg.write_text("[state]\npath = 42\n" + SERVER)
    plain = subprocess.run(
        [sys.executable, "-m", "leasewatch", "-c", str(cfg), "report"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert plain.returncode == 3
    assert (
        plain.stderr.strip()
        == f"leasewatch: config error: {cfg}:2: state.path: expected a string, got 42"
    )
    debug = subprocess.run(
        [sys.executable, "-m", "leasewatch", "--debug", "-c", str(cfg), "report"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert debug.returncode == 3
    assert "Traceback" in debug.stderr
