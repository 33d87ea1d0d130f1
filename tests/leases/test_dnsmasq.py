"""dnsmasq's lease file, libvirt's status file and network XML, and every dhcp-range form."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from pathlib import Path
from typing import Any

import pytest

from leasewatch.config import ServerConfig
from leasewatch.core.analysis import analyse
from leasewatch.errors import LeasesError
from leasewatch.leases.dnsmasq import (
    INFINITE,
    DhcpRange,
    DnsmasqLeaseSource,
    leases_from_api,
    parse_dhcp_host,
    parse_dhcp_range,
    parse_lease_file,
    parse_network_xml,
    parse_status,
    read_conf,
    read_settled,
    v4_range,
)
from leasewatch.model import FixedHost, MacSource, PoolKind, Range

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)

# The shape dnsmasq 2.90 writes (lines as the lab's dnsmasq wrote them), plus the 2.92
# leasequery trailer lines and a non-Ethernet hardware address.
LEASE_FILE = """\
1796280905 5a:2b:a0:8d:4a:28 198.18.1.202 vm-003 *
0 9a:86:95:03:7f:8a 198.18.1.203 * 01:9a:86:95:03:7f:8a
1796280905 06-00:11:22:33:44:55 198.18.1.204 tokenring *
duid 00:01:00:01:32:9f:da:49:3a:1b:e2:b6:a2:c4
1796029205 1729740790 2001:db8:1::1c4 * 00:01:00:01:32:9f:da:49:9a:a1:67:19:bf:f6
1796029205 T17 2001:db8:1::1c5 host6 00:03:00:01:02:00:00:00:00:01
agent-info 198.18.1.202 01:02:03
vendorclass 198.18.1.202 64:68:63:70
"""


def test_lease_file_v4_lines_infinite_and_hardware_types() -> None:
    """v4 lines: expiry 0 is infinite, '*' is no name, a TT- prefixed address is no MAC."""
    found = parse_lease_file(LEASE_FILE, "/x/dnsmasq.leases", "dm")
    by_ip = {str(lease.ip): lease for lease in found.leases}
    assert list(by_ip) == ["198.18.1.202", "198.18.1.203", "198.18.1.204"]
    first = by_ip["198.18.1.202"]
    assert first.mac == "5a:2b:a0:8d:4a:28" and first.hostname == "vm-003"
    assert first.ends == datetime.fromtimestamp(1796280905, UTC) and first.server == "dm"
    infinite = by_ip["198.18.1.203"]
    assert infinite.ends is None and infinite.hostname is None and infinite.is_active(NOW)
    assert by_ip["198.18.1.204"].mac is None


def test_lease_file_v6_lines_are_read_as_data() -> None:
    """The duid line and the v6 lines (IAID, T-prefixed IA_TA) become V6Lease values."""
    found = parse_lease_file(LEASE_FILE, "/x/dnsmasq.leases")
    assert found.server_duid == "00:01:00:01:32:9f:da:49:3a:1b:e2:b6:a2:c4"
    assert [(str(v.ip), v.iaid, v.hostname) for v in found.v6] == [
        ("2001:db8:1::1c4", "1729740790", None),
        ("2001:db8:1::1c5", "T17", "host6"),
    ]
    assert found.v6[0].duid == "00:01:00:01:32:9f:da:49:9a:a1:67:19:bf:f6"


def test_lease_file_unknown_lines_are_skipped_with_file_and_line() -> None:
    """dnsmasq 2.92's agent-info/vendorclass lines and garbage: a warning naming file:line."""
    text = LEASE_FILE + "not a lease\n1796280905 zz:zz 198.18.1.9 x *\n"
    found = parse_lease_file(text, "/x/dnsmasq.leases")
    assert len(found.leases) == 4  # an unreadable MAC still holds its address
    assert found.leases[-1].mac is None and str(found.leases[-1].ip) == "198.18.1.9"
    assert found.leases[-1].mac_unreadable  # unknown, never an orphan
    assert not found.leases[2].mac_unreadable  # a token-ring client: no MAC, not unreadable
    assert [w.split(": ")[0] for w in found.warnings] == [
        "/x/dnsmasq.leases:7",
        "/x/dnsmasq.leases:8",
        "/x/dnsmasq.leases:9",
        "/x/dnsmasq.leases:10",
    ]
    assert "skipped" in found.warnings[0] and "agent-info" in found.warnings[0]


