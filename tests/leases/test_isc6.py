"""dhcpd -6: the dhcpd6.leases replay, family detection, counts, DUID evidence, report-only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from ipaddress import IPv6Address
from pathlib import Path

import pytest

from lab.isc import dhcpd_pools
from leasewatch.config import ReaperConfig, ServerConfig
from leasewatch.core.analysis import analyse
from leasewatch.core.why import explain
from leasewatch.errors import LeasesError
from leasewatch.leases import isc6_journal
from leasewatch.leases.duid import duid_bytes, mac_of_duid
from leasewatch.leases.isc import IscLeaseSource
from leasewatch.model import (
    Action,
    BindingState,
    InventorySnapshot,
    MacSource,
    PoolKind,
    Reason,
    ServerSnapshot,
    Verdict,
)
from leasewatch.reaper.plan import plan

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "isc"
# the fixture was written by a real dhcpd -6 on 2026-11-30 (lab/isc.py, three-day leases)
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
CONF6 = FIXTURES / "dhcpd6.conf"
LEASES6 = FIXTURES / "dhcpd6.leases"
SUBNET6 = "subnet6 2001:db8:1::/64 {\n  range6 2001:db8:1::100 2001:db8:1::1ff;\n"
SUBNET6 += "  prefix6 2001:db8:100:: 2001:db8:100:ff00:: /56;\n}\n"


def read(leases: Path, conf: Path = CONF6) -> ServerSnapshot:
    """One dhcpd -6 server's snapshot."""
    config = ServerConfig(name="d6", kind="isc", leases=leases, dhcpd_conf=conf)
    return IscLeaseSource(config).read()


def write(tmp_path: Path, journal: str, conf: str = SUBNET6) -> tuple[Path, Path]:
    """A dhcpd6.conf and a dhcpd6.leases in ``tmp_path``."""
    (tmp_path / "dhcpd6.conf").write_text(conf)
    (tmp_path / "dhcpd6.leases").write_text(journal)
    return tmp_path / "dhcpd6.leases", tmp_path / "dhcpd6.conf"


def ia(kind: str, key: str, *items: str, cltt: str = "1 2026/11/30 09:00:00") -> str:
    """An ``ia-na``/``ia-ta``/``ia-pd`` block as dhcpd -6 writes it (server/db.c write_ia)."""
    return f"{kind} {key} {{\n  cltt {cltt};\n" + "".join(items) + "}\n"


def addr(address: str, state: str = "active", ends: str = "4 2026/12/03 09:00:00") -> str:
    """An ``iaaddr`` (or, for a prefix, ``iaprefix``) block."""
    word = "iaprefix" if "/" in address else "iaaddr"
    return (
        f"  {word} {address} {{\n    binding state {state};\n    preferred-life 375;\n"
        f"    max-life 600;\n    ends {ends};\n  }}\n"
    )


def key(iaid: int, mac_last: int) -> str:
    """An IA key: the IAID (little-endian, as dhcpd writes it here) and a DUID-LLT."""
    # DUID-LLT: type 1, hardware 1, a time, then the MAC 52:54:00:00:00:<mac_last>
    raw = iaid.to_bytes(4, "little") + bytes.fromhex("0001000132a004085254000000")
    raw += bytes([mac_last])
    return '"' + "".join(f"\\{b:03o}" for b in raw) + '"'


