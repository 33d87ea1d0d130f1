"""The [[servers]] keys of kind = "dnsmasq": each flavour, and each mistake named once."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from leasewatch.config import ServerConfig, parse
from leasewatch.errors import ConfigError
from leasewatch.leases import kinds as lease_kinds
from leasewatch.reaper import kinds as reaper_kinds


def _server(body: str) -> ServerConfig:
    text = f'[[servers]]\nname = "vm"\nkind = "dnsmasq"\n{body}\n'
    config = parse(Path("/etc/lw.toml"), text, tomllib.loads(text), {})
    return config.servers[0]


def _errors(body: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        _server(body)
    return caught.value.messages


def test_lease_file_flavour() -> None:
    """leases + dnsmasq_conf + interface (+ netns): releases possible."""
    server = _server(
        'leases = "/var/lib/misc/dnsmasq.leases"\ndnsmasq_conf = "/etc/dnsmasq.conf"\n'
        'interface = "br0"\nnetns = "qdhcp-1"\ntimeout = 3'
    )
    assert server.leases == Path("/var/lib/misc/dnsmasq.leases")
    assert server.dnsmasq_conf == Path("/etc/dnsmasq.conf")
    assert (server.interface, server.netns, server.timeout) == ("br0", "qdhcp-1", 3.0)
    assert reaper_kinds.can_release(server)


def test_dbus_releases_without_an_interface() -> None:
    """dbus = NAME: releases through DeleteDhcpLease, no interface needed."""
    server = _server('leases = "/l"\ndnsmasq_conf = "/c"\ndbus = "uk.org.thekelleys.dnsmasq.z1"')
    assert server.dbus == "uk.org.thekelleys.dnsmasq.z1"
    assert reaper_kinds.can_release(server)


def test_without_interface_is_report_only() -> None:
    """No interface to send dhcp_release on: report only, no backend."""
    server = _server('leases = "/l"\ndnsmasq_conf = "/c"')
    assert not reaper_kinds.can_release(server)
    assert reaper_kinds.build(server) is None


def test_status_flavour_releases_on_the_bridge_of_its_name() -> None:
    """libvirt's <bridge>.status names the interface to release on."""
    server = _server(
        'status = "/var/lib/libvirt/dnsmasq/virbr0.status"\n'
        'dnsmasq_conf = "/var/lib/libvirt/dnsmasq/default.conf"'
    )
    assert reaper_kinds.can_release(server)
    from leasewatch.reaper.dnsmasq import release_interface

    assert release_interface(server) == "virbr0"


def test_libvirt_network_flavour_defaults_to_the_system_uri() -> None:
    """libvirt_network alone: qemu:///system."""
    server = _server('libvirt_network = "default"')
    assert (server.libvirt_network, server.uri) == ("default", "qemu:///system")
    assert _server('libvirt_network = "n"\nuri = "qemu+ssh://h/system"').uri == (
        "qemu+ssh://h/system"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('dnsmasq_conf = "/c"', "servers[0].leases: give exactly one of leases, status"),
        ('leases = "/l"\nstatus = "/s"\ndnsmasq_conf = "/c"', "give exactly one of"),
        ('leases = "/l"', "servers[0].dnsmasq_conf: missing; leases needs the dhcp-range"),
        ('libvirt_network = "n"\ndnsmasq_conf = "/c"', "not with libvirt_network"),
        ('leases = "/l"\ndnsmasq_conf = "/c"\nuri = "test:///default"', "uri: only with"),
        ('leases = "/l"\ndnsmasq_conf = "/c"\ninterface = "a/b"', "expected a network interface"),
        ('leases = "/l"\ndnsmasq_conf = "/c"\ninterface = "x1234567890123456"', "interface"),
        ('leases = "/l"\ndnsmasq_conf = "/c"\nnetns = "a b"', "expected a network namespace"),
        ('leases = "/l"\ndnsmasq_conf = "/c"\ncontrol_socket = "/s"', "unknown key"),
        ('leases = "/l"\ndnsmasq_conf = "/c"\ndbus = "dnsmasq"', "expected a D-Bus name"),
    ],
)
def test_mistakes_are_named(body: str, message: str) -> None:
    """Each wrong combination is one line naming the key."""
    errors = _errors(body)
    assert any(message in e for e in errors), errors


def test_dnsmasq_keys_are_unknown_on_other_kinds() -> None:
    """interface, status, netns ... belong to dnsmasq only."""
    text = (
        '[[servers]]\nname = "d"\nkind = "isc"\nleases = "/l"\ndhcpd_conf = "/c"\n'
        'interface = "eth0"\n'
    )
    with pytest.raises(ConfigError, match=r"servers\[0\]\.interface: unknown key"):
        parse(Path("/etc/lw.toml"), text, tomllib.loads(text), {})


def test_dnsmasq_has_a_source_and_a_backend() -> None:
    """The kind is in both maps."""
    assert "dnsmasq" in lease_kinds.SOURCES and "dnsmasq" in reaper_kinds.BACKENDS


def test_quick_look_reads_dnsmasq_without_a_config(tmp_path: Path) -> None:
    """report --dnsmasq-leases F --dnsmasq-conf C: a dnsmasq server, no config file."""
    from tests.cli_helpers import run

    leases = tmp_path / "dnsmasq.leases"
    leases.write_text("0 52:54:00:00:00:01 198.18.0.5 a *\n0 52:54:00:00:00:02 198.18.0.6 b *\n")
    conf = tmp_path / "dnsmasq.conf"
    conf.write_text("dhcp-range=198.18.0.5,198.18.0.8,255.255.255.0,1h\n")
    done = run("report", "--format", "json", "--dnsmasq-leases", str(leases),
               "--dnsmasq-conf", str(conf))  # fmt: skip
    assert done.status == 0, done.err
    (pool,) = json.loads(done.out)["pools"]
    assert (pool["server"], pool["size"], pool["active"]) == ("dnsmasq", 4, 2)
    only = run("report", "--dnsmasq-leases", str(leases))
    assert only.status == 2 and "--dnsmasq-leases needs --dnsmasq-conf too" in only.err