def test_empty_lease_file_is_no_leases() -> None:
    """An empty file (dnsmasq with no lease yet) is valid and holds nothing."""
    found = parse_lease_file("", "/x/dnsmasq.leases")
    assert found.leases == () and found.v6 == () and found.warnings == ()


STATUS = [
    {
        "ip-address": "198.18.1.205",
        "mac-address": "BA:24:E4:E0:64:49",
        "hostname": "vm-001",
        "expiry-time": 1796280907,
    },
    {"ip-address": "198.18.1.206", "mac-address": "ba:24:e4:e0:64:50"},
    {
        "iaid": "119985692",
        "ip-address": "2001:db8:1::116",
        "mac-address": "fe:f2:07:26:d6:1c",
        "client-id": "00:01:00:01:32:9f:da:4c:fe:f2:07:26:d6:1c",
        "server-duid": "00:01:00:01:32:9f:da:4b:6a:63:40:d7:a5:af",
        "expiry-time": 1796029208,
    },
    {"mac-address": "00:00:00:00:00:01"},
]


def test_status_file_v4_v6_and_infinite() -> None:
    """libvirt's status: no expiry-time is infinite; v6 entries keep the MAC libvirt saw."""
    found = parse_status(json.dumps(STATUS), "/x/virbr0.status", "lv")
    assert [(str(x.ip), x.mac, x.ends) for x in found.leases] == [
        ("198.18.1.205", "ba:24:e4:e0:64:49", datetime.fromtimestamp(1796280907, UTC)),
        ("198.18.1.206", "ba:24:e4:e0:64:50", None),
    ]
    assert found.v6[0].mac == "fe:f2:07:26:d6:1c" and found.v6[0].iaid == "119985692"
    assert found.warnings == (
        "/x/virbr0.status: entry 4: skipped: no valid ip-address or expiry-time",
    )


@pytest.mark.parametrize("text", ["[{", '{"a": 1}'], ids=["torn", "object"])
def test_status_file_that_is_not_a_json_array_is_an_error(text: str) -> None:
    """A status file that is not a JSON array: one line naming the file."""
    with pytest.raises(LeasesError, match=r"^/x/virbr0\.status"):
        parse_status(text, "/x/virbr0.status")


def test_api_leases_from_python_libvirt_dicts() -> None:
    """DHCPLeases() dicts: expirytime 0 is infinite; IPv6 entries are kept apart."""
    raw: list[dict[str, Any]] = [
        {"expirytime": 0, "type": 0, "mac": "52:54:00:aa:bb:cc", "iaid": None,
         "ipaddr": "198.18.122.10", "prefix": 24, "hostname": "a", "clientid": None,
         "iface": "virbr0"},
        {"expirytime": 1796029208, "type": 1, "mac": "52:54:00:aa:bb:cd", "iaid": "5",
         "ipaddr": "2001:db8::5", "prefix": 64, "hostname": None, "clientid": "00:01",
         "iface": "virbr0"},
    ]  # fmt: skip
    found = leases_from_api(raw, "lv")
    assert [(str(x.ip), x.mac, x.ends) for x in found.leases] == [
        ("198.18.122.10", "52:54:00:aa:bb:cc", None)
    ]
    assert found.v6[0].ip == IPv6Address("2001:db8::5")


# ---------------------------------------------------------------------------- dhcp-range

