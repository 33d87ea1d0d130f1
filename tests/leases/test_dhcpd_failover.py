"""dhcpd failover as the ISC reader sees it: dhcpd.conf's ``failover peer`` and the pools
naming it, the journal's ``failover peer ... state`` blocks, and the pair member it makes."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from leasewatch.config import OmapiConfig, Secret, ServerConfig
from leasewatch.errors import LeasesError
from leasewatch.leases import dhcpd_conf
from leasewatch.leases.isc import IscLeaseSource
from leasewatch.model import PairMode

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "isc"
STATE = (
    'failover peer "fo-campus" state {{\n  my state {} at 3 2025/01/01 11:00:00;\n'
    "  partner state normal at 3 2025/01/01 10:00:01;\n}}\n"
)


def test_the_fixture_declares_a_primary_its_pools_name() -> None:
    """The fixture's ``failover peer "fo-campus"``: primary, both addresses, named by pools."""
    conf = dhcpd_conf.parse(FIXTURES / "dhcpd.conf")
    (peer,) = conf.failover
    assert (peer.name, peer.role, peer.address, peer.peer_address) == (
        "fo-campus", "primary", "198.18.0.1", "198.18.0.2",
    )  # fmt: skip
    assert conf.used_peers == ("fo-campus",)
    assert peer.relationship == 'failover peer "fo-campus" 198.18.0.1 198.18.0.2'


def test_both_peers_compute_one_relationship(tmp_path: Path) -> None:
    """The secondary's declaration (addresses the other way round) names the same pair."""
    conf = tmp_path / "dhcpd.conf"
    conf.write_text(
        'failover peer "fo-campus" { secondary; address 198.18.0.2; peer address 198.18.0.1; }\n'
        'subnet 198.18.0.0 netmask 255.255.255.0 { pool { failover peer "fo-campus"; '
        "range 198.18.0.10 198.18.0.20; } }\n"
    )
    (peer,) = dhcpd_conf.parse(conf).failover
    assert peer.role == "secondary"
    assert peer.relationship == 'failover peer "fo-campus" 198.18.0.1 198.18.0.2'


def test_a_peer_without_its_role_or_addresses_is_one_line(tmp_path: Path) -> None:
    """No role, no peer address: one line naming the file, the line and what is missing."""
    conf = tmp_path / "dhcpd.conf"
    conf.write_text('\nfailover peer "x" { address 198.18.0.1; }\n')
    with pytest.raises(LeasesError) as info:
        dhcpd_conf.parse(conf)
    assert str(info.value) == (
        f"{conf}:2: expected 'primary;' or 'secondary;' and 'peer address ...;' in "
        'failover peer "x"'
    )


def test_the_reader_says_its_server_is_a_primary_its_journal_says_normal(tmp_path: Path) -> None:
    """No OMAPI: the journal's last ``my state`` is shown, not trusted (``normal`` None); an
    appended state block is the newer word."""
    leases = tmp_path / "dhcpd.leases"
    leases.write_text(STATE.format("normal"))
    source = IscLeaseSource(ServerConfig("dhcp1", "isc", leases=leases,
                                         dhcpd_conf=FIXTURES / "dhcpd.conf"))  # fmt: skip
    pairing = source.read().pairing
    assert pairing is not None
    assert (pairing.mode, pairing.role, pairing.name, pairing.peers) == (
        PairMode.FAILOVER, "primary", "fo-campus", ("198.18.0.2",),
    )  # fmt: skip
    assert (pairing.state, pairing.normal, pairing.state_from) == ("normal", None, "journal")
    with leases.open("a") as f:
        f.write(STATE.format("communications-interrupted"))
    again = source.read().pairing
    assert again is not None and again.state == "communications-interrupted"


def test_omapi_that_does_not_answer_is_a_warning(tmp_path: Path) -> None:
    """OMAPI configured but refusing: the state is not known live, and the snapshot says so
    (a warning: ``check`` is not OK)."""
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    omapi = OmapiConfig("127.0.0.1", port, "omapi_key", Secret("c2VjcmV0"), timeout=1)
    server = ServerConfig("dhcp1", "isc", leases=FIXTURES / "dhcpd.leases",
                          dhcpd_conf=FIXTURES / "dhcpd.conf", omapi=omapi)  # fmt: skip
    snap = IscLeaseSource(server).read()
    assert snap.pairing is not None and snap.pairing.normal is None
    said = "connection refused (is dhcpd running with omapi-port set?): failover state not known"
    assert any(said in w for w in snap.warnings), snap.warnings
