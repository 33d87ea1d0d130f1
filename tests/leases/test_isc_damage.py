"""dhcpd.leases read by hostile or odd files: one bad block never blinds a server."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from leasewatch.alerts.levels import AlertKind, plan
from leasewatch.config import AlertsConfig, Secret, ServerConfig, WebhookConfig
from leasewatch.core.analysis import analyse
from leasewatch.errors import LeasesError
from leasewatch.leases.isc import IscLeaseSource
from leasewatch.model import BindingState, InventorySnapshot, Level, ServerSnapshot, Verdict
from tests.cli_helpers import ISC_FIXTURES, isc_fixture_config, run

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
HEADER = "authoring-byte-order little-endian;\n"


def block(n: int, *, mac: str | None = None, state: str = "active", ends: str | None = None) -> str:
    """A lease block as dhcpd writes it, in the fixture's first range (198.18.0.10-19)."""
    return (
        f"lease 198.18.0.{n} {{\n  starts 3 2025/01/01 08:00:00;\n"
        f"  ends {ends or '3 2030/01/01 08:00:00'};\n  binding state {state};\n"
        f"  hardware ethernet {mac or f'52:54:00:00:00:{n:02x}'};\n}}\n"
    )


def read(tmp_path: Path, text: str | bytes) -> ServerSnapshot:
    path = tmp_path / "dhcpd.leases"
    if isinstance(text, str):
        text = text.encode()
    path.write_bytes(text)
    config = ServerConfig(
        name="dhcp1", kind="isc", leases=path, dhcpd_conf=ISC_FIXTURES / "dhcpd.conf"
    )
    return IscLeaseSource(config).read()


def test_bad_mac_lease_counts_and_is_unknown_never_orphan(tmp_path: Path) -> None:
    """A lease with a non-hex MAC counts as active and is judged unknown, never orphan."""
    snap = read(tmp_path, HEADER + block(10) + block(11, mac="52:54:00:zz:00:11") + block(12))
    assert snap.read_errors == (
        f"{tmp_path / 'dhcpd.leases'}:12: expected a MAC address, got '52:54:00:zz:00:11'; "
        "lease 198.18.0.11 counted with what could be read, MAC unknown",
    )
    census = snap.leases.census(NOW)
    assert len(census.active) == 3
    # an inventory that knows none of them: the good ones are orphans, the bad one unknown
    inventory = InventorySnapshot(source="hv", kind="file", macs=frozenset({"02:00:00:00:00:01"}))
    analysis = analyse([snap], [inventory], now=NOW)
    assert sorted(str(f.lease.ip) for f in analysis.orphans) == ["198.18.0.10", "198.18.0.12"]
    assert [(str(f.lease.ip), f.verdict) for f in analysis.unknown] == [
        ("198.18.0.11", Verdict.UNKNOWN)
    ]
    assert analysis.errors == snap.read_errors


@pytest.mark.parametrize(
    ("bad", "line", "ends"),
    [
        (block(11, state="dancing"), 11, datetime(2030, 1, 1, 8, tzinfo=UTC)),
        (block(11, ends="3 2030/02/30 08:00:00"), 10, None),
        (block(11, state="dancing", ends="3 2020/01/01 08:00:00"), 11, None),
        (block(11).replace("  binding", "  rnage 1;\n  binding"), 11, None),
    ],
)
def test_bad_field_keeps_what_could_be_read(
    tmp_path: Path, bad: str, line: int, ends: datetime | None
) -> None:
    """A bad state, date or statement: the block is kept with no MAC, the others intact."""
    snap = read(tmp_path, HEADER + block(10) + bad + block(12))
    lease = snap.leases.get(int.from_bytes(bytes([198, 18, 0, 11])))
    # dhcpd's rule for a block with no readable state: active until it ends
    assert lease is not None and lease.mac is None and lease.state is BindingState.ACTIVE
    if ends is not None:
        assert lease.ends == ends
    assert len(snap.read_errors) == 1 and f":{line}: " in snap.read_errors[0]
    assert {str(x.ip): x.mac for x in snap.leases if x.mac} == {
        "198.18.0.10": "52:54:00:00:00:0a",
        "198.18.0.12": "52:54:00:00:00:0c",
    }


def test_a_later_block_clears_the_damage_even_when_appended(tmp_path: Path) -> None:
    """dhcpd's next block for the address replaces a damaged one, and its read error goes."""
    path = tmp_path / "dhcpd.leases"
    path.write_text(HEADER + block(11, mac="zz"))
    config = ServerConfig(
        name="dhcp1", kind="isc", leases=path, dhcpd_conf=ISC_FIXTURES / "dhcpd.conf"
    )
    source = IscLeaseSource(config)
    assert len(source.read().read_errors) == 1
    with path.open("a") as f:
        f.write(block(11))
    again = source.read()
    assert source.last_was_incremental and again.read_errors == ()
    assert [x.mac for x in again.leases] == ["52:54:00:00:00:0b"]


