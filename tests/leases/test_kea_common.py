"""What Kea's two families share (leasewatch.leases.kea_common): the same pool text, the same
memfile journal and the same paging read alike in DHCPv4 and DHCPv6."""

from __future__ import annotations

from datetime import UTC, datetime
from ipaddress import IPv4Network, IPv6Network, ip_address
from pathlib import Path
from typing import Any

import pytest

from leasewatch.leases.kea import read_memfile
from leasewatch.leases.kea6 import read_memfile6
from leasewatch.leases.kea_common import Network, memfile_paths, parse_pool

V4 = IPv4Network("198.18.4.0/24")
V6 = IPv6Network("2001:db8:4::/120")  # the same 256 host numbers, for the same pool texts


def v6_text(text: str) -> str:
    """The v4 pool text with each 198.18.4.N written as 2001:db8:4::N (hex)."""
    out = text
    for n in range(255, -1, -1):
        out = out.replace(f"198.18.4.{n}", f"2001:db8:4::{n:x}")
    return out.replace("198.18.5.0/24", "2001:db8:5::/120").replace("/28", "/124")


@pytest.mark.parametrize(
    ("text", "outcome"),
    [
        ("198.18.4.10 - 198.18.4.20", (10, 20)),
        ("198.18.4.10-198.18.4.20", (10, 20)),
        ("198.18.4.16/28", (16, 31)),
        ("198.18.4.20 - 198.18.4.10", "ends before it starts"),
        ("198.18.5.0/24", "is not inside subnet"),
        ("198.18.4.10", "expected 'first - last' or a prefix"),
    ],
)
def test_a_pool_reads_alike_in_both_families(text: str, outcome: tuple[int, int] | str) -> None:
    """Each pool form gives the same host numbers, or the same refusal, in v4 and v6."""
    for subnet, pool in ((V4, text), (V6, v6_text(text))):
        got: Any
        try:
            first, last = parse_pool(pool, subnet)
            got = (
                int(first) - int(subnet.network_address),
                int(last) - int(subnet.network_address),
            )
        except ValueError as exc:
            got = str(exc)
        if isinstance(outcome, tuple):
            assert got == outcome, pool
        else:
            assert outcome in got, pool


@pytest.mark.parametrize(("subnet", "other"), [(V4, "2001:db8:4::/124"), (V6, "198.18.4.0/28")])
def test_a_prefix_of_the_other_family_is_refused(subnet: Network, other: str) -> None:
    """A v6 prefix in a v4 subnet (or the reverse) names the family expected."""
    with pytest.raises(ValueError, match=rf"expected an IPv{subnet.version} prefix"):
        parse_pool(other, subnet)


# One journal, as both families' memfiles write it: .2 (after a cleanup) then the live file;
# .10 is renewed with another MAC, .11 deleted (valid_lifetime 0), .12 added after cleanup.
JOURNAL = [
    ("kea-leasesN.csv.2", 10, "52:54:00:00:00:0a", 3600, 1_790_003_600),
    ("kea-leasesN.csv.2", 11, "52:54:00:00:00:0b", 3600, 1_790_003_600),
    ("kea-leasesN.csv", 10, "52:54:00:00:00:1a", 3600, 1_790_007_200),
    ("kea-leasesN.csv", 11, "52:54:00:00:00:0b", 0, 1_790_003_600),
    ("kea-leasesN.csv", 12, "52:54:00:00:00:0c", 3600, 1_790_007_200),
]
HEADER4 = (
    "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,"
    "user_context"
)
HEADER6 = (
    "address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,prefix_len,"
    "fqdn_fwd,fqdn_rev,hostname,hwaddr,state,user_context,hwtype,hwaddr_source"
)


def write_journal(directory: Path, family: int) -> Path:
    """JOURNAL as kea-leases4.csv(.2) or kea-leases6.csv(.2) rows; the live file's path."""
    files: dict[str, list[str]] = {}
    for name, host, mac, valid, expire in JOURNAL:
        if family == 4:
            row = f"198.18.4.{host},{mac},,{valid},{expire},1,0,0,vm{host},0,"
        else:
            duid = "00:03:00:01:" + mac
            row = (
                f"2001:db8:4::{host:x},{duid},{valid},{expire},1,1800,0,{host},128,0,0,vm{host},"
                f"{mac},0,,1,0"
            )
        files.setdefault(name.replace("N", str(family)), []).append(row)
    header = HEADER4 if family == 4 else HEADER6
    for name, rows in files.items():
        (directory / name).write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return directory / f"kea-leases{family}.csv"


def test_one_journal_replays_alike_in_both_families(tmp_path: Path) -> None:
    """The same rows in a v4 and a v6 memfile: the same leases, MACs, ends, hostnames."""
    path4 = write_journal(tmp_path, 4)
    path6 = write_journal(tmp_path, 6)
    leases4, warnings4 = read_memfile(path4, "k")
    leases6, warnings6 = read_memfile6(memfile_paths(path6), "k")

    def seen(leases: list[Any], base: str) -> list[tuple[object, ...]]:
        return [
            (int(lease.ip) - int(ip_address(base)), lease.mac, lease.ends, lease.hostname)
            for lease in leases
        ]

    assert seen(leases4, "198.18.4.0") == seen(leases6, "2001:db8:4::")
    assert seen(leases4, "198.18.4.0") == [
        (10, "52:54:00:00:00:1a", datetime.fromtimestamp(1_790_007_200, UTC), "vm10"),
        (12, "52:54:00:00:00:0c", datetime.fromtimestamp(1_790_007_200, UTC), "vm12"),
    ]
    assert warnings4 == warnings6 == []
