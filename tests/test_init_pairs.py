"""``leasewatch init`` on a member of a pair: the partner a dhcpd ``failover peer`` or Kea's
HA hook names is said, and written commented out when it cannot be reached from here (the
lab proves a reachable Kea HA peer: tests/lab/test_init_lab.py)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli_helpers import run
from tests.test_init import LEASES, init_and_check, layout

FAILOVER_CONF = """
failover peer "dc" {
  primary;
  address 198.18.0.2;
  port 647;
  peer address 198.18.0.3;
  peer port 847;
  mclt 600;
  split 128;
}
subnet 198.18.1.0 netmask 255.255.255.0 {
  pool {
    failover peer "dc";
    range 198.18.1.10 198.18.1.29;
  }
}
"""

PASSWORD = "never-in-the-output"


@pytest.fixture
def closed_url() -> Iterator[str]:
    """A loopback URL whose port is taken by this test and refuses connections."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))  # bound, never listening: connection refused
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/"


def kea_ha_conf(url: str, relationships: int = 1) -> str:
    """kea-dhcp4.conf of "server1" (primary) in hot-standby with "server2" at ``url``, with
    Kea's comments; ``relationships`` > 1 makes a hub and spoke."""
    peers = [
        {"name": "server1", "url": "http://198.18.0.2:8001/", "role": "primary"},
        {"name": "server2", "url": url, "role": "standby", "basic-auth-user": "ha",
         "basic-auth-password": PASSWORD},
    ]  # fmt: skip
    ha = {"this-server-name": "server1", "mode": "hot-standby", "peers": peers}
    dhcp4 = {
        "lease-database": {"type": "memfile", "name": "/var/lib/kea/kea-leases4.csv"},
        "hooks-libraries": [
            {"library": "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_lease_cmds.so"},
            {
                "library": "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_ha.so",
                "parameters": {"high-availability": [ha] * relationships},
            },
        ],
    }
    body = json.dumps({"Dhcp4": dhcp4}, indent=2)
    return f"// kea-dhcp4.conf\n# both comment styles\n/* and this one */\n{body}\n"


def test_a_failover_peer_is_named_with_its_place_and_its_partner_commented_out(
    tmp_path: Path,
) -> None:
    """dhcpd.conf's failover peer: a note naming its file:line, the role and the partner's
    address, and the partner's entry commented out; the config passes check-config."""
    root = layout(
        tmp_path / "root",
        {"etc/dhcp/dhcpd.conf": FAILOVER_CONF, "var/lib/dhcp/dhcpd.leases": LEASES},
    )
    text = init_and_check(root, tmp_path / "leasewatch.toml")
    assert (
        f'# - {root}/etc/dhcp/dhcpd.conf:2: failover peer "dc": this dhcpd is its primary'
        " (198.18.0.2), its partner is 198.18.0.3;"
    ) in text
    assert '# The failover partner of "dhcpd" (failover peer "dc", 198.18.0.3)' in text
    assert '#name = "dhcpd-partner"\n#kind = "isc"\n' in text
    assert text.count("\n[[servers]]") == 1


def test_a_kea_ha_peer_that_does_not_answer_is_commented_out_without_its_password(
    tmp_path: Path, closed_url: str
) -> None:
    """kea-dhcp4.conf's HA hook (with Kea's comments): this server is named by its
    this-server-name, the relationship is said, the peer that refuses the connection is
    written commented out with its basic-auth user, and its password never."""
    root = layout(
        tmp_path / "root",
        {"etc/kea/kea-dhcp4.conf": kea_ha_conf(closed_url), "var/lib/kea/kea-leases4.csv": ""},
    )
    done = run("-c", str(tmp_path / "leasewatch.toml"), "init", "--root", str(root), "--print")
    assert done.status == 0, done.err
    text = done.out
    assert PASSWORD not in text + done.err
    assert 'name = "kea-server1"\nkind = "kea"\nleases = ' in text
    assert (
        f'makes this Kea "server1" (primary) in a hot-standby HA relationship with "server2"'
        f" (standby, {closed_url})"
    ) in text
    assert 'Kea HA peer "server2" did not answer from here (' in text
    assert (
        f'#name = "kea-server2"\n#kind = "kea"\n#control_url = "{closed_url}"\n' in text
    ) and '#username = "ha"\n' in text
    assert text.count("\n[[servers]]") == 1


def test_several_kea_ha_relationships_are_a_note(tmp_path: Path, closed_url: str) -> None:
    """Kea 3.0's hub and spoke (two relationships): a note, the server kept as "kea"."""
    root = layout(
        tmp_path / "root",
        {
            "etc/kea/kea-dhcp4.conf": kea_ha_conf(closed_url, relationships=2),
            "var/lib/kea/kea-leases4.csv": "",
        },
    )
    text = init_and_check(root, tmp_path / "leasewatch.toml")
    assert "2 HA relationships (hub and spoke)" in text and "HA peers were not looked for" in text
    assert 'name = "kea"\n' in text