def test_many_bad_blocks_are_counted_not_listed(tmp_path: Path) -> None:
    """A file of bad blocks gives ten lines and a count, never one line per block."""
    text = HEADER + "".join(block(n, mac="nope") for n in range(10, 60))
    snap = read(tmp_path, text)
    assert len(snap.read_errors) == 11
    assert snap.read_errors[-1].endswith(": 40 more blocks not read in full")
    assert len(snap.leases) == 50


def test_stray_text_between_blocks_is_skipped(tmp_path: Path) -> None:
    """A statement dhcpd never writes at the top level is skipped with its line."""
    snap = read(tmp_path, HEADER + block(10) + "}\nwhat is this;\n" + block(12))
    assert [e.split(": ", 1)[1] for e in snap.read_errors] == [
        "expected a lease or other top-level statement, got '}'",
        "expected a top-level statement (lease, host, failover peer, server-duid, ...), got 'what'",
    ]
    assert len(snap.leases) == 2


@pytest.mark.parametrize("kind", ["ia-na", "ia-ta", "ia-pd"])
def test_dhcpv6_journal_is_an_error_that_says_so(tmp_path: Path, kind: str) -> None:
    """A DHCPv6 leases file where a DHCPv4 one is expected (the configuration is DHCPv4) is
    an error naming both files; one after DHCPv4 leases names the line."""
    text = (
        'server-duid "\\000\\001";\n\n'
        f'{kind} "\\001\\000\\000\\000" {{\n  cltt 3 2025/01/01 08:00:00;\n'
        "  iaaddr 2001:db8::10 {\n    binding state active;\n  }\n}\n"
    )
    with pytest.raises(LeasesError) as info:
        read(tmp_path, text)
    assert str(info.value) == (
        f"{tmp_path / 'dhcpd.leases'}: expected DHCPv4 leases ({ISC_FIXTURES / 'dhcpd.conf'} is a "
        "DHCPv4 configuration), got DHCPv6 ones (ia-na/ia-ta/ia-pd blocks)"
    )
    with pytest.raises(LeasesError) as info:
        read(tmp_path, HEADER + block(10) + text)
    assert f"dhcpd.leases:{HEADER.count(chr(10)) + 9}: expected a DHCPv4 leases file, got" in str(
        info.value
    )


def test_bare_cr_line_ends_read_with_a_warning(tmp_path: Path) -> None:
    """Bare CR line ends read as white space, with one warning."""
    snap = read(tmp_path, (HEADER + block(10) + block(11)).replace("\n", "\r"))
    assert len(snap.leases) == 2 and snap.read_errors == ()
    assert [w.split(": ", 1)[1] for w in snap.warnings] == [
        "bare CR line ends (not written by dhcpd): read as white space, line numbers count LF only"
    ]


def test_nul_bytes_read_with_a_warning(tmp_path: Path) -> None:
    """A zero-filled stretch (a crash while writing) reads as white space, with a warning."""
    snap = read(tmp_path, (HEADER + block(10)).encode() + b"\0" * 5000 + block(11).encode())
    assert len(snap.leases) == 2 and snap.read_errors == ()
    assert snap.warnings == (
        f"{tmp_path / 'dhcpd.leases'}:8: NUL bytes in the leases file (a crash while dhcpd "
        "wrote it?): read as white space",
    )


def test_no_leases_in_a_file_that_is_not_empty_is_a_warning(tmp_path: Path) -> None:
    """Comments only, where the conf has ranges: a warning; dhcpd's fresh file: none."""
    snap = read(tmp_path, "# lease 198.18.0.10 {\n#  binding state active;\n# }\n")
    assert len(snap.warnings) == 1 and "no leases in a file that is not empty" in snap.warnings[0]
    fresh = "# The format of this file is documented in the dhcpd.leases(5) manual page.\n"
    assert read(tmp_path, fresh + "\n" + HEADER).warnings == ()
    assert read(tmp_path, "").warnings == ()


def test_no_binding_state_and_no_ends_as_dhcpd(tmp_path: Path) -> None:
    """dhcpd's rules: no state is active until ends (free with no ends); an active lease
    with no ends line holds its address (measured: dhcpd keeps it active)."""
    no_state = block(10).replace("  binding state active;\n", "")
    no_state_no_ends = block(11).replace("  binding state active;\n", "")
    no_state_no_ends = no_state_no_ends.replace("  ends 3 2030/01/01 08:00:00;\n", "")
    no_ends = block(12).replace("  ends 3 2030/01/01 08:00:00;\n", "")
    snap = read(tmp_path, HEADER + no_state + no_state_no_ends + no_ends)
    leases = {str(x.ip): x for x in snap.leases}
    assert leases["198.18.0.10"].state is BindingState.ACTIVE
    assert leases["198.18.0.10"].mac == "52:54:00:00:00:0a"
    assert leases["198.18.0.11"].state is BindingState.FREE
    assert leases["198.18.0.12"].state is BindingState.ACTIVE and leases["198.18.0.12"].ends is None
    assert snap.read_errors == () and snap.warnings == ()


