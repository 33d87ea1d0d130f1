"""``leasewatch init``: a config from what a machine runs, that check-config accepts."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from leasewatch.config import load
from tests.cli_helpers import run

SECRET = "c2VjcmV0LW5ldmVyLWNvcGllZA=="

DHCPD_CONF = f"""
# a comment that mentions omapi-port 1;
authoritative;
omapi-port 7911;
key "omapi_key" {{
  algorithm hmac-md5;
  secret "{SECRET}";
}}
omapi-key omapi_key;

subnet 198.18.1.0 netmask 255.255.255.0 {{
  range 198.18.1.10 198.18.1.29;
}}
"""

LEASES = """lease 198.18.1.10 {
  starts 4 2026/11/26 10:00:00;
  ends 4 2026/11/26 22:00:00;
  binding state active;
  hardware ethernet 52:54:00:00:00:01;
}
"""


def layout(root: Path, files: dict[str, str]) -> Path:
    """Write ``files`` (paths relative to ``root``) and return ``root``."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (root / "var/lib").mkdir(parents=True, exist_ok=True)
    return root


def init_and_check(root: Path, config: Path) -> str:
    """Run ``init`` under ``root`` into ``config``, then ``check-config`` on it; the text."""
    done = run("-c", str(config), "init", "--root", str(root))
    assert done.status == 0, done.err
    assert f"wrote {config}" in done.out
    checked = run("-c", str(config), "check-config")
    assert checked.status == 0, checked.err
    return config.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("conf", "leases"),
    [
        ("etc/dhcp/dhcpd.conf", "var/lib/dhcp/dhcpd.leases"),  # Debian, Ubuntu
        ("etc/dhcpd.conf", "var/lib/dhcpd/dhcpd.leases"),  # RHEL
    ],
)
def test_dhcpd_at_debian_and_rhel_paths(tmp_path: Path, conf: str, leases: str) -> None:
    """dhcpd's files are found where each distribution puts them; the config reports."""
    root = layout(tmp_path / "root", {conf: DHCPD_CONF, leases: LEASES})
    text = init_and_check(root, tmp_path / "leasewatch.toml")
    assert f'dhcpd_conf = "{root / conf}"' in text and f'leases = "{root / leases}"' in text
    report = run("-c", str(tmp_path / "leasewatch.toml"), "report", "--format", "json")
    assert report.status == 0, report.err
    assert "198.18.1.0/24" in report.out


def test_omapi_key_is_named_with_its_place_never_copied(tmp_path: Path) -> None:
    """The OMAPI key is named, with the file and line of its secret; the secret is not."""
    root = layout(
        tmp_path / "root",
        {"etc/dhcp/dhcpd.conf": DHCPD_CONF, "var/lib/dhcp/dhcpd.leases": LEASES},
    )
    printed = run("init", "--print", "--root", str(root))
    assert printed.status == 0, printed.err
    assert SECRET not in printed.out + printed.err
    assert '#key_name = "omapi_key"' in printed.out and "#port = 7911" in printed.out
    assert f"its secret is in {root}/etc/dhcp/dhcpd.conf:5" in printed.out
    assert "\n[servers.omapi]" not in printed.out  # commented: report-only until asked


@pytest.fixture
def unix_socket(tmp_path: Path) -> Iterator[Path]:
    """A listening AF_UNIX socket standing in for Kea's control socket."""
    path = tmp_path / "root/run/kea/kea4-ctrl-socket"
    path.parent.mkdir(parents=True)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.bind(str(path))
        sock.listen(1)
        yield path


KEA_CONF = """// Kea's config allows comments
{ "Dhcp4": {
    "control-socket": { "socket-type": "unix", "socket-name": "/run/kea/kea4-ctrl-socket" },
    "lease-database": { "type": "memfile", "name": "/var/lib/kea/kea-leases4.csv" }
} }
"""


def test_kea_by_its_control_socket(tmp_path: Path, unix_socket: Path) -> None:
    """Kea's socket, read from kea-dhcp4.conf, is used when it is there."""
    root = layout(tmp_path / "root", {"etc/kea/kea-dhcp4.conf": KEA_CONF})
    text = init_and_check(root, tmp_path / "leasewatch.toml")
    assert f'control_socket = "{unix_socket}"' in text


