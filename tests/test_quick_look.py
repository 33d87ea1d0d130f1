"""Issue 16: a quick look with no config file, `-c` anywhere, and help a newcomer can use."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lab.kea import KeaServer
from leasewatch import config as config_module
from leasewatch.cli import build_parser
from tests.cli_helpers import ISC_FIXTURES, run

NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
LEASES = str(ISC_FIXTURES / "dhcpd.leases")
CONF = str(ISC_FIXTURES / "dhcpd.conf")
QUICK = ("--leases", LEASES, "--dhcpd-conf", CONF)
NOWHERE = {"LEASEWATCH_CONFIG_UNSET": "1"}


def _config_file(tmp_path: Path) -> Path:
    """The same server as the quick look, from a config file (no inventory)."""
    path = tmp_path / "leasewatch.toml"
    path.write_text(
        f'[[servers]]\nname = "dhcpd"\nkind = "isc"\nleases = "{LEASES}"\n'
        f'dhcpd_conf = "{CONF}"\n[state]\npath = "{tmp_path / "state.db"}"\n'
    )
    return path


@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_quick_look_matches_the_config_file_report(tmp_path: Path, fmt: str) -> None:
    """`report --leases --dhcpd-conf` with no config says what the config-file report says."""
    quick = run("report", "--format", fmt, *QUICK, environ=NOWHERE, now=NOW)
    configured = run("-c", str(_config_file(tmp_path)), "report", "--format", fmt, now=NOW)
    assert quick.status == configured.status == 0, quick.err
    assert quick.out == configured.out
    if fmt == "json":
        doc = json.loads(quick.out)
        assert doc["networks"] and doc["pools"]


def test_quick_look_check(tmp_path: Path) -> None:
    """`check` takes the quick-look flags too, and agrees with the config-file check."""
    quick = run("check", *QUICK, environ=NOWHERE, now=NOW)
    configured = run("-c", str(_config_file(tmp_path)), "check", now=NOW)
    # the fixture's journal ends mid-block: WARNING, with the pools themselves ok
    assert quick.out.startswith("DHCP WARNING: ")
    assert (quick.status, quick.out) == (configured.status, configured.out)


def test_quick_look_writes_nothing(tmp_path: Path) -> None:
    """The quick look keeps its state in memory: no state file appears anywhere."""
    run("report", *QUICK, environ=NOWHERE, now=NOW)
    assert not (tmp_path / "state.db").exists()


def test_quick_look_needs_both_isc_flags() -> None:
    """--leases alone is a usage error naming the missing flag."""
    result = run("report", "--leases", LEASES, environ=NOWHERE, now=NOW)
    assert result.status == 2
    assert result.err.strip() == "leasewatch: error: --leases needs --dhcpd-conf too"


def test_no_config_names_the_path_init_and_the_quick_look(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No config and no flags: one line with the default path, `leasewatch init` and the
    quick-look flags (the default path is moved where nothing is, whatever this host has)."""
    default = tmp_path / "etc" / "leasewatch.toml"
    monkeypatch.setattr(config_module, "DEFAULT_PATH", default)
    result = run("report", environ=NOWHERE, now=NOW)
    assert result.status == 3
    lines = result.err.strip().splitlines()
    assert len(lines) == 1
    assert str(default) in lines[0]
    assert "leasewatch init" in lines[0] and "--leases FILE --dhcpd-conf FILE" in lines[0]


def test_config_before_or_after_the_subcommand(tmp_path: Path) -> None:
    """-c works on either side of the subcommand."""
    config = str(_config_file(tmp_path))
    before = run("-c", config, "report", "--format", "json", now=NOW)
    after = run("report", "--format", "json", "-c", config, now=NOW)
    assert before.status == after.status == 0
    assert before.out == after.out


def test_config_pointing_at_a_dhcpd_conf_says_so() -> None:
    """-c dhcpd.conf: one line saying it looks like a dhcpd.conf, pointing at init."""
    result = run("-c", CONF, "report", now=NOW)
    assert result.status == 3
    assert "this looks like a dhcpd.conf; leasewatch's config is TOML, see `leasewatch init`" in (
        result.err
    )
    assert len(result.err.strip().splitlines()) == 1


def test_bare_leasewatch_lists_the_commands() -> None:
    """`leasewatch` alone prints every command with one line of help, exit 2."""
    result = run(environ=NOWHERE)
    assert result.status == 2
    for command in ("report", "check", "scan", "release", "audit", "why", "check-config"):
        assert any(line.strip().startswith(command) for line in result.out.splitlines())


def _actions(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if not isinstance(a, argparse._HelpAction)]


def test_every_subcommand_and_option_has_help() -> None:
    """No subcommand or option is left without a help text."""
    parser = build_parser()
    missing = [
        a.dest
        for a in _actions(parser)
        if not a.help and not isinstance(a, argparse._SubParsersAction)
    ]
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helped = {c.dest for c in sub._choices_actions if c.help}
    missing += [name for name in sub.choices if name not in helped]
    stack = list(sub.choices.items())
    while stack:
        name, p = stack.pop()
        for action in _actions(p):
            if isinstance(action, argparse._SubParsersAction):
                stack += [(f"{name} {n}", q) for n, q in action.choices.items()]
                helped = {c.dest for c in action._choices_actions if c.help}
                missing += [f"{name} {n}" for n in action.choices if n not in helped]
            elif not action.help:
                missing.append(f"{name} {action.dest}")
    assert missing == []


@pytest.mark.lab
def test_quick_look_on_a_real_kea_matches_the_config_file(kea: KeaServer, tmp_path: Path) -> None:
    """`report --kea-socket PATH` against a running kea-dhcp4 says what a config naming the
    same socket says, in every format, and `check` agrees."""
    now = datetime.now(UTC).replace(microsecond=0)
    expire = int((now + timedelta(hours=1)).timestamp())
    kea.add_lease("198.18.1.10", "52:54:00:00:01:0a", **{"valid-lft": 7200, "expire": expire})
    config = tmp_path / "leasewatch.toml"
    config.write_text(
        f'[[servers]]\nname = "kea"\nkind = "kea"\ncontrol_socket = "{kea.socket_path}"\n'
        f'[state]\npath = "{tmp_path / "state.db"}"\n'
    )
    for argv in (("report",), ("report", "--format", "json"), ("report", "--format", "csv"),
                 ("check",)):  # fmt: skip
        quick = run(*argv, "--kea-socket", str(kea.socket_path), environ=NOWHERE, now=now)
        configured = run("-c", str(config), *argv, now=now)
        assert quick.status == configured.status, quick.err
        assert quick.out == configured.out
    doc = json.loads(run("report", "--format", "json", "--kea-socket", str(kea.socket_path),
                         environ=NOWHERE, now=now).out)  # fmt: skip
    assert sum(n["active"] for n in doc["networks"]) == 1