V4 = IPv4Address
V6 = IPv6Address


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("198.18.0.50,198.18.0.150", DhcpRange(V4("198.18.0.50"), V4("198.18.0.150"))),
        (
            "198.18.0.50,198.18.0.150,12h",
            DhcpRange(V4("198.18.0.50"), V4("198.18.0.150"), lease_time=43200),
        ),
        (
            "198.18.0.50,198.18.0.150,255.255.255.0,12h",
            DhcpRange(V4("198.18.0.50"), V4("198.18.0.150"), V4("255.255.255.0"), lease_time=43200),
        ),
        (
            "198.18.0.50,198.18.0.150,255.255.255.0,198.18.0.255,45m",
            DhcpRange(
                V4("198.18.0.50"),
                V4("198.18.0.150"),
                V4("255.255.255.0"),
                V4("198.18.0.255"),
                lease_time=2700,
            ),
        ),
        (  # reversed ends are swapped, as dnsmasq does
            "198.18.0.9,198.18.0.1,infinite",
            DhcpRange(V4("198.18.0.1"), V4("198.18.0.9"), lease_time=INFINITE),
        ),
        (
            "198.18.0.1,198.18.0.9,2w",
            DhcpRange(V4("198.18.0.1"), V4("198.18.0.9"), lease_time=1209600),
        ),
        (
            "198.18.0.1,198.18.0.9,3600",
            DhcpRange(V4("198.18.0.1"), V4("198.18.0.9"), lease_time=3600),
        ),
        (  # under two minutes is raised to two minutes
            "198.18.0.1,198.18.0.9,30s",
            DhcpRange(V4("198.18.0.1"), V4("198.18.0.9"), lease_time=120),
        ),
        (
            "set:red,198.18.0.1,198.18.0.9",
            DhcpRange(V4("198.18.0.1"), V4("198.18.0.9"), set_tag="red"),
        ),
        (  # the old syntax: a bare word is the tag to set
            "red,198.18.0.1,198.18.0.9",
            DhcpRange(V4("198.18.0.1"), V4("198.18.0.9"), set_tag="red"),
        ),
        (
            "tag:green,tag:!blue,set:red,198.18.0.1,198.18.0.9",
            DhcpRange(V4("198.18.0.1"), V4("198.18.0.9"), set_tag="red", tags=("green", "!blue")),
        ),
        (  # net: is the old tag:
            "net:green,198.18.0.1,198.18.0.9",
            DhcpRange(V4("198.18.0.1"), V4("198.18.0.9"), tags=("green",)),
        ),
        (  # Proxmox SDN's form
            "set:subnet1,198.18.0.0,static,255.255.255.0,infinite",
            DhcpRange(
                V4("198.18.0.0"),
                None,
                V4("255.255.255.0"),
                lease_time=INFINITE,
                modes=("static",),
                set_tag="subnet1",
            ),
        ),
        ("198.18.0.0,proxy", DhcpRange(V4("198.18.0.0"), None, modes=("proxy",))),
        (
            "1234::2,1234::500,64,12h",
            DhcpRange(V6("1234::2"), V6("1234::500"), prefix=64, lease_time=43200),
        ),
        ("1234::2,1234::500", DhcpRange(V6("1234::2"), V6("1234::500"), prefix=64)),
        (
            "1234::,ra-only",
            DhcpRange(V6("1234::"), None, prefix=64, modes=("ra-only",)),
        ),
        (
            "1234::,ra-names,slaac,64,deprecated",
            DhcpRange(V6("1234::"), None, prefix=64, modes=("ra-names", "slaac", "deprecated")),
        ),
        (
            "::1,::400,constructor:eth0,ra-stateless,12h",
            DhcpRange(
                V6("::1"),
                V6("::400"),
                prefix=64,
                lease_time=43200,
                modes=("ra-stateless",),
                constructor="eth0",
            ),
        ),
        ("1234::,static", DhcpRange(V6("1234::"), None, prefix=64, modes=("static",))),
        (
            "tag:lan,::,constructor:br0,ra-advrouter,off-link",
            DhcpRange(
                V6("::"),
                None,
                prefix=64,
                modes=("ra-advrouter", "off-link"),
                constructor="br0",
                tags=("lan",),
            ),
        ),
    ],
)
def test_every_dhcp_range_form(value: str, expected: DhcpRange) -> None:
    """Each form of dnsmasq(8)'s --dhcp-range, as option.c reads it."""
    assert parse_dhcp_range(value) == expected


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("198.18.0.1", "at least start,end"),
        ("198.18.0.1,fish", "not an end address"),
        ("198.18.0.1,198.18.0.9,12x", "not a lease time"),
        ("198.18.0.1,198.18.1.9,255.255.255.0", "inconsistent"),
        ("198.18.0.1,198.18.0.9,12h,extra", "before the lease time"),
        ("set:a,set:b,198.18.0.1,198.18.0.9", "only one set"),
        ("1234::2,1234::500,48", "at least 64"),
        ("198.18.0.1,198.18.0.9,255.0.255.0", "not a netmask"),
    ],
)
def test_bad_dhcp_range_names_where_and_why(value: str, why: str) -> None:
    """A dhcp-range dnsmasq would refuse: one error naming file:line and the reason."""
    with pytest.raises(LeasesError, match=rf"^/etc/dnsmasq.conf:7: bad dhcp-range=.*{why}"):
        parse_dhcp_range(value, "/etc/dnsmasq.conf:7")


