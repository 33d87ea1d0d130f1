"""Issue 16: at 80 columns, piped, addresses and MACs are never cut, and no line is wider."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from leasewatch.model import AuditRecord, Outcome
from leasewatch.state import State
from tests.cli_helpers import ISC_FIXTURES, isc_fixture_config, run

NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
SERVER = "dhcp-primary.example.net"


def _whole(value: str, text: str) -> bool:
    """``value`` appears in ``text`` not as part of a longer address or MAC."""
    return re.search(rf"(?<![\w.:]){re.escape(value)}(?![\w.:])", text) is not None


def _values(doc: object) -> set[str]:
    """Every IP and MAC string anywhere in a JSON document."""
    found: set[str] = set()
    if isinstance(doc, dict):
        for key, value in doc.items():
            if key in ("ip", "mac", "first", "last") and isinstance(value, str):
                found.add(value)
            else:
                found |= _values(value)
    elif isinstance(doc, list):
        for item in doc:
            found |= _values(item)
    return found


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """The ISC fixtures under a long server name, one live VM, a state file with audit
    records (long reasons and details) for `audit`."""
    path = isc_fixture_config(tmp_path, "52:54:00:00:00:0b\n", '\n[reaper]\ngrace = "0s"\n')
    path.write_text(path.read_text().replace('name = "dhcp1"', f'name = "{SERVER}"'))
    state = State.open(tmp_path / "state.db")
    state.add_audit(
        AuditRecord(
            at=NOW - timedelta(minutes=i),
            server=SERVER,
            ip=IPv4Address(f"198.18.1.{100 + i}"),
            mac=f"52:54:00:00:01:{i:02x}",
            hostname=f"a-rather-long-hostname-for-vm-number-{i}.lab.example.net",
            reason="orphan: MAC not seen by hv for 2h, over the grace of 30m",
            outcome=Outcome.RELEASED if i % 2 else Outcome.REFUSED,
            detail="OMAPI: lease ends set to now, read back: free; the address is usable",
        )
        for i in range(5)
    )
    state.close()
    return path


@pytest.mark.parametrize(
    ("command", "json_command"),
    [
        (("report",), ("report", "--format", "json")),
        (("scan", "--no-alerts"), ("scan", "--no-alerts", "--format", "json")),
        (("audit",), ("audit", "--format", "json")),
    ],
)
def test_80_columns_piped_cut_no_address(
    config: Path, command: tuple[str, ...], json_command: tuple[str, ...]
) -> None:
    """Every IP and MAC of the JSON output appears whole in the text, no line over 80."""
    doc = json.loads(run("-c", str(config), *json_command, now=NOW).out)
    values = _values(doc)
    assert values
    text = run("-c", str(config), *command, environ={"COLUMNS": "80"}, now=NOW)
    assert text.status in (0, 4), text.err
    missing = sorted(v for v in values if not _whole(v, text.out))
    assert missing == [], text.out
    assert max(len(line) for line in text.out.splitlines()) <= 80
    assert SERVER in text.out


def test_long_lists_show_the_first_rows_and_how_to_see_all(tmp_path: Path) -> None:
    """30 orphans: the first 20, then "... 10 more"; --all lists every one."""
    (tmp_path / "dhcpd.conf").write_text(
        "subnet 198.18.5.0 netmask 255.255.255.0 { range 198.18.5.10 198.18.5.99; }\n"
    )
    (tmp_path / "dhcpd.leases").write_text(
        "".join(
            f"lease 198.18.5.{10 + i} {{\n  starts 3 2025/01/01 08:00:00;\n"
            f"  ends 3 2030/01/01 08:00:00;\n  binding state active;\n"
            f"  hardware ethernet 52:54:00:00:05:{i:02x};\n}}\n"
            for i in range(30)
        )
    )
    config = isc_fixture_config(tmp_path, "52:54:00:00:00:01\n")
    config.write_text(
        config.read_text()
        .replace(f"{ISC_FIXTURES / 'dhcpd.leases'}", f"{tmp_path / 'dhcpd.leases'}")
        .replace(f"{ISC_FIXTURES / 'dhcpd.conf'}", f"{tmp_path / 'dhcpd.conf'}")
    )
    cut = run("-c", str(config), "report", environ={"COLUMNS": "80"}, now=NOW)
    assert "... 10 more (use --format json or --all)" in cut.out, cut.out
    assert "198.18.5.29" in cut.out and "198.18.5.30" not in cut.out
    full = run("-c", str(config), "report", "--all", environ={"COLUMNS": "80"}, now=NOW)
    assert "more (use --format json or --all)" not in full.out
    assert all(_whole(f"198.18.5.{10 + i}", full.out) for i in range(30))


def test_an_unhealthy_inventory_is_one_line_not_one_per_lease(tmp_path: Path) -> None:
    """An inventory that fails makes every lease it covers unknown: one summary line."""
    config = isc_fixture_config(tmp_path, "52:54:00:00:00:0b\n")
    (tmp_path / "macs.txt").unlink()  # the file inventory cannot be read
    result = run("-c", str(config), "report", environ={"COLUMNS": "80"}, now=NOW)
    assert result.status == 4, result.err
    lines = [line for line in result.out.splitlines() if "cannot be judged" in line]
    assert len(lines) == 1, result.out
    assert lines[0].startswith("11 leases cannot be judged (never released): inventory hv")
    assert "198.18.0.13" not in result.out  # no per-lease list
    assert "orphans not checked: no inventory is healthy" in result.out
