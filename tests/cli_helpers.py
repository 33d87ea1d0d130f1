"""Run the CLI in-process, as a user would, and capture what it prints."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from leasewatch.cli import Env, main

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
ISC_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "isc"


@dataclass
class Run:
    """The exit status and output of one CLI run."""

    status: int
    out: str
    err: str


def run(*argv: str, environ: dict[str, str] | None = None, now: datetime = NOW) -> Run:
    """``leasewatch ARGV`` in-process with a fixed clock and captured streams."""
    out, err = io.StringIO(), io.StringIO()
    env = Env(
        stdout=out,
        stderr=err,
        environ={"COLUMNS": "160", **(environ or {})},
        clock=lambda: now,
        color=False,
    )
    status = main(list(argv), env)
    return Run(status, out.getvalue(), err.getvalue())


def isc_fixture_config(tmp_path: Path, macs: str, sections: str = "") -> Path:
    """A config over fixtures/isc with a file inventory of ``macs`` (its text), a state file
    in ``tmp_path``, and ``sections`` (more TOML) appended."""
    inventory = tmp_path / "macs.txt"
    inventory.write_text(macs)
    path = tmp_path / "leasewatch.toml"
    path.write_text(
        f"""
[[servers]]
name = "dhcp1"
kind = "isc"
leases = "{ISC_FIXTURES / "dhcpd.leases"}"
dhcpd_conf = "{ISC_FIXTURES / "dhcpd.conf"}"

[[inventory]]
name = "hv"
kind = "file"
path = "{inventory}"

[state]
path = "{tmp_path / "state.db"}"
{sections}"""
    )
    return path