def test_pools_only_from_dynamic_v4_ranges() -> None:
    """Static, proxy and IPv6 ranges are no dynamic IPv4 pool; no netmask: smallest subnet."""
    assert v4_range(parse_dhcp_range("198.18.0.10,198.18.0.20,255.255.255.0")) == Range(
        V4("198.18.0.10"), V4("198.18.0.20"), IPv4Network("198.18.0.0/24"), "198.18.0.0/24"
    )
    assert v4_range(parse_dhcp_range("198.18.0.2,198.18.0.254")) == Range(
        V4("198.18.0.2"), V4("198.18.0.254"), IPv4Network("198.18.0.0/24"), "198.18.0.0/24"
    )
    for value in ("198.18.0.0,static,255.255.255.0", "198.18.0.0,proxy", "1234::2,1234::500"):
        assert v4_range(parse_dhcp_range(value)) is None


def test_dhcp_host_reservations() -> None:
    """dhcp-host lines and hosts-file lines with an IPv4 address are reservations."""
    assert parse_dhcp_host("52:54:00:AA:BB:CC,set:x,198.18.0.60,web,infinite") == FixedHost(
        "web", "52:54:00:aa:bb:cc", V4("198.18.0.60")
    )
    assert parse_dhcp_host("id:01:02:03,198.18.0.61") == FixedHost(
        "198.18.0.61", None, V4("198.18.0.61")
    )
    assert parse_dhcp_host("52:54:00:aa:bb:cc,ignore") is None


def test_conf_follows_conf_file_and_conf_dir(tmp_path: Path) -> None:
    """conf-file and conf-dir (with *patterns, skipped suffixes, ~ and dot files) are read."""
    d = tmp_path / "dnsmasq.d"
    d.mkdir()
    (d / "a.conf").write_text("dhcp-range=198.18.1.10,198.18.1.20,255.255.255.0\n")
    (d / "b.conf~").write_text("dhcp-range=198.18.9.10,198.18.9.20\n")
    (d / ".hidden.conf").write_text("dhcp-range=198.18.9.10,198.18.9.20\n")
    (d / "c.txt").write_text("dhcp-range=198.18.9.10,198.18.9.20\n")
    (d / "d.conf").write_text("dhcp-host=52:54:00:00:00:01,198.18.1.5,fixed  # a comment\n")
    more = tmp_path / "more.conf"
    more.write_text("# comment\ndhcp-range=set:b,198.18.2.10,198.18.2.20,255.255.255.0,1h\n")
    hosts = tmp_path / "hosts"
    hosts.write_text("52:54:00:00:00:02,198.18.2.5,other\n")
    main = tmp_path / "dnsmasq.conf"
    main.write_text(
        "port=0\nbind-interfaces\n"
        f"conf-dir={d},*.conf\nconf-file={more}\ndhcp-hostsfile={hosts}\n"
        f"conf-file={main}\n"  # a loop is read once
    )
    conf = read_conf(main)
    assert [r.start for _, r in conf.ranges] == [V4("198.18.1.10"), V4("198.18.2.10")]
    assert conf.ranges[1][0] == f"{more}:2"
    assert [h.name for h in conf.hosts] == ["fixed", "other"]
    (d / "skip.bak").write_text("dhcp-range=198.18.9.10,198.18.9.20\n")
    main.write_text(f"conf-dir={d},.bak,.txt,~\n")
    assert [r.start for _, r in read_conf(main).ranges] == [V4("198.18.1.10")]


def test_conf_errors_name_the_file(tmp_path: Path) -> None:
    """A missing conf file or conf-dir, or a bad range, is one error naming the file."""
    with pytest.raises(LeasesError, match=r"nope\.conf: cannot read dnsmasq config"):
        read_conf(tmp_path / "nope.conf")
    main = tmp_path / "dnsmasq.conf"
    main.write_text(f"conf-dir={tmp_path / 'none'}\n")
    with pytest.raises(LeasesError, match=rf"{main}:1: conf-dir"):
        read_conf(main)
    main.write_text("\n\ndhcp-range=198.18.0.1\n")
    with pytest.raises(LeasesError, match=rf"{main}:3: bad dhcp-range"):
        read_conf(main)


