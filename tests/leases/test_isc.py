"""dhcpd.leases journal replay: fixture counts, every statement form, errors, incremental reads."""

from __future__ import annotations

import os
import shutil
from bisect import bisect_right
from collections import Counter
from datetime import UTC, datetime
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from leasewatch.config import ServerConfig
from leasewatch.errors import LeasesError
from leasewatch.leases import isc_journal
from leasewatch.leases.isc import IscLeaseSource
from leasewatch.model import BindingState, FixedHost, Lease, Range, ServerSnapshot

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "isc"
NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
A = BindingState.ACTIVE


def source(leases: Path, conf: Path = FIXTURES / "dhcpd.conf") -> IscLeaseSource:
    return IscLeaseSource(ServerConfig(name="dhcp1", kind="isc", leases=leases, dhcpd_conf=conf))


def read(leases: Path) -> ServerSnapshot:
    return source(leases).read()


def count(snapshot: ServerSnapshot, now: datetime) -> dict[str, Counter[str]]:
    """Per range label: how many current leases are in each state (active = not yet ended)."""
    ranges = sorted(snapshot.ranges, key=lambda r: int(r.first))
    firsts = [int(r.first) for r in ranges]
    out: dict[str, Counter[str]] = {r.label: Counter() for r in ranges}
    for lease in snapshot.leases:
        i = bisect_right(firsts, int(lease.ip)) - 1
        if i < 0 or lease.ip not in ranges[i]:
            continue
        state = "active" if lease.is_active(now) else lease.state.value
        if lease.state is A and state != "active":
            state = "expired"
        out[ranges[i].label][state] += 1
    return out


def by_ip(snapshot: ServerSnapshot) -> dict[str, Lease]:
    return {str(lease.ip): lease for lease in snapshot.leases}


def test_fixture_counts_per_range_and_network() -> None:
    """The "done when" case: failover pools in a shared network, superseded blocks, cut tail."""
    snap = read(FIXTURES / "dhcpd.leases")
    counts = count(snap, NOW)
    assert counts == {
        "198.18.0.10-198.18.0.19": Counter(active=3, backup=1, abandoned=1, released=1, expired=1),
        "198.18.1.100-198.18.1.109": Counter(active=2, backup=1, reset=1),
        "198.18.2.10-198.18.2.14": Counter(active=2),
        "198.18.3.50-198.18.3.52": Counter(backup=1),
        "198.18.20.10-198.18.20.10": Counter(active=1),
        "198.18.20.20-198.18.20.29": Counter(active=1, free=1),
        "198.18.30.5-198.18.30.9": Counter(active=1),
    }
    networks: dict[str, Counter[str]] = {}
    for r in snap.ranges:
        networks.setdefault(r.network, Counter()).update(counts[r.label])
    assert {n: (c["active"], c["backup"]) for n, c in networks.items()} == {
        "campus": (5, 2),
        "lab": (2, 1),
        "198.18.20.0/26": (2, 0),
        "198.18.30.0/24": (1, 0),
    }
    assert [str(x.ip) for x in snap.leases if x.is_active(NOW)].count("198.18.99.1") == 1


def test_fixture_snapshot_fields() -> None:
    """Server name, kind, completeness, the warning's line, and the journal's host blocks."""
    snap = read(FIXTURES / "dhcpd.leases")
    assert (snap.server, snap.kind, snap.complete) == ("dhcp1", "isc", False)
    assert snap.warnings == (
        f"{FIXTURES}/dhcpd.leases:193: ignored a lease block cut short at the end of the file "
        "(dhcpd writing it, or crashed mid-write)",
    )
    assert "198.18.0.17" not in by_ip(snap)
    assert len(snap.leases) == len(by_ip(snap)) == 19
    assert all(lease.server == "dhcp1" for lease in snap.leases)
    # hosts from dhcpd.conf, then the journal's: vm-gone was deleted by a later block
    assert snap.fixed[-1] == FixedHost(
        "vm-static", "52:54:00:aa:00:01", IPv4Address("198.18.20.40")
    )
    assert "vm-gone" not in {h.name for h in snap.fixed}


def test_superseded_release_wins_over_earlier_active() -> None:
    """isc-dhcp-leases issue #37: a later 'released' block replaces an earlier active one."""
    lease = by_ip(read(FIXTURES / "dhcpd.leases"))["198.18.0.10"]
    assert lease.state is BindingState.RELEASED
    assert lease.hostname is None  # the later block has no client-hostname: nothing carried over


