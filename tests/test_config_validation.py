"""Config problems that used to crash or pass silently: each is one line, caught at load."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from leasewatch.config import MAX_DURATION, load
from leasewatch.errors import ConfigError
from tests.cli_helpers import run

SERVER = """
[[servers]]
name = "dhcp1"
kind = "isc"
leases = "/var/lib/dhcp/dhcpd.leases"
dhcpd_conf = "/etc/dhcp/dhcpd.conf"
"""


def write(tmp_path: Path, text: str) -> Path:
    """Write a config file and return its path."""
    path = tmp_path / "leasewatch.toml"
    path.write_text(text, encoding="utf-8")
    return path


def errors_of(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> list[str]:
    """The loader's error lines for ``text`` (it must fail)."""
    with pytest.raises(ConfigError) as info:
        load(write(tmp_path, text), environ or {})
    return info.value.messages


def test_non_utf8_byte_is_one_line_with_its_line_number(tmp_path: Path) -> None:
    """A Latin-1 byte on line 3 names the file, line 3 and the byte; check-config exits 3."""
    path = tmp_path / "latin1.toml"
    path.write_bytes(SERVER.encode() + b'# caf\xe9\n[reaper]\ngrace = "1h"\n')
    line = SERVER.count("\n") + 1
    with pytest.raises(ConfigError) as info:
        load(path, {})
    assert info.value.messages == [
        f"{path}:{line}: byte 0xe9 at column 6 is not UTF-8; a TOML file must be UTF-8 text"
    ]
    result = run("-c", str(path), "check-config")
    assert result.status == 3
    assert result.err.count("\n") == 1 and "Traceback" not in result.err


@pytest.mark.parametrize(
    ("table", "key", "value"),
    [
        ("reaper", "grace", "999999999999999999999999w"),
        ("state", "keep", "99999999d"),
        ("daemon", "every", "99999999d"),
        ("alerts", "repeat", "3651d"),
        ("alerts", "on_forecast", "1000000000d"),
    ],
)
def test_duration_past_the_limit_names_the_largest_accepted(
    tmp_path: Path, table: str, key: str, value: str
) -> None:
    """Durations that would overflow a date are refused at load, with the maximum shown."""
    messages = errors_of(tmp_path, f'{SERVER}\n[{table}]\n{key} = "{value}"\n')
    assert len(messages) == 1
    assert messages[0].endswith(f"{table}.{key}: expected at most 3650d, got {value!r}")


def test_the_largest_duration_is_accepted(tmp_path: Path) -> None:
    """Exactly the maximum loads."""
    config = load(write(tmp_path, f'{SERVER}\n[state]\nkeep = "3650d"\n'), {})
    assert config.state.keep == MAX_DURATION == timedelta(days=3650)


@pytest.mark.parametrize("key", ["keep", "forecast_window"])
def test_zero_retention_is_an_error_not_the_default(tmp_path: Path, key: str) -> None:
    """`keep = "0s"` used to become 30 days without a word."""
    messages = errors_of(tmp_path, f'{SERVER}\n[state]\n{key} = "0s"\n')
    assert len(messages) == 1
    assert f"state.{key}: expected a duration above zero" in messages[0]


def test_no_servers_is_a_config_error(tmp_path: Path) -> None:
    """A config with no [[servers]] is exit 3 with one line, not an empty green report."""
    path = write(tmp_path, '[reaper]\ngrace = "1h"\n')
    assert errors_of(tmp_path, '[reaper]\ngrace = "1h"\n') == [
        f"{path}: servers: none configured; expected at least one [[servers]] table"
    ]
    assert errors_of(tmp_path, "servers = []\n")[0].endswith(
        "servers: none configured; expected at least one [[servers]] table"
    )
    result = run("-c", str(path), "check-config")
    assert result.status == 3 and "none configured" in result.err