def test_real_journal_counts_as_dhcpd_pools_does() -> None:
    """The fixture a real dhcpd -6 wrote: per range6 the same active count as dhcpd-pools, and
    the prefix6 pool's delegated prefixes counted too (dhcpd-pools counts none)."""
    snap = read(LEASES6)
    result = analyse([snap], [], now=NOW)
    pools = {p.label: (p.kind, p.size, p.active) for p in result.pools}
    assert pools == {
        "2001:db8:1::100-2001:db8:1::10f": (PoolKind.ADDRESS, 16, 3),
        "2001:db8:1::1:0-2001:db8:1::1:ff": (PoolKind.ADDRESS, 256, 0),
        "2001:db8:1::2:0-2001:db8:1::2:ff": (PoolKind.TEMPORARY, 256, 1),
        "2001:db8:100::/54 /56": (PoolKind.PREFIX, 4, 2),
    }
    theirs = {s["range"]: s["used"] for s in dhcpd_pools(CONF6, LEASES6)}
    assert theirs["2001:db8:1::100 - 2001:db8:1::10f"] == 3
    assert theirs["2001:db8:1::1:0 - 2001:db8:1::1:ff"] == 0


def test_real_journal_leases_carry_duid_iaid_and_a_weak_mac() -> None:
    """Each lease names its client's DUID and IAID; the DUID-LLT's MAC is DUID evidence."""
    leases = {lease.label: lease for lease in read(LEASES6).leases}
    na = leases["2001:db8:1::102"]
    assert na.duid == "00:01:00:01:32:a0:05:10:0a:66:30:31:5d:e2"
    assert na.mac == "0a:66:30:31:5d:e2" and na.mac_source is MacSource.DUID
    assert na.iaid == 0x30315DE2  # dhclient's IAID: the last four bytes of the MAC
    assert na.starts == datetime(2026, 11, 30, 9, 57, 37, tzinfo=UTC)  # the IA's cltt
    assert leases["2001:db8:1::104"].state is BindingState.RELEASED
    pd = leases["2001:db8:100:200::/56"]
    assert (pd.kind, pd.prefix_len, pd.state) == (PoolKind.PREFIX, 56, BindingState.ACTIVE)
    assert leases["2001:db8:1::2:65"].kind is PoolKind.TEMPORARY


def test_a_later_block_of_an_ia_replaces_what_it_held(tmp_path: Path) -> None:
    """The journal's rule: an IA's last block says all it holds; a later IA takes over."""
    journal = (
        ia("ia-na", key(1, 1), addr("2001:db8:1::100"), addr("2001:db8:1::101"))
        + ia("ia-na", key(1, 1), addr("2001:db8:1::102"))  # same IA: 100 and 101 gone
        + ia("ia-na", key(2, 2), addr("2001:db8:1::103"))
        + ia("ia-na", key(3, 3), addr("2001:db8:1::103", "active"))  # 103 moves to IA 3
        + ia("ia-na", key(2, 2))  # IA 2 empties: 103 stays with IA 3
        + ia("ia-pd", key(4, 4), addr("2001:db8:100:100::/56", "expired"))
    )
    leases = {lease.label: lease for lease in read(*write(tmp_path, journal)).leases}
    assert sorted(leases) == ["2001:db8:100:100::/56", "2001:db8:1::102", "2001:db8:1::103"]
    assert leases["2001:db8:1::103"].iaid == 3
    assert leases["2001:db8:100:100::/56"].state is BindingState.EXPIRED


def test_ends_forms_and_a_past_end_count_as_dhcpd_does(tmp_path: Path) -> None:
    """``ends never`` and ``epoch N`` are read; an active lease past its end is not active."""
    journal = ia("ia-na", key(1, 1), addr("2001:db8:1::100", ends="never"))
    journal += ia("ia-na", key(2, 2), addr("2001:db8:1::101", ends="epoch 1796100000"))
    journal += ia("ia-na", key(3, 3), addr("2001:db8:1::102", ends="1 2026/11/30 11:00:00"))
    snap = read(*write(tmp_path, journal))
    (pool, _pd) = analyse([snap], [], now=NOW).pools
    assert pool.active == 2  # epoch 1796100000 is 2026-12-01 04:40 UTC
    ends = {lease.label: lease.ends for lease in snap.leases}
    assert ends["2001:db8:1::100"] is None
    assert ends["2001:db8:1::101"] == datetime.fromtimestamp(1796100000, UTC)