def test_later_owner_replaces_earlier_one() -> None:
    """An address re-leased to another MAC reports the later MAC and host name."""
    leases = by_ip(read(FIXTURES / "dhcpd.leases"))
    assert (leases["198.18.2.10"].mac, leases["198.18.2.10"].hostname) == (
        "52:54:00:00:02:aa",
        "second-owner",
    )
    assert leases["198.18.2.11"].state is A  # active -> expired -> active again


def test_statement_forms() -> None:
    """ends never, epoch times with comments, escapes, odd spacing, MAC spellings, backup."""
    leases = by_ip(read(FIXTURES / "dhcpd.leases"))
    never = leases["198.18.0.13"]
    assert never.ends is None and never.is_active(datetime(2099, 1, 1, tzinfo=UTC))
    assert never.hostname == 'vm-"d" \\ é'
    epoch = leases["198.18.0.16"]
    assert epoch.starts == datetime(2025, 1, 1, 8, tzinfo=UTC)
    assert epoch.ends == datetime(2030, 1, 1, 8, tzinfo=UTC)
    assert leases["198.18.1.100"].mac == "00:01:02:03:04:05"  # dhcpd's single-digit octets
    odd = leases["198.18.1.103"]  # tabs, two statements on a line, on-commit with if block
    assert (odd.mac, odd.hostname, odd.state) == ("52:54:00:00:01:03", "vm-103", A)
    assert odd.ends == datetime(2030, 1, 1, 8, tzinfo=UTC)
    backup = leases["198.18.1.102"]
    assert (backup.state, backup.mac, backup.starts, backup.ends) == (
        BindingState.BACKUP,
        None,
        None,
        None,
    )
    assert leases["198.18.0.11"].starts == datetime(2025, 1, 1, 9, tzinfo=UTC)


def test_every_binding_state_maps() -> None:
    """Each dhcpd binding state name becomes its model value."""
    leases = by_ip(read(FIXTURES / "dhcpd.leases"))
    assert {leases[ip].state for ip in leases} == {
        BindingState.ACTIVE,
        BindingState.FREE,
        BindingState.BACKUP,
        BindingState.ABANDONED,
        BindingState.EXPIRED,
        BindingState.RELEASED,
        BindingState.RESET,
    }


BLOCK = (
    "lease 198.18.0.{n} {{\n  starts 3 2025/01/01 08:00:00;\n  ends 3 2030/01/01 08:00:00;\n"
    "  binding state active;\n  hardware ethernet 52:54:00:00:00:{n:02x};\n}}\n"
)


def journal(*parts: str) -> str:
    return "authoring-byte-order little-endian;\n" + "".join(parts)