def test_kea_without_its_socket_reads_the_lease_file_report_only(tmp_path: Path) -> None:
    """No socket (Kea stopped): the memfile is read instead, and the config says why."""
    root = layout(
        tmp_path / "root",
        {"etc/kea/kea-dhcp4.conf": KEA_CONF, "var/lib/kea/kea-leases4.csv": ""},
    )
    text = init_and_check(root, tmp_path / "leasewatch.toml")
    assert f'leases = "{root}/var/lib/kea/kea-leases4.csv"' in text
    assert "no control socket at /run/kea/kea4-ctrl-socket" in text


def test_libvirt_networks_and_dnsmasq_become_servers(tmp_path: Path) -> None:
    """libvirt's networks make a libvirt inventory and a dnsmasq server each (status file and
    its conf); a plain dnsmasq with dhcp-range lines is a server too."""
    root = layout(
        tmp_path / "root",
        {
            "var/lib/libvirt/dnsmasq/default.conf": "dhcp-range=198.18.122.2,198.18.122.254\n",
            "var/lib/libvirt/dnsmasq/default.status": "[]\n",
            "var/lib/misc/dnsmasq.leases": "",
            "etc/dnsmasq.conf": "interface=br0\ndhcp-range=198.18.5.10,198.18.5.50,12h\n",
        },
    )
    text = init_and_check(root, tmp_path / "leasewatch.toml")
    assert '[[inventory]]\nname = "libvirt"\nkind = "libvirt"' in text
    assert "libvirt networks (libvirt's own dnsmasq): default" in text
    assert (
        f'name = "libvirt-default"\nkind = "dnsmasq"\n'
        f'status = "{root}/var/lib/libvirt/dnsmasq/default.status"'
    ) in text
    assert (
        f'name = "dnsmasq"\nkind = "dnsmasq"\nleases = "{root}/var/lib/misc/dnsmasq.leases"' in text
    )


def test_dnsmasq_without_ranges_is_a_note(tmp_path: Path) -> None:
    """A dnsmasq lease file without dhcp-range in /etc/dnsmasq.conf is mentioned, not added."""
    root = layout(
        tmp_path / "root",
        {
            "etc/dhcp/dhcpd.conf": DHCPD_CONF,
            "var/lib/dhcp/dhcpd.leases": LEASES,
            "var/lib/misc/dnsmasq.leases": "",
        },
    )
    text = init_and_check(root, tmp_path / "leasewatch.toml")
    assert f"dnsmasq's leases at {root}/var/lib/misc/dnsmasq.leases, but no dhcp-range" in text
    assert '\nkind = "dnsmasq"' not in text


def test_nothing_found_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    """An empty machine: exit 1, one line naming where it looked and --example."""
    root = layout(tmp_path / "root", {})
    config = tmp_path / "leasewatch.toml"
    result = run("-c", str(config), "init", "--root", str(root))
    assert result.status == 1
    assert result.err.count("\n") == 1 and "no DHCP server found" in result.err
    assert "init --example" in result.err and not config.exists()


def test_an_existing_config_is_kept_unless_forced(tmp_path: Path) -> None:
    """init never overwrites a config; --force replaces it."""
    root = layout(
        tmp_path / "root",
        {"etc/dhcp/dhcpd.conf": DHCPD_CONF, "var/lib/dhcp/dhcpd.leases": LEASES},
    )
    config = tmp_path / "leasewatch.toml"
    config.write_text("# mine\n")
    kept = run("-c", str(config), "init", "--root", str(root))
    assert kept.status == 1 and "exists" in kept.err
    assert config.read_text() == "# mine\n"
    assert run("-c", str(config), "init", "--root", str(root), "--force").status == 0
    assert "[[servers]]" in config.read_text()


def test_example_and_unit_come_from_the_package(tmp_path: Path) -> None:
    """--example and --unit print the files the wheel carries."""
    example = run("init", "--example")
    assert example.status == 0 and "[[servers]]" in example.out
    config = tmp_path / "example.toml"
    config.write_text(example.out)
    loaded = load(config, {})  # report-only as shipped: one dhcpd, no OMAPI, no secret
    assert [s.kind for s in loaded.servers] == ["isc"] and loaded.servers[0].omapi is None
    unit = run("init", "--unit")
    assert unit.status == 0 and "[Service]" in unit.out
    assert "ExecStart=" in unit.out and "LoadCredential=leasewatch.omapi-key" in unit.out