def test_omapi_key_not_base64_is_refused_without_showing_it(tmp_path: Path) -> None:
    """A key that is not base64 fails at load (not at the first release); it is never shown."""
    text = SERVER + (
        'omapi = { host = "127.0.0.1", port = 7911, key_name = "k", key_env = "KEY" }\n'
    )
    messages = errors_of(tmp_path, text, {"KEY": "not base64 at all!"})
    assert len(messages) == 1
    assert "servers[0].omapi.key: expected the key's base64 secret" in messages[0]
    assert "not base64 at all" not in messages[0]
    assert load(write(tmp_path, text), {"KEY": "c2VjcmV0"}).servers[0].omapi is not None


@pytest.mark.parametrize(
    "url", ["ftp://hooks.example/x", "hooks.example/T0/SECRET", "https:///T0/SECRET"]
)
def test_webhook_url_must_be_http_and_stays_secret(tmp_path: Path, url: str) -> None:
    """A webhook URL that is not http(s) fails at load; the URL (a secret) is not printed."""
    text = SERVER + f'\n[[alerts.webhooks]]\nformat = "slack"\nurl = "{url}"\n'
    messages = errors_of(tmp_path, text)
    assert len(messages) == 1
    assert "alerts.webhooks[0].url: expected an http:// or https:// URL" in messages[0]
    assert "hooks.example" not in messages[0] and "SECRET" not in messages[0]


@pytest.mark.parametrize(
    ("cron", "problem"),
    [("*/5 * * *", "4 fields, expected 5"), ("61 * * * *", "61"), ("* * * * mon-funday", "")],
)
def test_cron_line_apscheduler_cannot_parse(tmp_path: Path, cron: str, problem: str) -> None:
    """APScheduler's own parser judges the cron line at load, not at the daemon's start."""
    messages = errors_of(tmp_path, f'{SERVER}\n[daemon]\ncron = "{cron}"\n')
    assert len(messages) == 1
    assert "daemon.cron: expected crontab fields" in messages[0] and problem in messages[0]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (
            SERVER + 'omapi = { port = 70000, key_name = "k", key = "c2VjcmV0" }\n',
            "servers[0].omapi.port",
        ),
        (SERVER + '\n[daemon]\nmetrics = "127.0.0.1:99999"\n', "daemon.metrics"),
        (
            SERVER + '\n[[inventory]]\nname = "pve"\nkind = "proxmox"\nhost = "h"\nuser = "u"\n'
            'token_name = "t"\ntoken_value = "v"\nport = 0\n',
            "inventory[0].port",
        ),
    ],
)
def test_ports_out_of_range(tmp_path: Path, text: str, key: str) -> None:
    """Every port is 1-65535."""
    messages = errors_of(tmp_path, text)
    assert len(messages) == 1 and f"{key}: expected a port number" in messages[0]


def test_xenapi_url_missing_or_not_http(tmp_path: Path) -> None:
    """XenAPI's url is required (it used to pass as None) and must be http(s)."""
    base = SERVER + '\n[[inventory]]\nname = "xen"\nkind = "xenapi"\nusername = "root"\n'
    base += 'password = "pw"\n'
    missing = errors_of(tmp_path, base)
    assert len(missing) == 1 and "inventory[0].url: missing" in missing[0]
    wrong = errors_of(tmp_path, base + 'url = "xen-master.example"\n')
    assert len(wrong) == 1
    assert "inventory[0].url: expected an http:// or https:// URL" in wrong[0]


def test_kea_control_agent_must_be_http(tmp_path: Path) -> None:
    """Kea's control agent is an http(s) URL."""
    text = '[[servers]]\nname = "kea1"\nkind = "kea"\ncontrol_agent = "127.0.0.1:8000"\n'
    messages = errors_of(tmp_path, text)
    assert len(messages) == 1 and "servers[0].control_agent: expected an http" in messages[0]


@pytest.mark.parametrize(
    ("kind", "keys"),
    [
        ("command", {"command"}),
        ("file", {"path"}),
        ("libvirt", {"uri"}),
        ("xenapi", {"url", "username", "password"}),
        ("proxmox", {"host", "user", "token_name", "token_value"}),
    ],
)
def test_each_inventory_kind_names_every_missing_key(
    tmp_path: Path, kind: str, keys: set[str]
) -> None:
    """An inventory table with only name and kind lists each required key, once."""
    messages = errors_of(tmp_path, f'{SERVER}\n[[inventory]]\nname = "x"\nkind = "{kind}"\n')
    named = {m.split(": ")[1].removeprefix("inventory[0].") for m in messages}
    assert named == keys and len(messages) == len(keys)