def _kept(ip: str) -> str:
    return f"; lease {ip} counted with what could be read, MAC unknown"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            journal(BLOCK.format(n=1), "garbage here\n", BLOCK.format(n=2)),
            8,
            "expected a top-level statement (lease, host, failover peer, server-duid, ...), "
            "got 'garbage'",
        ),
        (
            journal(BLOCK.format(n=1).replace("active", "dancing")),
            5,
            "expected a binding state (active, free, backup, abandoned, expired, released, "
            "reset), got 'dancing'" + _kept("198.18.0.1"),
        ),
        (
            journal(BLOCK.format(n=1), BLOCK.format(n=2).replace("3 2030/01/01", "3 2030/13/01")),
            10,
            "expected a time like '3 2025/01/01 12:00:00', 'epoch N' or 'never', "
            "got '3 2030/13/01 08:00:00'" + _kept("198.18.0.2"),
        ),
        (
            journal(
                BLOCK.format(n=1).replace(
                    "  ends 3 2030/01/01 08:00:00", "\tends 3 2030/01/01 8:00"
                )
            ),
            4,
            "expected a time like '3 2025/01/01 12:00:00', 'epoch N' or 'never', "
            "got '3 2030/01/01 8:00'" + _kept("198.18.0.1"),
        ),
        (
            journal(BLOCK.format(n=1).replace("52:54:00:00:00:01", "52:54:zz")),
            6,
            "expected a MAC address, got '52:54:zz'" + _kept("198.18.0.1"),
        ),
        (
            journal(BLOCK.format(n=1).replace("  hardware", "  dancing 1;\n  hardware")),
            6,
            "expected a lease statement, got 'dancing'" + _kept("198.18.0.1"),
        ),
        (
            journal("}\n", BLOCK.format(n=1)),
            2,
            "expected a lease or other top-level statement, got '}'",
        ),
        (
            journal(BLOCK.format(n=1).replace("active;", "active"), BLOCK.format(n=2)),
            6,
            "expected ';', got 'hardware'" + _kept("198.18.0.1"),
        ),
        (
            journal(BLOCK.format(n=1).replace("01;", "01"), BLOCK.format(n=2)),
            7,
            "expected ';', got '}'" + _kept("198.18.0.1"),
        ),
        (
            journal(BLOCK.format(n=1).replace("08:00:00;\n  ends", '08:00:00;\n  uid "x;\n  ends')),
            4,
            "expected a closing '\"' on the same line" + _kept("198.18.0.1"),
        ),
        (
            journal("lease 198.18.0.300 {\n  binding state free;\n}\n"),
            2,
            "expected an IPv4 address, got '198.18.0.300'; lease block skipped",
        ),
        (
            journal("lease 198.18.0.3 {\n  binding active;\n}\n"),
            3,
            "expected 'binding state X', got 'active'" + _kept("198.18.0.3"),
        ),
    ],
)
def test_garbage_names_file_and_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    """Bad input anywhere but a cut last block: a read error FILE:LINE: expected X, got Y;
    a damaged lease is kept with no MAC, every other lease is read as written."""
    path = tmp_path / "dhcpd.leases"
    path.write_text(text)
    snap = read(path)
    assert snap.read_errors == (f"{path}:{line}: {message}",)
    assert snap.complete and snap.error is None
    clean = path.with_name("clean.leases")
    clean.write_text(journal(BLOCK.format(n=1), BLOCK.format(n=2)))
    written = by_ip(read(clean))
    for ip, lease in by_ip(snap).items():
        if ip in message:
            assert lease.mac is None
        else:
            assert lease == written[ip]


@pytest.mark.parametrize(
    "cut",
    [
        "lease 198.18.0.9 {",
        "lease 198.18.0.9 {\n  starts 3 2025/01/01 08:0",
        'lease 198.18.0.9 {\n  binding state active;\n  client-hostname "half',
        "lease 198.18.0.9 {\n  binding state active;\n  on commit {\n    set x = 1;\n  }",
        "lease 198.18.0.9 {\n  binding state active;\n",
        "lease 198.18",
        "server-duid",
    ],
)
def test_cut_last_block_is_a_warning(tmp_path: Path, cut: str) -> None:
    """A last block cut anywhere is ignored with a warning and the snapshot marked incomplete."""
    path = tmp_path / "dhcpd.leases"
    path.write_text(journal(BLOCK.format(n=1), "\n", cut))
    snap = read(path)
    assert [str(x.ip) for x in snap.leases] == ["198.18.0.1"]
    assert not snap.complete
    assert snap.warnings == (
        f"{path}:9: ignored a lease block cut short at the end of the file "
        "(dhcpd writing it, or crashed mid-write)",
    )


def test_complete_file_without_final_newline(tmp_path: Path) -> None:
    """A last block closed but with no newline after it is complete (the slow path takes it)."""
    path = tmp_path / "dhcpd.leases"
    path.write_text(journal(BLOCK.format(n=1).rstrip("\n")))
    snap = read(path)
    assert snap.complete and snap.warnings == () and len(snap.leases) == 1


def test_empty_and_comment_only_files(tmp_path: Path) -> None:
    """dhcpd's fresh, empty journal reads as no leases, complete."""
    path = tmp_path / "dhcpd.leases"
    path.write_text("")
    assert read(path).leases == () and read(path).complete
    path.write_text("# nothing yet\n\n")
    assert read(path).leases == () and read(path).complete


