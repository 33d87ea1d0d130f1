"""Issue 15 for the CLI: `check` and `report` never say OK for what they could not read,
terminal output cannot be forged by a DHCP client, and a closed pipe ends quietly."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from leasewatch.cli import Env, main
from leasewatch.printable import printable
from tests.cli_helpers import isc_fixture_config, run

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[1]

# a conf dhcpd accepts (`dhcpd -t`) that names a subnet but no dynamic range
NO_RANGE_CONF = "subnet 198.18.5.0 netmask 255.255.255.0 { option routers 198.18.5.1; }\n"
CONF = "subnet 198.18.5.0 netmask 255.255.255.0 { range 198.18.5.10 198.18.5.20; }\n"
# dhcpd writes a byte it will not print as an octal escape: \033 is ESC, \015 CR, \012 LF
HOSTILE = r"evil\033[2J\015released: 198.18.5.99\012\007"
LEASES = f"""
lease 198.18.5.10 {{
  starts 3 2026/11/25 10:00:00;
  ends 3 2030/11/25 10:00:00;
  binding state active;
  hardware ethernet 52:54:00:00:05:0a;
  client-hostname "{HOSTILE}";
}}
"""


def _config(tmp_path: Path, conf: str, leases: str = LEASES, inventory: bool = True) -> Path:
    (tmp_path / "dhcpd.conf").write_text(conf)
    (tmp_path / "dhcpd.leases").write_text(leases)
    (tmp_path / "macs.txt").write_text("52:54:00:00:00:01\n")
    inv = f'[[inventory]]\nname = "hv"\nkind = "file"\npath = "{tmp_path / "macs.txt"}"\n'
    path = tmp_path / "leasewatch.toml"
    path.write_text(
        f"""[[servers]]
name = "dhcp1"
kind = "isc"
leases = "{tmp_path / "dhcpd.leases"}"
dhcpd_conf = "{tmp_path / "dhcpd.conf"}"
{inv if inventory else ""}
[state]
path = "{tmp_path / "state.db"}"
"""
    )
    return path


def test_check_is_unknown_when_a_configured_server_has_no_pools(tmp_path: Path) -> None:
    """A server read without error but with no range is UNKNOWN (3), never OK."""
    result = run("-c", str(_config(tmp_path, NO_RANGE_CONF)), "check", now=NOW)
    assert result.status == 3, result.out
    assert result.out.startswith("DHCP UNKNOWN: no pools found")
    assert "dhcp1" in result.out


def test_report_is_an_error_when_a_configured_server_has_no_pools(tmp_path: Path) -> None:
    """`report` in every format: an error line naming the server, non-zero, no empty table."""
    config = str(_config(tmp_path, NO_RANGE_CONF))
    for fmt in ("table", "json", "csv"):
        result = run("-c", config, "report", "--format", fmt, now=NOW)
        assert result.status == 1, (fmt, result.out)
        assert result.out == ""
        assert result.err.startswith("leasewatch: error: no pools found on dhcp1"), result.err


def test_table_and_why_escape_control_characters_from_the_network(tmp_path: Path) -> None:
    """A hostname with ESC, CR, LF and BEL is shown escaped in the table and `why`, and
    kept exact in JSON and CSV."""
    config = str(_config(tmp_path, CONF))
    raw = "evil\x1b[2J\rreleased: 198.18.5.99\n\x07"
    for argv in (("report",), ("why", "198.18.5.10"), ("scan", "--no-alerts")):
        result = run("-c", config, *argv, now=NOW)
        for char in "\x1b\r\x07":
            assert char not in result.out, argv
        assert "evil\\x1b[2J\\x0dreleased" in result.out.replace("\n", ""), argv
        assert not any(line.startswith("released:") for line in result.out.splitlines())
    doc = json.loads(run("-c", config, "report", "--format", "json", now=NOW).out)
    assert doc["orphans"][0]["hostname"] == raw
    csv_out = run("-c", config, "report", "--format", "csv", now=NOW).out
    assert raw in csv_out


def test_log_lines_escape_control_characters(tmp_path: Path) -> None:
    """-v logs name what a scan read; a forged line cannot appear in them."""
    (tmp_path / "macs.txt").write_text("52:54:00:00:00:01\n")
    config = _config(tmp_path, CONF)
    # an inventory whose file name carries an ESC and a newline fails, and is logged
    text = config.read_text().replace('macs.txt"', 'macs\\u001b[2J\\nforged.txt"')
    config.write_text(text)
    result = run("-c", str(config), "-v", "report", now=NOW)
    assert "\x1b" not in result.err
    assert "macs\\x1b[2J" in result.err, result.err


def test_printable_escapes_c0_c1_and_del_and_keeps_the_rest() -> None:
    """ESC, CR, LF, BEL, TAB, DEL and C1 are escaped; letters and UTF-8 are kept."""
    assert printable("café vm-1") == "café vm-1"
    assert printable("a\x1bb\rc\nd\x07e\tf\x7fg\x9bh") == (
        "a\\x1bb\\x0dc\\x0ad\\x07e\\x09f\\x7fg\\x9bh"
    )
    assert printable("back\\slash") == "back\\\\slash"
    assert printable("vm\u202egnp.exe") == "vm\\u202egnp.exe"  # a right-to-left override


def test_daemon_log_lines_escape_control_characters() -> None:
    """The daemon's text log format shows a forged line's CR/LF escaped, on one line."""
    from leasewatch.daemon import TextFormatter

    record = logging.LogRecord(
        "leasewatch.scan", logging.INFO, __file__, 1, "lease %s", ("vm\r\ninfo forged",), None
    )
    line = TextFormatter().format(record)
    assert line == "info leasewatch.scan: lease vm\\x0d\\x0ainfo forged"


class _ClosedPipe(io.StringIO):
    """A stdout whose reader has gone, as `leasewatch report | head -1` leaves it."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_closed_pipe_ends_quietly_in_process(tmp_path: Path) -> None:
    """BrokenPipeError on stdout: no traceback, nothing on stderr, exit 141 (as SIGPIPE)."""
    err = io.StringIO()
    env = Env(stdout=_ClosedPipe(), stderr=err, environ={}, clock=lambda: NOW, color=False)
    status = main(["-c", str(_config(tmp_path, CONF)), "report"], env)
    assert (status, err.getvalue()) == (141, "")