@pytest.mark.parametrize(
    ("kind", "keys"),
    [("isc", {"leases", "dhcpd_conf"}), ("kea", {"control_socket"})],
)
def test_each_server_kind_names_what_is_missing(tmp_path: Path, kind: str, keys: set[str]) -> None:
    """A server table with only name and kind says what it needs."""
    messages = errors_of(tmp_path, f'[[servers]]\nname = "s"\nkind = "{kind}"\n')
    assert {m.split(": ")[1].removeprefix("servers[0].") for m in messages} == keys


def test_check_config_in_process_reports_all_new_problems_at_once(tmp_path: Path) -> None:
    """Several of the new checks in one file: all reported in one run, exit 3."""
    path = write(
        tmp_path,
        SERVER + '\n[state]\nkeep = "0s"\n[daemon]\ncron = "* * *"\n'
        '[reaper]\ngrace = "99999999999999999999w"\n',
    )
    result = run("-c", str(path), "check-config")
    assert result.status == 3
    assert len(result.err.strip().splitlines()) == 3


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ("[reaper]\nmax_shrink = 1.5\n", "reaper.max_shrink"),
        ("[reaper]\nmax_per_run = -1\n", "reaper.max_per_run"),
        ("[alerts]\nwarn_at = -0.1\n", "alerts.warn_at"),
        ("[alerts]\nwarn_at = 0.95\ncritical_at = 0.9\n", "alerts.warn_at"),
        ('[daemon]\nevery = "0s"\n', "daemon.every"),
        ('[daemon]\nevery = "5m"\ncron = "*/5 * * * *"\n', "daemon.cron"),
        ('[daemon]\nmetrics = "localhost"\n', "daemon.metrics"),
        ('[daemon]\nsite = "berlin dc"\n', "daemon.site"),
        ('[daemon]\nsite = ""\n', "daemon.site"),
    ],
)
def test_ranges_outside_the_table_are_refused(tmp_path: Path, section: str, key: str) -> None:
    """Each documented range is enforced with one line naming the key."""
    messages = errors_of(tmp_path, f"{SERVER}\n{section}")
    assert len(messages) == 1 and f": {key}: " in messages[0], messages


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ("servers", "timeout = 0"),
        ("servers", 'kind = "dnsmasq-typo"'),
    ],
)
def test_server_keys_out_of_range(tmp_path: Path, table: str, key: str) -> None:
    """A zero timeout and an unknown kind are refused."""
    text = SERVER.replace('kind = "isc"\n', "") if "kind" in key else SERVER
    messages = errors_of(tmp_path, f"{text}{key}\n")
    assert messages and all(": servers[0]." in m for m in messages), messages


@pytest.mark.parametrize("kind", ["xenapi", "proxmox"])
def test_tls_ca_and_verify_ssl_false_together_are_refused(tmp_path: Path, kind: str) -> None:
    """``tls_ca`` asks to verify against a CA, ``verify_ssl = false`` not to verify: one
    error naming tls_ca; either alone loads."""
    entry = {
        "xenapi": 'url = "https://xen1.example"\nusername = "root"\npassword = "pw"\n',
        "proxmox": 'host = "pve1"\nuser = "u@pve"\ntoken_name = "t"\ntoken_value = "v"\n',
    }[kind]
    base = f'{SERVER}\n[[inventory]]\nname = "x"\nkind = "{kind}"\n{entry}'
    both = errors_of(tmp_path, base + 'tls_ca = "/etc/ssl/ca.pem"\nverify_ssl = false\n')
    assert len(both) == 1 and "inventory[0].tls_ca: give tls_ca" in both[0]
    loaded = load(write(tmp_path, base + 'tls_ca = "/etc/ssl/ca.pem"\n'), {})
    assert loaded.inventory[0].tls_ca == Path("/etc/ssl/ca.pem")