def test_an_empty_journal_reports_the_pools_with_nothing_used(tmp_path: Path) -> None:
    """A new dhcpd -6 server: its pools, zero leases, no warning."""
    snap = read(*write(tmp_path, ""))
    assert [r.size for r in snap.ranges] == [256, 256] and len(snap.leases) == 0
    assert not snap.warnings and not snap.read_errors


@pytest.mark.parametrize(
    ("journal", "conf", "says"),
    [
        (
            "lease 198.18.0.10 {\n  binding state active;\n}\n",
            SUBNET6,
            "dhcpd6.leases: expected DHCPv6 leases",
        ),
        (
            ia("ia-na", key(1, 1), addr("2001:db8:1::100")),
            "subnet 198.18.0.0 netmask 255.255.255.0 { range 198.18.0.10 198.18.0.20; }\n",
            "dhcpd6.leases: expected DHCPv4 leases",
        ),
        (
            ia("ia-na", key(1, 1), addr("2001:db8:1::zz")),
            SUBNET6,
            "dhcpd6.leases:3: expected an IPv6 address, got '2001:db8:1::zz'",
        ),
        (
            ia("ia-pd", key(1, 1), addr("2001:db8:100::")).replace("iaaddr", "iaprefix"),
            SUBNET6,
            "dhcpd6.leases:3: expected an IPv6 prefix like 2001:db8:100::/56",
        ),
        (
            ia("ia-na", '"ab"', addr("2001:db8:1::100")),
            SUBNET6,
            "dhcpd6.leases:1: expected an IA key of a 4-byte IAID and a DUID",
        ),
        (
            ia("ia-na", key(1, 1), addr("2001:db8:1::100", ends="tomorrow")),
            SUBNET6,
            "dhcpd6.leases:7: expected a time like",
        ),
        (
            ia("ia-na", key(1, 1), addr("2001:db8:1::100"))[:-3],
            SUBNET6,
            "dhcpd6.leases:8: expected '}', got end of file",
        ),
    ],
)
def test_unreadable_input_is_one_line_naming_file_and_line(
    tmp_path: Path, journal: str, conf: str, says: str
) -> None:
    """A journal of the other family, or a block dhcpd would not write, is an error line."""
    with pytest.raises(LeasesError) as caught:
        read(*write(tmp_path, journal, conf))
    assert says in str(caught.value)
    assert "\n" not in str(caught.value)


def test_an_unknown_binding_state_is_a_read_error_not_a_count(tmp_path: Path) -> None:
    """A state dhcpd does not write is not counted as in use: a read error names the line."""
    journal = ia("ia-na", key(1, 1), addr("2001:db8:1::100", state="busy"))
    journal += ia("ia-na", key(2, 2), addr("2001:db8:1::101"))
    snap = read(*write(tmp_path, journal))
    assert [lease.label for lease in snap.leases] == ["2001:db8:1::101"]
    (problem,) = snap.read_errors
    assert "dhcpd6.leases:4: expected a binding state" in problem
    assert "'busy'; 2001:db8:1::100 not counted" in problem


def test_family_is_told_from_the_journal_content(tmp_path: Path) -> None:
    """ia-* blocks: DHCPv6; lease blocks: DHCPv4; nothing yet (server-duid is in both): either."""
    path = tmp_path / "j"
    for text, family in [
        ("# comment\nauthoring-byte-order little-endian;\n", None),
        ('server-duid "\\000\\001";\n', None),
        (ia("ia-ta", key(1, 1)), 6),
        ("lease 198.18.0.10 {\n}\n", 4),
    ]:
        path.write_text(text)
        assert isc6_journal.family(path) == family