def test_a_closed_pipe_ends_quietly_as_a_process(tmp_path: Path) -> None:
    """`leasewatch report --format json | head -1` on 2,000 orphans (more than a pipe holds):
    nothing on stderr once the reader has gone."""
    conf = "subnet 198.18.8.0 netmask 255.255.248.0 { range 198.18.8.1 198.18.15.254; }\n"
    leases = "".join(
        f"lease 198.18.{8 + i // 250}.{1 + i % 250} {{\n  starts 3 2026/11/25 10:00:00;\n"
        f"  ends 3 2030/11/25 10:00:00;\n  binding state active;\n"
        f"  hardware ethernet 52:54:00:01:{i // 256:02x}:{i % 256:02x};\n}}\n"
        for i in range(2000)
    )
    config = _config(tmp_path, conf, leases)
    proc = subprocess.Popen(
        [sys.executable, "-m", "leasewatch", "-c", str(config), "report", "--format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    with proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.readline()
        proc.stdout.close()  # what `head -1` does after its line
        err = proc.stderr.read().decode()
        status = proc.wait(timeout=60)
    assert err == ""
    assert status == 141


@pytest.mark.parametrize(
    ("thresholds", "expected"),
    [
        ("", 0),  # fixtures: every network under 80 %
        ("warn_at = 0.2\ncritical_at = 0.9\n", 1),  # ratio: campus and lab at 25 %
        ("warn_free = 5\ncritical_free = 4\n", 2),  # free count: 198.18.30.0/24 has 4 free
    ],
)
def test_check_and_the_table_agree(tmp_path: Path, thresholds: str, expected: int) -> None:
    """`check`'s status is the worst `level` the table shows, ratio and free-count thresholds
    alike (one rule: ``Thresholds.level``)."""
    config = isc_fixture_config(tmp_path, "52:54:00:00:00:0b\n", f"\n[alerts]\n{thresholds}")
    now = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
    check = run("-c", str(config), "check", now=now)
    doc = json.loads(run("-c", str(config), "report", "--format", "json", now=now).out)
    rank = {"ok": 0, "warn": 1, "critical": 2}
    assert expected == max(rank[n["level"]] for n in doc["networks"])
    # the fixture's journal ends mid-block: a reading warning makes an OK check WARNING
    assert doc["warnings"]
    assert check.status == max(expected, 1)
    table = run("-c", str(config), "report", environ={"COLUMNS": "120"}, now=now).out
    for n in doc["networks"]:
        row = next(line for line in table.splitlines() if line.split()[:1] == [n["name"]])
        assert f" {n['level']} " in row, row


@pytest.mark.parametrize(
    ("damage", "said"),
    [
        pytest.param(
            LEASES + "lease 198.18.5.11 {\n  starts 3 2026/11/25 10:00:00;\n",
            "mid-write",
            id="cut-off tail",
        ),
        pytest.param(LEASES.replace("\n", "\r"), "CR", id="bare CR line ends"),
    ],
)
def test_check_is_not_ok_when_part_of_a_leases_file_was_skipped(
    tmp_path: Path, damage: str, said: str
) -> None:
    """A warning from reading (a cut-off tail, bare CR line ends) makes check WARNING, not OK."""
    path = _config(tmp_path, CONF, leases=damage)
    result = run("-c", str(path), "check")
    assert result.status == 1, result.out
    assert result.out.startswith("DHCP WARNING:")
    assert said in result.out