NETWORK_XML = """
<network>
  <name>default</name>
  <bridge name='virbr0' stp='on' delay='0'/>
  <ip address='198.18.122.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='198.18.122.2' end='198.18.122.254'/>
      <host mac='52:54:00:00:00:07' name='db' ip='198.18.122.7'/>
    </dhcp>
  </ip>
  <ip family='ipv6' address='2001:db8:ca2:2::1' prefix='64'>
    <dhcp><range start='2001:db8:ca2:2::100' end='2001:db8:ca2:2::1ff'/></dhcp>
  </ip>
</network>
"""


def test_network_xml_ranges_hosts_and_bridge() -> None:
    """A libvirt network's <range> is a pool, <host> a reservation, <bridge> the interface."""
    net = parse_network_xml(NETWORK_XML, "default")
    assert net.bridge == "virbr0" and net.v6_ranges == 1
    assert net.ranges == (
        Range(
            V4("198.18.122.2"),
            V4("198.18.122.254"),
            IPv4Network("198.18.122.0/24"),
            "198.18.122.0/24",
        ),
        Range(
            V6("2001:db8:ca2:2::100"),
            V6("2001:db8:ca2:2::1ff"),
            IPv6Network("2001:db8:ca2:2::/64"),
            "2001:db8:ca2:2::/64",
        ),
    )
    assert net.hosts == (FixedHost("db", "52:54:00:00:00:07", V4("198.18.122.7")),)


# ---------------------------------------------------------------------------- torn reads


def test_read_settled_waits_until_two_reads_agree(tmp_path: Path) -> None:
    """A file caught empty, then half written, is read again until it stops changing."""
    path = tmp_path / "dnsmasq.leases"
    stages = [b"", b"1 aa:bb:cc:dd:ee:ff 198.18.0.1", LEASE_FILE.encode()]
    path.write_bytes(stages.pop(0))

    def sleep(_seconds: float) -> None:
        if stages:
            path.write_bytes(stages.pop(0))

    assert read_settled(path, sleep=sleep) == LEASE_FILE.encode()


def test_read_settled_gives_up_on_a_file_that_never_settles(tmp_path: Path) -> None:
    """A file that differs on every read is an error, never a guess."""
    path = tmp_path / "dnsmasq.leases"
    path.write_text("start")
    counter = iter(range(1000))

    def sleep(_seconds: float) -> None:
        path.write_text(str(next(counter)))

    with pytest.raises(LeasesError, match="changed on each of 5 reads"):
        read_settled(path, attempts=5, sleep=sleep)


def test_read_settled_believes_an_empty_file_only_once_it_stays_empty(tmp_path: Path) -> None:
    """Empty twice in a row is not enough (dnsmasq may stall after truncating): the file
    must stay empty for empty_for; one written meanwhile is returned whole."""
    path = tmp_path / "dnsmasq.leases"
    path.write_bytes(b"")
    reads: list[int] = []

    def sleep(_seconds: float) -> None:
        reads.append(1)
        if len(reads) == 5:
            path.write_text(LEASE_FILE)

    assert read_settled(path, pause=0.01, empty_for=0.1, sleep=sleep) == LEASE_FILE.encode()
    reads.clear()
    path.write_bytes(b"")
    assert read_settled(path, pause=0.01, empty_for=0.05, sleep=lambda _s: reads.append(1)) == b""
    assert len(reads) == 5


def test_read_settled_waits_for_the_last_line_to_end(tmp_path: Path) -> None:
    """A lease file cut mid-line is not settled, even if two reads agree."""
    path = tmp_path / "dnsmasq.leases"
    path.write_text(LEASE_FILE[:30])
    calls: list[int] = []

    def sleep(_seconds: float) -> None:
        calls.append(1)
        if len(calls) == 3:
            path.write_text(LEASE_FILE)

    assert read_settled(path, sleep=sleep) == LEASE_FILE.encode()