def test_duid_macs() -> None:
    """Only an Ethernet DUID-LLT or DUID-LL holds a MAC; DUID-EN and DUID-UUID hold none."""
    assert mac_of_duid(bytes.fromhex("0001000132a0040852540000000a")) == "52:54:00:00:00:0a"
    assert mac_of_duid(bytes.fromhex("0003000152540000000b")) == "52:54:00:00:00:0b"
    assert mac_of_duid(bytes.fromhex("0002000009bf0102030405")) is None  # DUID-EN
    assert mac_of_duid(bytes.fromhex("00030006525400000000")) is None  # not Ethernet
    assert duid_bytes("0:1:a:ff") == b"\x00\x01\x0a\xff" and duid_bytes("0:1:xyz") is None


def test_a_duid_mac_is_unknown_unless_trusted_and_the_plan_keeps_it_report_only(
    tmp_path: Path,
) -> None:
    """A VM gone from the inventory: unknown by default; with trust_duid_mac an orphan that
    the plan keeps (OMAPI reaches no DHCPv6 lease) and ``why`` says so."""
    journal = ia("ia-na", key(7, 0x0A), addr("2001:db8:1::100"))
    snap = read(*write(tmp_path, journal))
    alive = InventorySnapshot(source="hv", kind="command", macs=frozenset({"52:54:00:00:00:0b"}))
    (unknown,) = analyse([snap], [alive], now=NOW).unknown
    assert (unknown.verdict, unknown.code) == (Verdict.UNKNOWN, Reason.UNKNOWN_DUID_MAC)
    trusted = analyse([snap], [alive], now=NOW, trust_duid_mac=True)
    (orphan,) = trusted.orphans
    assert orphan.lease.mac == "52:54:00:00:00:0a"
    policy = ReaperConfig(grace=timedelta(0))
    (release,) = plan(trusted, policy, NOW, releasable_servers={"d6"})
    assert (release.action, release.code) == (Action.KEEP, Reason.KEEP_OMAPI_V4_ONLY)
    (why,) = explain(trusted, ip=IPv6Address("2001:db8:1::100"), grace=timedelta(0))
    assert any("[keep-omapi-v4-only]" in line for line in why.lines())
    (why_unknown,) = explain(
        analyse([snap], [alive], now=NOW), ip=IPv6Address("2001:db8:1::100"), grace=timedelta(0)
    )
    assert any("report-only" in line for line in why_unknown.lines())


def test_lease_id_format_hex_journal_as_a_real_dhcpd_wrote_it(tmp_path: Path) -> None:
    """``lease-id-format hex``: IA keys and the server DUID in colon hex, not strings (the
    fixture is a real dhcpd -6's, one client with an IA_NA and an IA_PD of the same IAID)."""
    conf = tmp_path / "dhcpd6.conf"
    conf.write_text("lease-id-format hex;\n" + SUBNET6.replace("100:ff00::", "1ff::"))
    snap = read(FIXTURES / "dhcpd6-hex.leases", conf)
    leases = {lease.label: lease for lease in snap.leases}
    assert sorted(leases) == ["2001:db8:1::1e2", "2001:db8:1ff::/56"]
    for lease in leases.values():
        assert (lease.iaid, lease.mac) == (0x11, "02:00:00:00:00:11")
    pools = {p.kind: p.active for p in analyse([snap], [], now=NOW - timedelta(hours=1)).pools}
    assert pools == {PoolKind.ADDRESS: 1, PoolKind.PREFIX: 1}


def test_the_fast_path_reads_as_the_token_path_does(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks as dhcpd writes them take the fast path; the token path (for anything else)
    gives the same leases on the real journals, octal and hex."""
    for journal in (LEASES6, FIXTURES / "dhcpd6-hex.leases"):
        data = journal.read_bytes()
        assert len(list(isc6_journal._FAST.finditer(data))) == data.count(b"\nia-") > 0
        fast = isc6_journal.parse(journal)
        with monkeypatch.context() as patched:
            patched.setattr(isc6_journal._Reader, "fast", lambda self, block: False)
            slow = isc6_journal.parse(journal)
        assert fast.leases == slow.leases and fast.leases
        assert fast.server_duid == slow.server_duid is not None