def test_host_names_decode_as_utf8_with_escapes_for_the_rest(tmp_path: Path) -> None:
    """Octal escapes are bytes: UTF-8 names read as text, other bytes as \\x escapes."""
    text = HEADER + block(10).replace("}\n", '  client-hostname "caf\\303\\251-\\377";\n}\n')
    (lease,) = read(tmp_path, text).leases
    assert lease.hostname == "café-\\xff"


def test_report_on_a_damaged_file_exits_partial(tmp_path: Path) -> None:
    """``report`` shows the pools and exits 4 (partial) with the bad line, not 1."""
    config = isc_fixture_config(tmp_path, "52:54:00:00:00:0a\n")
    leases = tmp_path / "damaged.leases"
    leases.write_text(HEADER + block(10) + block(11, mac="52:54:zz") + block(12))
    config.write_text(config.read_text().replace(str(ISC_FIXTURES / "dhcpd.leases"), str(leases)))
    result = run("-c", str(config), "report", "--format", "json", now=NOW)
    assert result.status == 4, result.err
    doc = json.loads(result.out)
    pools = {(p["first"], p["last"]): p for p in doc["pools"]}
    assert pools[("198.18.0.10", "198.18.0.19")]["active"] == 3
    assert "Traceback" not in result.err
    assert any(f"{leases}:12: expected a MAC address" in e for e in doc["errors"])


@pytest.mark.parametrize("odd", ["fifo", "/dev/zero"])
def test_leases_path_that_is_not_a_file_is_one_line(tmp_path: Path, odd: str) -> None:
    """A FIFO or a device given as the leases file: an error, never a hang or endless read."""
    path = tmp_path / "dhcpd.leases"
    if odd == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to(odd)
    config = ServerConfig(
        name="dhcp1", kind="isc", leases=path, dhcpd_conf=ISC_FIXTURES / "dhcpd.conf"
    )
    with pytest.raises(LeasesError) as info:
        IscLeaseSource(config).read()
    assert str(info.value).startswith(f"{path}: expected a regular file, got a ")


def test_alerts_still_fire_on_a_server_with_a_damaged_block(tmp_path: Path) -> None:
    """The daemon's alert plan still sees a full pool when one of its blocks is damaged."""
    campus = [block(n) for n in range(10, 20)]  # 198.18.0.10-19 and 198.18.1.100-109: full
    campus += [block(n).replace("198.18.0.", "198.18.1.10") for n in range(10)]
    campus[3] = campus[3].replace("52:54:00:00:00:0d", "52:54:00:00:zz:0d")
    snap = read(tmp_path, HEADER + "".join(campus))
    assert len(snap.read_errors) == 1
    config = AlertsConfig(
        webhooks=(WebhookConfig(name="ops", format="generic", url=Secret("http://127.0.0.1:9/")),)
    )
    step = plan(analyse([snap], [], now=NOW), {}, config, NOW)
    assert [(a.kind, a.network, a.level) for a in step.alerts["ops"]] == [
        (AlertKind.LEVEL, "campus", Level.CRITICAL)
    ]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (HEADER + block(10) + block(11, mac="52:54:zz"), "expected a MAC address"),
        ('ia-na "x" {\n  cltt 3 2025/01/01 08:00:00;\n}\n', "got DHCPv6 ones"),
        ("subnet6", "expected DHCPv6 leases"),
    ],
)
def test_check_is_never_ok_on_what_it_could_not_read(tmp_path: Path, text: str, says: str) -> None:
    """``check`` on a damaged or DHCPv6 leases file, or a DHCPv6 dhcpd.conf: UNKNOWN (3)."""
    config = isc_fixture_config(tmp_path, "52:54:00:00:00:0a\n")
    if text == "subnet6":
        conf = tmp_path / "dhcpd6.conf"
        conf.write_text("subnet6 2001:db8::/64 {\n  range6 2001:db8::10 2001:db8::20;\n}\n")
        target = str(ISC_FIXTURES / "dhcpd.conf")
    else:
        conf = tmp_path / "dhcpd.leases"
        conf.write_text(text)
        target = str(ISC_FIXTURES / "dhcpd.leases")
    config.write_text(config.read_text().replace(target, str(conf)))
    result = run("-c", str(config), "check", now=NOW)
    assert result.status == 3, (result.out, result.err)
    assert result.out.startswith("DHCP UNKNOWN: ") and says in result.out
