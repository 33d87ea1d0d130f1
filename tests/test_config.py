"""Tests for the config loader: every error named with file, key and line, all at once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from leasewatch.config import load, redacted
from leasewatch.errors import ConfigError

GOOD = """
[[servers]]
name = "dhcp1"
kind = "isc"
leases = "/var/lib/dhcp/dhcpd.leases"
dhcpd_conf = "/etc/dhcp/dhcpd.conf"
omapi = { host = "127.0.0.1", port = 7911, key_name = "omapi_key", key_env = "OMAPI_KEY" }

[[inventory]]
name = "hv"
kind = "command"
command = ["virsh", "list"]
networks = ["lab"]

[reaper]
grace = "15m"
max_per_run = 5
protect = ["52:54:00:AA:BB:CC", "198.18.1.0/28"]

[alerts]
warn_at = 0.7
critical_free = 2

[[alerts.webhooks]]
format = "slack"
url_file = "{secret}"

[state]
path = "/tmp/x.db"
keep = "7d"
"""


def write(tmp_path: Path, text: str) -> Path:
    """Write a config file and return its path."""
    path = tmp_path / "leasewatch.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_good_config_resolves_secrets(tmp_path: Path) -> None:
    """Secrets come from the environment and from files (trailing newline dropped)."""
    secret = tmp_path / "hook"
    secret.write_text("https://hooks.example/T000/SECRET\n")
    config = load(write(tmp_path, GOOD.replace("{secret}", str(secret))), {"OMAPI_KEY": "c2VjcmV0"})
    server = config.servers[0]
    assert server.omapi is not None and server.omapi.key.reveal() == "c2VjcmV0"
    assert config.alerts.webhooks[0].url.reveal() == "https://hooks.example/T000/SECRET"
    assert config.reaper.grace == timedelta(minutes=15)
    assert config.reaper.protect_macs == frozenset({"52:54:00:aa:bb:cc"})
    assert config.alerts.thresholds.warn_at == 0.7
    assert config.state.keep == timedelta(days=7)
    shown = repr(redacted(config))
    assert "SECRET" not in shown and "c2VjcmV0" not in shown and "<redacted>" in shown


def test_every_error_reported_once_with_line(tmp_path: Path) -> None:
    """Unknown keys, wrong types and bad durations are all reported in one go."""
    text = """
[[servers]]
name = "dhcp1"
kind = "isc"
leases = 42
dhcpd_conf = "/etc/dhcp/dhcpd.conf"
colour = "blue"

[reaper]
grace = "soon"
"""
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load(path, {})
    messages = info.value.messages
    assert f"{path}:5: servers[0].leases: expected the path of dhcpd.leases, got 42" in messages
    assert f"{path}:7: servers[0].colour: unknown key" in messages
    assert any(m.startswith(f"{path}:10: reaper.grace: expected a duration") for m in messages)
    assert len(messages) == 3


def test_missing_file_and_bad_toml(tmp_path: Path) -> None:
    """A missing file and a TOML syntax error are one line each."""
    with pytest.raises(ConfigError, match="config file not found"):
        load(tmp_path / "nope.toml", {})
    with pytest.raises(ConfigError, match=r"invalid TOML: .*line 1"):
        load(write(tmp_path, "[servers\n"), {})


def test_missing_env_secret_named_without_value(tmp_path: Path) -> None:
    """An unset secret variable is named; no secret value is printed."""
    text = GOOD.replace("{secret}", str(tmp_path / "missing"))
    with pytest.raises(ConfigError) as info:
        load(write(tmp_path, text), {})
    text_out = str(info.value)
    assert "environment variable OMAPI_KEY is not set" in text_out
    assert "cannot read secret file" in text_out


def test_reaper_reads_trust_duid_mac_and_v6_protect(tmp_path: Path) -> None:
    """``trust_duid_mac`` is off unless set; ``protect`` takes IPv6 CIDRs beside IPv4 ones."""
    servers = '[[servers]]\nname = "d"\nkind = "isc"\nleases = "/l"\ndhcpd_conf = "/c"\n'
    plain = load(write(tmp_path, servers), {})
    assert plain.reaper.trust_duid_mac is False
    text = '[reaper]\ntrust_duid_mac = true\nprotect = ["2001:db8:1::/64", "198.18.1.0/28"]\n'
    config = load(write(tmp_path, servers + text), {})
    assert config.reaper.trust_duid_mac is True
    assert [str(n) for n in config.reaper.protect_networks] == ["2001:db8:1::/64", "198.18.1.0/28"]
