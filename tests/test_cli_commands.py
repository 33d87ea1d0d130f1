"""Every ``leasewatch`` subcommand, driven in-process through ``main(argv, env)``.

Only the exit status and what is printed are checked (JSON exactly, tables by the facts
they must show), so these tests hold whatever the application layer behind ``main`` looks
like. Commands that need a real dhcpd (``release --force/--server``, ``audit --limit`` after
real releases) are in tests/lab/test_cli_commands_lab.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.alerts.webhook_sink import Sink, running_sink
from tests.cli_helpers import ISC_FIXTURES, isc_fixture_config, run

# Where each subcommand is driven in-process (this file unless said otherwise).
DRIVEN = {
    "report": "tests/test_report_cli.py",
    "check": "tests/test_report_cli.py",
    "scan": "test_scan_no_alerts_sends_and_remembers_nothing",
    "daemon": "tests/test_daemon.py (a real subprocess: signals, metrics)",
    "release": "tests/lab/test_cli_commands_lab.py",
    "audit": "tests/lab/test_cli_commands_lab.py, test_audit_limit_on_empty_state",
    "inventory": "test_inventory_*",
    "why": "tests/test_why.py",
    "advise": "tests/test_history_cli.py",
    "history": "tests/test_history_cli.py",
    "alert-test": "test_alert_test_*",
    "check-config": "tests/test_cli.py",
    "mac": "tests/macpool/test_mac_cli.py",
    "init": "tests/test_init.py, tests/lab/test_init_lab.py",
}

MACS = "52:54:00:00:00:0b\n52:54:00:00:00:0c\n"


@pytest.fixture
def sink() -> Iterator[Sink]:
    """A webhook receiver on a free loopback port."""
    with running_sink() as receiver:
        yield receiver


def test_every_subcommand_is_driven_somewhere(capsys: pytest.CaptureFixture[str]) -> None:
    """``leasewatch --help`` lists exactly the subcommands named in DRIVEN: a new command
    comes with a test that runs it (add it to DRIVEN, naming that test)."""
    result = run("--help")
    assert result.status == 0
    # argparse writes help to sys.stdout today, not to the Env's stream: read both
    printed = result.out + capsys.readouterr().out
    listed = set(re.findall(r"^ {2,8}([a-z][a-z-]*) {2,}\S", printed, re.MULTILINE))
    assert listed == set(DRIVEN), printed


def test_inventory_table_json_and_macs(tmp_path: Path) -> None:
    """``inventory`` names each source and its VM count; ``--macs`` lists the MACs."""
    config = isc_fixture_config(tmp_path, MACS)
    table = run("-c", str(config), "inventory")
    assert table.status == 0, table.err
    assert re.search(r"\bhv\b.*\bfile\b.*\bhealthy\b.*\b2\b", table.out), table.out
    assert "52:54:00:00:00:0b" not in table.out

    listed = run("-c", str(config), "inventory", "--macs")
    assert listed.status == 0
    assert "52:54:00:00:00:0b" in listed.out and "52:54:00:00:00:0c" in listed.out

    doc = json.loads(run("-c", str(config), "inventory", "--format", "json", "--macs").out)
    assert [(d["source"], d["kind"], d["healthy"], d["vms"], d["macs"]) for d in doc] == [
        ("hv", "file", True, 2, ["52:54:00:00:00:0b", "52:54:00:00:00:0c"])
    ]


def test_inventory_unhealthy_source_is_partial(tmp_path: Path) -> None:
    """A source that cannot be read is shown unhealthy with its reason; exit 4 (partial)."""
    config = isc_fixture_config(tmp_path, MACS)
    (tmp_path / "macs.txt").unlink()
    result = run("-c", str(config), "inventory", "--format", "json")
    assert result.status == 4
    (doc,) = json.loads(result.out)
    assert doc["healthy"] is False
    assert "macs.txt" in doc["reason"]
    table = run("-c", str(config), "inventory")
    assert table.status == 4
    assert "UNHEALTHY" in table.out


def _webhooks() -> str:
    return "".join(
        f'\n[[alerts.webhooks]]\nname = "{fmt}"\nformat = "{fmt}"\nurl_env = "HOOK_{fmt.upper()}"\n'
        for fmt in ("slack", "mattermost", "teams", "discord", "generic")
    )


def _hook_env(sink: Sink) -> dict[str, str]:
    return {
        f"HOOK_{fmt.upper()}": sink.url(f"/{fmt}/s3cr3t-{fmt}")
        for fmt in ("slack", "mattermost", "teams", "discord", "generic")
    }


def test_alert_test_reaches_every_webhook(tmp_path: Path, sink: Sink) -> None:
    """``alert-test`` POSTs one test message to each webhook and says so, secrets hidden."""
    config = isc_fixture_config(tmp_path, MACS, _webhooks())
    result = run("-c", str(config), "alert-test", environ=_hook_env(sink))
    assert result.status == 0, result.err
    for fmt in ("slack", "mattermost", "teams", "discord", "generic"):
        (post,) = sink.posts(f"/{fmt}/s3cr3t-{fmt}")
        assert "test" in json.dumps(post.json).lower()
        assert f"{fmt} ({fmt}): delivered" in result.out
    assert "s3cr3t" not in result.out + result.err


def test_alert_test_failing_webhook_is_exit_1(tmp_path: Path, sink: Sink) -> None:
    """A webhook answering 404 fails alone: stderr names it and the status, exit 1, the
    other four are delivered, no secret is printed."""
    config = isc_fixture_config(tmp_path, MACS, _webhooks())
    sink.script("/slack/s3cr3t-slack", (404, {}, b"no_service"))
    result = run("-c", str(config), "alert-test", environ=_hook_env(sink))
    assert result.status == 1
    assert all("slack" in line for line in result.err.strip().splitlines())
    assert "HTTP 404" in result.err
    assert result.out.count("delivered") == 4
    assert "s3cr3t" not in result.out + result.err


def test_alert_test_without_webhooks_is_an_error(tmp_path: Path) -> None:
    """``alert-test`` with no webhook configured says so and exits 1."""
    config = isc_fixture_config(tmp_path, MACS)
    result = run("-c", str(config), "alert-test")
    assert result.status == 1
    assert "webhooks" in result.err


def test_scan_no_alerts_sends_and_remembers_nothing(tmp_path: Path, sink: Sink) -> None:
    """``scan --no-alerts`` POSTs nothing and tells no channel anything, so the next plain
    scan still sends the alert."""
    sections = "\n[alerts]\nwarn_at = 0.1\ncritical_at = 0.2\n" + _webhooks()
    config = isc_fixture_config(tmp_path, MACS, sections)
    env = _hook_env(sink)
    quiet = run("-c", str(config), "scan", "--no-alerts", "--format", "json", environ=env)
    assert quiet.status == 0, quiet.err
    json.loads(quiet.out)
    assert sink.received == []
    loud = run("-c", str(config), "scan", "--format", "json", environ=env)
    assert loud.status == 0, loud.err
    generic = [p.json for p in sink.posts("/generic/s3cr3t-generic")]
    assert any(p["kind"] == "level" and p["level"] == "critical" for p in generic), generic
    assert "s3cr3t" not in quiet.out + quiet.err + loud.out + loud.err


def test_audit_limit_on_empty_state(tmp_path: Path) -> None:
    """``audit --limit`` on a fresh state is an empty list (records: the lab test)."""
    config = isc_fixture_config(tmp_path, MACS)
    result = run("-c", str(config), "audit", "--limit", "1", "--format", "json")
    assert result.status == 0, result.err
    assert json.loads(result.out) == []


def test_release_unknown_server_is_a_usage_error(tmp_path: Path) -> None:
    """``release --server`` naming no configured server says so and lists the names (exit 2),
    rather than "no active lease matches"."""
    config = isc_fixture_config(tmp_path, MACS)
    result = run("-c", str(config), "release", "--ip", "198.18.0.5", "--server", "nope")
    assert result.status == 2
    assert result.err.strip().splitlines() == [
        "leasewatch: error: --server 'nope': no such server (servers: dhcp1)"
    ]


def test_release_with_no_readable_server_is_an_error(tmp_path: Path) -> None:
    """When no server could be read, ``release`` fails naming the cause (exit 1) instead of
    claiming that no lease matches."""
    config = isc_fixture_config(tmp_path, MACS)
    config.write_text(config.read_text().replace(str(ISC_FIXTURES / "dhcpd.leases"), "/nope"))
    result = run("-c", str(config), "release", "--ip", "198.18.0.5")
    assert result.status == 1
    assert "no server could be read" in result.err and "/nope" in result.err, result.err
    assert "no active lease matches" not in result.err


def test_alert_test_names_the_site(tmp_path: Path, sink: Sink) -> None:
    """With ``[daemon] site``, the test message names the site (generic: its ``site`` key)."""
    config = isc_fixture_config(tmp_path, MACS, _webhooks() + '\n[daemon]\nsite = "fra1"\n')
    result = run("-c", str(config), "alert-test", environ=_hook_env(sink))
    assert result.status == 0, result.err
    (post,) = sink.posts("/generic/s3cr3t-generic")
    assert post.json["site"] == "fra1"
    (post,) = sink.posts("/slack/s3cr3t-slack")
    assert "fra1" in json.dumps(post.json)
