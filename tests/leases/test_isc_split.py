"""The two-process first parse (``isc_split``) against one process and isc-dhcp-leases."""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path

import pytest

from leasewatch.config import ServerConfig
from leasewatch.leases import isc_split
from leasewatch.leases.isc import IscLeaseSource
from leasewatch.leases.isc_blocks import Journal
from leasewatch.leases.isc_journal import LeasesParser
from tests.leases.test_isc_differential import CONF, _block, _journal, _oracle, _ours

FIELDS = ("offset", "anchor", "tail", "complete", "warnings", "marked", "damaged", "skipped",
          "notes", "hosts", "failover")  # fmt: skip


def one_process(path: Path) -> Journal:
    """The journal one process leaves."""
    journal = Journal()
    with path.open("rb") as f:
        LeasesParser(path, "s", journal).run(f, path.stat().st_size, None)
    return journal


def two_processes(path: Path) -> tuple[Journal, bool]:
    """The journal the split parse leaves, and whether a child read the second half."""
    journal = Journal()
    with path.open("rb") as f:
        took = isc_split.parse(path, f, path.stat().st_size, journal, name="s", progress=None)
    return journal, took


def assert_same(a: Journal, b: Journal) -> None:
    """Rows in the same order, and everything a later read or a report uses."""
    assert list(a.rows.items()) == list(b.rows.items())
    for name in FIELDS:
        assert getattr(a, name) == getattr(b, name), name


@pytest.fixture
def split_small(monkeypatch: pytest.MonkeyPatch) -> None:
    """Split files of any size (the tests' journals are small) in small batches, whatever
    the load."""
    monkeypatch.setattr(isc_split, "SPLIT_MIN", 0)
    monkeypatch.setattr(isc_split, "BATCH", 100)
    monkeypatch.setattr(isc_split, "spare_core", lambda: True)  # whatever else runs here


@pytest.mark.usefixtures("split_small")
@pytest.mark.parametrize("seed", [1, 2])
def test_dhcpd_written_journal_is_read_by_two_processes_alike(tmp_path: Path, seed: int) -> None:
    """A journal as dhcpd writes it: the child reads the second half, and the result is
    what one process reads and what isc-dhcp-leases reads."""
    leases = tmp_path / "dhcpd.leases"
    conf = tmp_path / "dhcpd.conf"
    conf.write_text(CONF)
    _journal(leases, seed, 3000, odd=0.0)
    journal, took = two_processes(leases)
    assert took
    assert_same(journal, one_process(leases))
    assert _ours(leases, conf) == _oracle(leases)  # IscLeaseSource, split as well


HOST = "host vm-1 {{\n  dynamic;\n  hardware ethernet 52:54:00:00:00:01;\n{}}}\n"
DEFINED = HOST.format("  fixed-address 198.18.0.21;\n")
DELETED = HOST.format("  deleted;\n")


@pytest.mark.usefixtures("split_small")
def test_damage_and_hosts_in_the_second_half_merge_as_one_process_reads(tmp_path: Path) -> None:
    """A damaged block, a skipped item and a host declared in the first half and deleted
    in the second: the child's result is taken, and equals one process's."""
    leases = tmp_path / "dhcpd.leases"
    rng = random.Random(3)
    first = [DEFINED, "lease 198.18.0.20 {\n  binding state active;\n  hardware ethernet zz;\n}\n"]
    first += [_block(rng, f"198.18.1.{n % 240 + 10}", n, 0.0) for n in range(1500)]
    second = [_block(rng, f"198.18.2.{n % 240 + 10}", n, 0.0) for n in range(1500)]
    second += [
        DELETED,
        "lease 198.18.0.22 {\n  binding state active;\n  hardware ethernet zz;\n}\n",
    ]
    second += ["lease 300.1.2.3 {\n  binding state free;\n}\n", DEFINED.replace("vm-1", "vm-2")]
    leases.write_text("".join(first + second))
    journal, took = two_processes(leases)
    assert took
    assert_same(journal, one_process(leases))
    assert list(journal.hosts) == ["vm-2"] and len(journal.damaged) == 2 and journal.skipped