def test_source_counts_v4_and_v6_leases_in_their_ranges(tmp_path: Path) -> None:
    """The whole source: pools from dnsmasq.conf (an IPv6 range too), DHCPv4 and DHCPv6
    leases; a v6 lease's MAC comes from its DUID (weak evidence), an IA_TA one is temporary."""
    leases = tmp_path / "dnsmasq.leases"
    leases.write_text(LEASE_FILE)
    conf = tmp_path / "dnsmasq.conf"
    conf.write_text(
        "dhcp-range=198.18.1.202,198.18.1.222,255.255.255.224,3d\n"
        "dhcp-range=2001:db8:1::100,2001:db8:1::1ff,64,3d\n"
        "dhcp-range=2001:db8:2::,ra-only\n"
        "dhcp-range=2001:db8:3::,slaac,64\n"
        "dhcp-range=::10,::ff,constructor:eth0,64,12h\n"
        "dhcp-host=52:54:00:00:00:01,198.18.1.199,gw\n"
    )
    config = ServerConfig(name="dm", kind="dnsmasq", leases=leases, dnsmasq_conf=conf)
    snap = DnsmasqLeaseSource(config).read()
    assert snap.kind == "dnsmasq" and snap.complete and snap.error is None
    assert [r.label for r in snap.ranges] == [
        "198.18.1.202-198.18.1.222",
        "2001:db8:1::100-2001:db8:1::1ff",
    ]
    assert len(snap.leases) == 5 and [h.name for h in snap.fixed] == ["gw"]
    (constructor,) = [w for w in snap.warnings if "constructor" in w or "eth0" in w]
    assert constructor.startswith(f"{conf}:5: dhcp-range ::10: ") and "not counted" in constructor
    v6 = {str(lease.ip): lease for lease in snap.leases if lease.ip.version == 6}
    na, ta = v6["2001:db8:1::1c4"], v6["2001:db8:1::1c5"]
    assert (na.kind, na.iaid, na.duid) == (
        PoolKind.ADDRESS,
        1729740790,
        "00:01:00:01:32:9f:da:49:9a:a1:67:19:bf:f6",
    )
    assert (na.mac, na.mac_source) == ("9a:a1:67:19:bf:f6", MacSource.DUID)
    assert (ta.kind, ta.iaid, ta.mac, ta.hostname) == (
        PoolKind.TEMPORARY,
        17,
        "02:00:00:00:00:01",  # a DUID-LL
        "host6",
    )
    # dnsmasq hands out IA_TA addresses from the same range: both count in it
    before_expiry = datetime.fromtimestamp(1796029205 - 60, UTC)
    (pool,) = [p for p in analyse([snap], [], now=before_expiry).pools if p.first.version == 6]
    assert (pool.size, pool.active) == (256, 2)


def test_libvirt_status_v6_lease_keeps_the_mac_dnsmasq_learnt() -> None:
    """libvirt's status records dnsmasq's MAC for a v6 lease: trusted as seen on the wire;
    the server DUID comes from the entries."""
    text = json.dumps(
        [
            {
                "ip-address": "2001:db8:1::1c4",
                "mac-address": "52:54:00:00:00:0c",
                "iaid": "7",
                "client-id": "00:01:00:01:32:9f:da:49:9a:a1:67:19:bf:f6",
                "server-duid": "00:01:00:01:32:9f:da:49:3a:1b:e2:b6:a2:c4",
                "expiry-time": 1796029205,
            }
        ]
    )
    found = parse_status(text, "/x/virbr0.status", "dm")
    assert found.server_duid == "00:01:00:01:32:9f:da:49:3a:1b:e2:b6:a2:c4"
    (lease,) = found.all_leases("dm")
    assert (lease.mac, lease.mac_source, lease.iaid) == ("52:54:00:00:00:0c", MacSource.HARDWARE, 7)


def test_source_missing_lease_file_is_an_error(tmp_path: Path) -> None:
    """A lease file that cannot be read fails the read, naming the file."""
    conf = tmp_path / "dnsmasq.conf"
    conf.write_text("dhcp-range=198.18.0.1,198.18.0.9\n")
    config = ServerConfig(
        name="dm", kind="dnsmasq", leases=tmp_path / "none.leases", dnsmasq_conf=conf
    )
    with pytest.raises(LeasesError, match=r"none\.leases: cannot read lease file"):
        DnsmasqLeaseSource(config).read()


def test_status_entry_with_an_unreadable_mac_is_counted_never_judged() -> None:
    """A status entry whose mac-address is no MAC keeps its address, marked unreadable."""
    text = json.dumps([{"ip-address": "198.18.1.9", "mac-address": "not-a-mac"}])
    (lease,) = parse_status(text, "/x/virbr0.status").leases
    assert lease.mac is None and lease.mac_unreadable