def test_small_chunks_give_the_same_result(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks cut across chunk boundaries are carried over, never mistaken for a cut tail."""
    whole = read(FIXTURES / "dhcpd.leases")
    for size in (1, 7, 64, 333):
        monkeypatch.setattr(isc_journal, "CHUNK", size)
        assert read(FIXTURES / "dhcpd.leases") == whole


def test_progress_reports_bytes(tmp_path: Path) -> None:
    """The progress callback sees bytes done rising to the file's size."""
    seen: list[tuple[int, int]] = []
    src = IscLeaseSource(
        ServerConfig(
            "s", "isc", leases=FIXTURES / "dhcpd.leases", dhcpd_conf=FIXTURES / "dhcpd.conf"
        ),
        progress=lambda done, total: seen.append((done, total)),
    )
    src.read()
    size = (FIXTURES / "dhcpd.leases").stat().st_size
    assert seen and seen[-1] == (size, size)


def test_bad_config_and_missing_file(tmp_path: Path) -> None:
    """A non-isc config and a missing leases file are one-line LeasesErrors."""
    with pytest.raises(LeasesError, match="expected kind 'isc' with leases and dhcpd_conf"):
        IscLeaseSource(ServerConfig("s", "kea"))
    with pytest.raises(LeasesError) as info:
        read(tmp_path / "none.leases")
    assert (
        str(info.value)
        == f"{tmp_path}/none.leases: cannot read leases file: No such file or directory"
    )


# -- incremental re-scan -----------------------------------------------------------------


def test_incremental_append_equals_full_parse(tmp_path: Path) -> None:
    """Appended blocks (new and superseding) are read incrementally with a full parse's result."""
    path = tmp_path / "dhcpd.leases"
    path.write_text(journal(*(BLOCK.format(n=n) for n in range(1, 6))))
    src = source(path)
    src.read()
    first_incremental = src.last_was_incremental  # a local: mypy would narrow the attribute
    assert not first_incremental
    with path.open("a") as f:
        f.write(BLOCK.format(n=3).replace("active", "released"))
        f.write(BLOCK.format(n=9))
    again = src.read()
    assert src.last_was_incremental
    assert again == read(path)
    assert by_ip(again)["198.18.0.3"].state is BindingState.RELEASED


def test_incremental_reads_leave_earlier_snapshots_alone(tmp_path: Path) -> None:
    """Each re-read matches a full parse, and no snapshot changes after it was returned:
    neither while re-reads add to the journal, nor when they are folded into it."""
    path = tmp_path / "dhcpd.leases"
    path.write_text(journal(*(BLOCK.format(n=n) for n in range(1, 9))))
    src = source(path)
    snapshots = [src.read()]
    frozen = [tuple(snapshots[0].leases)]
    for n in range(1, 9):  # superseding (released) and new addresses, folded in on the way
        with path.open("a") as f:
            f.write(BLOCK.format(n=n).replace("active", "released"))
            f.write(BLOCK.format(n=20 + n))
        snap = src.read()
        assert src.last_was_incremental
        assert snap == read(path)
        assert snap.leases.census(NOW) == read(path).leases.census(NOW)
        snapshots.append(snap)
        frozen.append(tuple(snap.leases))
    assert [tuple(s.leases) for s in snapshots] == frozen
    assert len(snapshots[0].leases) == 8 and len(snapshots[-1].leases) == 16


def test_incremental_completes_a_cut_tail(tmp_path: Path) -> None:
    """A block cut at one read and finished by the next is parsed whole the second time."""
    path = tmp_path / "dhcpd.leases"
    block = BLOCK.format(n=7)
    path.write_text(journal(BLOCK.format(n=1), block[:40]))
    src = source(path)
    first = src.read()
    assert not first.complete and len(first.leases) == 1
    with path.open("a") as f:
        f.write(block[40:])
    second = src.read()
    assert src.last_was_incremental
    assert second.complete and second == read(path) and len(second.leases) == 2


def test_rewrite_with_new_inode_is_a_full_parse(tmp_path: Path) -> None:
    """dhcpd's periodic rewrite (new file renamed in place) drops what only the old file had."""
    path = tmp_path / "dhcpd.leases"
    path.write_text(journal(*(BLOCK.format(n=n) for n in range(1, 6))))
    src = source(path)
    src.read()
    new = tmp_path / "dhcpd.leases.new"
    new.write_text(
        journal(*(BLOCK.format(n=n) for n in range(1, 9))).replace("198.18.0.2 ", "198.18.0.42 ")
    )
    os.replace(new, path)
    snap = src.read()
    assert not src.last_was_incremental
    assert snap == read(path) and "198.18.0.2" not in by_ip(snap)


def test_shorter_or_rewritten_in_place_is_a_full_parse(tmp_path: Path) -> None:
    """Same inode but shorter, or earlier bytes changed: never trusted as an append."""
    path = tmp_path / "dhcpd.leases"
    text = journal(*(BLOCK.format(n=n) for n in range(1, 6)))
    path.write_text(text)
    src = source(path)
    src.read()
    with path.open("r+") as f:  # same inode, shorter
        f.truncate(len(text) - len(BLOCK.format(n=5)))
    assert src.read() == read(path) and not src.last_was_incremental
    # same inode, longer, but a byte before the old end changed
    changed = path.read_text().replace("00:00:04", "00:00:44") + BLOCK.format(n=8)
    with path.open("r+") as f:
        f.write(changed)
    snap = src.read()
    assert not src.last_was_incremental
    assert snap == read(path) and by_ip(snap)["198.18.0.4"].mac == "52:54:00:00:00:44"


def test_failed_incremental_parse_leaves_no_half_state(tmp_path: Path) -> None:
    """An appended block that stops the read raises; once fixed, the next read is a correct
    full parse."""
    path = tmp_path / "dhcpd.leases"
    good = journal(BLOCK.format(n=1))
    path.write_text(good)
    src = source(path)
    src.read()
    with path.open("a") as f:
        f.write('ia-na "x" {\n  cltt 3 2025/01/01 08:00:00;\n}\n' + BLOCK.format(n=2))
    with pytest.raises(LeasesError):
        src.read()
    path.write_text(good + BLOCK.format(n=2))
    assert src.read() == read(path)


def test_fixture_copy_read_twice_unchanged(tmp_path: Path) -> None:
    """A re-read of an unchanged file is incremental and identical, cut tail and all."""
    path = tmp_path / "dhcpd.leases"
    shutil.copy(FIXTURES / "dhcpd.leases", path)
    src = source(path)
    first = src.read()
    second = src.read()
    assert src.last_was_incremental
    assert [x for x in first.warnings] == [x for x in second.warnings]
    assert first == second


def test_ranges_from_conf() -> None:
    """The snapshot carries dhcpd.conf's ranges unchanged."""
    snap = read(FIXTURES / "dhcpd.leases")
    assert snap.ranges[0] == Range(
        IPv4Address("198.18.0.10"), IPv4Address("198.18.0.19"), snap.ranges[0].subnet, "campus"
    )


ODD = {
    "a commented-out first line": (
        "# lease 198.18.0.10 {\n  starts 3 2025/01/01 00:00:00;\n  ends never;\n"
        "  binding state active;\n}\n"
    ),
    "two statements on one line": (
        "lease 198.18.0.11 {\n  starts 3 2025/01/01 00:00:00;\n  ends 3 2030/01/01 00:00:00;\n"
        "  cltt 3 2025/01/01 00:00:00; ends never;\n  binding state active;\n}\n"
    ),
    "a bad time in a free lease": (
        "lease 198.18.0.12 {\n  starts 3 2025/13/01 00:00:00;\n  ends 3 2025/01/01 00:00:00;\n"
        "  binding state free;\n}\n"
    ),
    "a bad time in a free lease, tab-indented": (
        "lease 198.18.0.13 {\n\tstarts 3 2025/13/01 00:00:00;\n\tends 3 2025/01/01 00:00:00;\n"
        "\tbinding state free;\n}\n"
    ),
}


@pytest.mark.parametrize("case", ODD)
def test_odd_blocks_read_the_same_in_any_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    """Text dhcpd never writes gives the same result (lease or error line) however the file
    is cut into chunks: the fast path never takes what the slow path would read otherwise."""
    path = tmp_path / "dhcpd.leases"
    path.write_text(ODD[case] + BLOCK.format(n=1))

    def outcome() -> tuple[tuple[Lease, ...], tuple[str, ...]]:
        snap = read(path)
        return tuple(snap.leases), snap.read_errors

    expected = outcome()
    for chunk in range(7, len(path.read_bytes()) + 2, 3):
        monkeypatch.setattr(isc_journal, "CHUNK", chunk)
        assert outcome() == expected, f"CHUNK={chunk}"
    leases, errors = expected
    if case == "two statements on one line":
        assert leases[0].ends is None and not errors  # "ends never" is the last word on ends
    elif case == "a bad time in a free lease":
        # as dhcpd writes it: the times of a lease that is not active are not read
        assert [x.state for x in leases] == [BindingState.FREE, A] and not errors
    else:
        assert errors and all(e.startswith(f"{path}:") for e in errors)