@pytest.mark.usefixtures("split_small")
def test_odd_bytes_in_the_second_half_are_read_by_the_parent(tmp_path: Path) -> None:
    """NUL bytes after the boundary (noted once per file): the parent reads on itself."""
    leases = tmp_path / "dhcpd.leases"
    _journal(leases, 3, 2000, odd=0.0)
    with leases.open("ab") as f:
        f.write(b"\0\0\0\n")
    journal, took = two_processes(leases)
    assert not took and journal.notes
    assert_same(journal, one_process(leases))


@pytest.mark.usefixtures("split_small")
def test_a_later_block_repairs_a_damaged_one_across_the_halves(tmp_path: Path) -> None:
    """A block damaged in the first half and written again whole in the second is no
    longer damaged, as in one process."""
    leases = tmp_path / "dhcpd.leases"
    rng = random.Random(9)
    damaged = "lease 198.18.0.30 {\n  binding state active;\n  hardware ethernet zz;\n}\n"
    blocks = [damaged] + [_block(rng, f"198.18.1.{n % 240 + 10}", n, 0.0) for n in range(2000)]
    blocks.append(_block(rng, "198.18.0.30", 9999, 0.0))
    leases.write_text("".join(blocks))
    journal, took = two_processes(leases)
    assert took and not journal.damaged
    assert_same(journal, one_process(leases))


@pytest.mark.usefixtures("split_small")
def test_a_failed_child_leaves_the_parse_to_the_parent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A child that fails (here: an interpreter that exits at once) or cannot be started
    (none there) gives nothing; the parent reads on."""
    leases = tmp_path / "dhcpd.leases"
    _journal(leases, 4, 2000, odd=0.0)
    for interpreter in ("/bin/false", str(tmp_path / "no-such-python")):
        monkeypatch.setattr(sys, "executable", interpreter)
        journal, took = two_processes(leases)
        assert not took
        assert_same(journal, one_process(leases))


@pytest.mark.usefixtures("split_small")
def test_a_split_parse_resumes_as_an_append(tmp_path: Path) -> None:
    """After a split first parse, blocks dhcpd appends are read incrementally and give
    what a new full parse gives."""
    leases = tmp_path / "dhcpd.leases"
    conf = tmp_path / "dhcpd.conf"
    conf.write_text(CONF)
    _journal(leases, 5, 2000, odd=0.0)
    server = ServerConfig("s", "isc", leases=leases, dhcpd_conf=conf)
    source = IscLeaseSource(server)
    source.read()
    rng = random.Random(5)
    with leases.open("a") as f:
        f.writelines(_block(rng, f"198.18.2.{n + 10}", n, 0.0) for n in range(50))
    again = source.read()
    assert source.last_was_incremental
    assert again == IscLeaseSource(server).read()


def test_a_second_process_only_on_a_spare_core(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two processes only while the load average is under the cores; never on one core."""
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(os, "getloadavg", lambda: (1.4, 0.0, 0.0))
    assert isc_split.spare_core()
    monkeypatch.setattr(os, "getloadavg", lambda: (2.5, 0.0, 0.0))
    assert not isc_split.spare_core()
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert not isc_split.spare_core()


@pytest.mark.usefixtures("split_small")
def test_failover_states_in_the_second_half_come_back(tmp_path: Path) -> None:
    """The journal's last ``failover peer ... state`` block is the newest word, whichever
    process read it."""
    leases = tmp_path / "dhcpd.leases"
    _journal(leases, 3, 3000, odd=0.0)
    state = (
        'failover peer "fo" state {{\n  my state {} at 3 2025/01/01 11:00:00;\n'
        "  partner state normal at 3 2025/01/01 10:00:01;\n}}\n"
    )
    leases.write_text(state.format("normal") + leases.read_text() + state.format("recover"))
    journal, took = two_processes(leases)
    assert took
    assert journal.failover == {"fo": ("recover", "normal")}
    assert_same(journal, one_process(leases))
