"""A big journal's first parse on both cores: its second half read by a child process.

Measured on a 1,000,000-block journal (370 MB, bench/) on two idle cores: one process
3.1-3.7 s, two 2.2-2.4 s, of which crossing the process boundary costs the child about
0.15 s (pickling its 460,000 rows in batches) and the parent as much (loading and merging
them): worth it above ``SPLIT_MIN``. On busy cores it gains less; the result is the same.

The parent finds a block boundary near the middle (a line ``lease ...`` after a line ``}``),
starts a fresh interpreter on the second half (``_child``; no fork of a process that runs
threads), and parses the first half itself. The child's rows
come back in batches of ``BATCH`` and are merged as a sequential parse would have left them:
later blocks win, addresses stay in the order first seen, a later block repairs a damaged
one, and host declarations and deletions are replayed in order. The child's result is taken
only when the first half ended exactly at the boundary and the second holds no odd bytes
(NUL, bare CR: noted once per file, by whichever half comes first). Otherwise, or when the
child fails, the parent parses on from where it stopped, as an incremental re-read does:
the same result, in one process.
"""

from __future__ import annotations

import gc
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import IO, BinaryIO

from leasewatch.leases.isc_blocks import Journal
from leasewatch.leases.isc_journal import LeasesParser, Progress
from leasewatch.leases.isc_table import STATES, Row

SPLIT_MIN = 64 << 20  # bytes: below, starting a child costs more than it saves
BATCH = 1 << 16  # rows per message: the parent holds one batch at a time, not half a file
_WINDOW = 1 << 20  # bytes searched for a boundary
# The child runs this very copy of leasewatch: isolated (-I: no current directory, no
# PYTHON* variables on its path, which could hand it other code), with this package's root.
_ROOT = str(Path(__file__).resolve().parents[2])
_BOOT = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from leasewatch.leases.isc_split import _child; sys.exit(_child(sys.argv[2:]))"
)
_CODES = list(dict.fromkeys(STATES.values()))  # a non-active row travels as its index here
_CODE = {state: n for n, state in enumerate(_CODES)}


def parse(
    path: Path, f: BinaryIO, size: int, journal: Journal, *, name: str, progress: Progress | None
) -> bool:
    """Replay ``f`` (``path``, ``size`` bytes) into the fresh ``journal``; True when a child
    read the second half."""
    cut = boundary(f, size) if size >= SPLIT_MIN and spare_core() else None
    if cut is None:
        LeasesParser(path, name, journal).run(f, size, progress)
        return False
    st = os.fstat(f.fileno())
    try:
        child = subprocess.Popen(
            [sys.executable, "-I", "-c", _BOOT, _ROOT, str(path), name]
            + [str(n) for n in (cut, size, st.st_dev, st.st_ino)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
    except OSError:  # no process to be had (limits, memory): one process reads it all
        LeasesParser(path, name, journal).run(f, size, progress)
        return False
    taken = False
    try:
        LeasesParser(path, name, journal).run(f, cut, _of_whole(progress, size))
        assert child.stdout is not None  # stdout=PIPE
        if journal.offset == cut and journal.complete:
            # as the parse (LeasesParser.run): the rows hold no cycles, and with the
            # collector on it ran 339 times over the half million rows the merge loads
            # (0.45 s against 0.33 s, bench/)
            gc_was_enabled = gc.isenabled()
            gc.disable()
            try:
                taken = _merge(child.stdout, journal)
            finally:
                if gc_was_enabled:
                    gc.enable()
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()
    if not taken:  # parse on from where the parent stopped (or the merge did)
        LeasesParser(path, name, journal).run(f, size, progress)
    elif progress is not None:
        progress(size, size)
    return taken


def _of_whole(progress: Progress | None, size: int) -> Progress | None:
    """``progress`` of the first half, told as progress through the whole file."""
    if progress is None:
        return None
    report = progress

    def half(done: int, _total: int) -> None:
        report(done, size)

    return half


def spare_core() -> bool:
    """Whether a second process would find a core free: the last minute's load average is
    under the number of cores. Measured on two cores: at a load of 1.4, 3.7 s in one process
    and 2.3 s in two; at a load of 4 (both cores taken), 6.0 s and 8.6 s."""
    cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except OSError:  # no load average to be had
        return False
    return cores >= 2 and load < cores


def boundary(f: BinaryIO, size: int) -> int | None:
    """The offset of a ``lease`` line that follows a ``}`` line, past the middle of ``f``."""
    middle = size // 2
    window = os.pread(f.fileno(), _WINDOW, middle)
    at = window.find(b"\n}\nlease ")
    return None if at < 0 else middle + at + 3


def _merge(stream: IO[bytes], journal: Journal) -> bool:
    """The child's rows and end state into ``journal``; False when it has none to give."""
    try:
        head = pickle.load(stream)
        if head != "clean":
            return False
        rows, damaged = journal.rows, journal.damaged
        while True:
            batch = pickle.load(stream)
            if isinstance(batch, Journal):
                break
            ips, values = batch
            if damaged:  # a later block replaces one read in part
                for ip in ips:
                    damaged.pop(ip, None)
            rows.update(zip(ips, values, strict=True))
            for ip, value in zip(ips, values, strict=True):
                if value.__class__ is int:
                    rows[ip] = _CODES[value]
    except Exception:  # any answer but a whole one (even a bug): the parent reads on
        return False  # what was merged is the same as what the parent now reads again
    damaged.update(batch.damaged)
    journal.skipped.extend(batch.skipped)
    for name, hosts in batch.host_log or ():
        if hosts is None:
            journal.hosts.pop(name, None)
        else:
            journal.hosts[name] = hosts
    journal.offset, journal.anchor, journal.tail = batch.offset, batch.anchor, batch.tail
    journal.complete = batch.complete
    journal.warnings = batch.warnings
    journal.marked = journal.marked or batch.marked
    journal.failover.update(batch.failover)  # the later half's failover states are newer
    return True


def _child(argv: list[str]) -> int:
    """Parse ``path`` (named ``name`` in messages) from ``cut`` to ``size`` and write the
    rows, then the journal, to stdout (``_merge``)."""
    path, name = Path(argv[0]), argv[1]
    cut, size, device, inode = map(int, argv[2:])
    out = sys.stdout.buffer
    with path.open("rb") as f:
        st = os.fstat(f.fileno())
        if (st.st_dev, st.st_ino) != (device, inode):
            return 3  # not the file the parent reads (rewritten since)
        # lines counted from the start of the file, only if an error needs one
        journal = Journal(device=device, inode=inode, offset=cut, anchor=(0, 1), host_log=[])
        LeasesParser(path, name, journal).run(f, size, None)
    if journal.notes:  # once per file: which half's comes first is the parent's to know
        pickle.dump("unclean", out)
        return 0
    pickle.dump("clean", out)
    rows = journal.rows
    journal.rows = {}
    code = _CODE
    batch: tuple[list[int], list[Row | int]] = ([], [])
    for ip, row in rows.items():
        batch[0].append(ip)
        batch[1].append(row if isinstance(row, tuple) else code[row])
        if len(batch[0]) == BATCH:
            pickle.dump(batch, out, protocol=pickle.HIGHEST_PROTOCOL)
            batch = ([], [])
    if batch[0]:
        pickle.dump(batch, out, protocol=pickle.HIGHEST_PROTOCOL)
    pickle.dump(journal, out, protocol=pickle.HIGHEST_PROTOCOL)
    out.flush()
    return 0
