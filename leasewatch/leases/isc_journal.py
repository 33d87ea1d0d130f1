"""The dhcpd.leases replay: the loop over chunks and the fast path (see ``leasewatch.leases.isc``).

The file is read in 1 MiB byte chunks. The fast path splits a chunk with one regular
expression over bytes that matches a block exactly as dhcpd writes it (``write_lease`` in
server/db.c), and stores the captured fields without running Python code per field:
``map`` over the split's columns into ``dict.update``. A chunk holding anything else
between blocks is parsed item by item (``items``), and a block the expression does not
match goes to the slow path (``leasewatch.leases.isc_blocks``), with the same results.
"""

from __future__ import annotations

import gc
import re
import sys
from collections.abc import Callable
from pathlib import Path
from socket import inet_aton
from typing import BinaryIO

from leasewatch.leases.isc_blocks import (
    STRING,
    BlockReader,
    IncompleteError,
    Journal,
    Lines,
    Times,
    damage,
    mac_problem,
    state_problem,
    time_problem,
)
from leasewatch.leases.isc_table import ACTIVE, STATES, Row, make_row
from leasewatch.model import BindingState, normalize_mac

Progress = Callable[[int, int], None]

CHUNK = 1 << 20  # bytes per read: per-chunk work is noise, and 8 MiB chunks cost 14 MB of RSS
_TAIL = 4096  # bytes before the resume offset that must be unchanged for an append

_OCTET = rb"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
# dhcpd's write_lease order; every line exact, so the fast path never guesses: a block it
# does not match goes to the slow path. Time lines may carry dhcpd's "# local time" comment.
# Possessive repeats (*+): no line they take could start what follows, and not keeping
# backtrack points is 10% faster. CPython before 3.11.5 (Debian bookworm's 3.11.2) matches
# some possessive repeats wrongly (gh-106052), which sent every block to the slow path
# there: it gets plain greedy repeats, which match the same text here, only slower.
# The four times nobody reads are matched by the shape of the forms dhcpd writes (10%
# faster than [^;\n]*;); any other text goes to the slow path, which checks it. 7 groups.
_REPEAT = b"*+" if sys.version_info >= (3, 11, 5) else b"*"
_FAST = re.compile(
    rb"lease (" + _OCTET + rb"(?:\." + _OCTET + rb"){3}) \{\n"
    rb"(?:  starts ([^;\n]*);(?: #[^\n]*)?\n)?"
    rb"(?:  ends ([^;\n]*);(?: #[^\n]*)?\n)?"
    rb"(?:  (?:tstp|tsfp|atsfp|cltt) (?:[0-6] [0-9/]{10} [0-9:]{8}|epoch [0-9]+|never);"
    rb"(?: #[^\n]" + _REPEAT + rb")?\n)" + _REPEAT + rb""
    rb"  binding state ([a-z]+);\n"
    rb"(?:  (?:next|rewind) binding state [a-z]+;\n)" + _REPEAT + rb""
    rb"(?:  hardware ethernet (?:((?:[0-9a-f]{2}:){5}[0-9a-f]{2})|([0-9A-Fa-f:]+));\n)?"
    rb"(?:  (?:uid|set [\w.-]+ =|option [\w.-]+) (?:" + STRING + rb'|[^";\n]+);\n)' + _REPEAT + rb""
    rb"(?:  client-hostname (" + STRING + rb");\n)?"
    rb"(?:  on [^{\n]*\{\n(?:    [^\n]*\n)" + _REPEAT + rb"  \}\n)" + _REPEAT + rb""
    rb"\}\n"
)
_GROUPS = 8  # re.split: the text before a block, then its 7 groups
_SPACE = re.compile(rb"(?:[ \t\r\n\f\v\0]+|#[^\n]*)+")  # NUL: see isc_blocks._BTOKEN
_BARE_CR = re.compile(rb"\r(?!\n)")

RowMaker = Callable[[bytes, bytes | None, bytes | None, bytes | None, bytes | None], Row]


def _row_maker(times: Times) -> RowMaker:
    """The row of one fast-path block from its captured bytes (state, ends, starts, MAC,
    host name). Raises KeyError for an unknown state or a time that does not parse.

    Times are read only for an active lease: nothing reads the others', and reading them
    made the parse 25 % slower (their times are mostly distinct: the cache misses). So a
    dhcpd-written block that is not active may carry a time that does not parse, as the
    four times dhcpd writes after ``ends`` may; a block in any other layout goes to the
    slow path, which checks every time. Chunks end at a line's end, so which path reads a
    block depends on its text only, never on where a chunk ends.
    """
    states, active = STATES, ACTIVE

    def row(
        state: bytes,
        ends: bytes | None,
        starts: bytes | None,
        mac: bytes | None,
        hostname: bytes | None,
    ) -> Row:
        binding = states[state]
        if binding is active:
            return (times[ends], times[starts], mac, hostname)
        return binding

    return row


class LeasesParser(BlockReader):
    """Replays a dhcpd.leases journal into ``Journal.rows`` (one current lease per address)."""

    def __init__(self, path: Path, server: str, journal: Journal) -> None:
        super().__init__(str(path), journal)
        self.path = path
        self.server = server
        self._times = Times()
        self._row = _row_maker(self._times)

    # -- the loop over chunks ---------------------------------------------------------------
    def run(self, f: BinaryIO, size: int, progress: Progress | None) -> None:
        """Parse from ``journal.offset`` to ``size`` bytes (what the file held when stat'ed)."""
        j = self.journal
        f.seek(j.offset)
        self.lines = Lines(f.fileno(), j.anchor)
        j.warnings = []
        j.complete = True
        # Nothing made here is cyclic (rows of ints and bytes), yet the cyclic GC scans
        # every tracked tuple again and again as a million rows pile up: measured 11.2 s
        # with it and 6.5 s without when rows were Lease objects. Restored below.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            carry, base = self._chunks(f, size, progress)
        finally:
            if gc_was_enabled:
                gc.enable()
        # the resume point: before the cut last block, so the next read parses it whole
        j.offset = base
        known = self.lines.known
        j.anchor = known if known[0] <= base else self.lines.start
        if carry:
            line = self.lines.at(base)
            j.anchor = (base, line)
            j.complete = False
            j.warnings.append(
                f"{self.name}:{line}: ignored a lease block cut short at the end of the file "
                "(dhcpd writing it, or crashed mid-write)"
            )
        f.seek(max(0, base - _TAIL))
        j.tail = f.read(min(_TAIL, base))

    def _chunks(self, f: BinaryIO, size: int, progress: Progress | None) -> tuple[bytes, int]:
        carry = b""
        base = self.journal.offset  # file offset of carry[0]
        while True:
            want = min(CHUNK, size - base - len(carry))
            chunk = f.read(want) if want > 0 else b""
            eof = base + len(carry) + len(chunk) >= size or not chunk
            buf = carry + chunk if carry else chunk
            # parse up to the last whole line: a block is then whole or not at all, never
            # cut between its "}" and its newline (the fast path needs both)
            cut = len(buf) if eof else buf.rfind(b"\n") + 1 or len(buf)
            whole = buf if cut == len(buf) else buf[:cut]
            if b"\0" in whole or b"\r" in whole:  # one memchr each per chunk: free
                self._odd_bytes(whole, base)
            pos = self.scan(whole, base, eof)
            base += pos
            carry = buf[pos:]
            if progress is not None:
                progress(min(base + len(carry), size), size)
            if eof:
                return carry, base

    def _odd_bytes(self, buf: bytes, base: int) -> None:
        """Warn (once per file) of NUL bytes and of bare CR line ends; both read as spaces."""
        notes = self.journal.notes
        nul = buf.find(b"\0")
        if nul >= 0 and not any("NUL" in n for n in notes):
            notes.append(
                f"{self.name}:{self.lines.at(base + nul)}: NUL bytes in the leases file "
                "(a crash while dhcpd wrote it?): read as white space"
            )
        cr = _BARE_CR.search(buf)
        if cr is not None and not any("bare CR" in n for n in notes):
            notes.append(
                f"{self.name}:{self.lines.at(base + cr.start())}: bare CR line ends (not "
                "written by dhcpd): read as white space, line numbers count LF only"
            )

    def scan(self, buf: bytes, base: int, eof: bool) -> int:
        """Consume complete items from ``buf`` (at file offset ``base``); return where the
        first incomplete one starts."""
        return self.items(buf, self.bulk(buf, base), base, eof)

    def bulk(self, buf: bytes, base: int) -> int:
        """Take every block of ``buf`` at once when all are dhcpd-written; return the end.

        What stands before the first block (the file's header, ``host`` blocks) is parsed
        item by item first. Returns 0 (nothing taken) when anything but whitespace stands
        between two fast-path blocks, an item before the first runs into it, or a value
        needs Python to check (a MAC in another spelling, an unknown state, a new time that
        does not parse): ``items`` then parses the chunk one item at a time, in order, and
        names the line of any error. Rows stored before such a stop are stored again in the
        same order, so the result is the same.
        """
        parts = _FAST.split(buf)
        blocks = len(parts) // _GROUPS
        if not blocks or b"".join(parts[_GROUPS:-1:_GROUPS]).strip() or any(parts[6::_GROUPS]):
            return 0
        head = len(parts[0])
        if parts[0].strip() and self.items(buf, 0, base, True, stop=head) != head:
            return 0
        damaged = self.journal.damaged
        if damaged:  # rare: blocks read in part earlier, maybe replaced in this chunk
            for ip in map(int.from_bytes, map(inet_aton, map(bytes.decode, parts[1::_GROUPS]))):
                damaged.pop(ip, None)
        ips = map(int.from_bytes, map(inet_aton, map(bytes.decode, parts[1::_GROUPS])))
        try:
            self.target.update(
                zip(
                    ips,
                    map(
                        self._row,
                        parts[4::_GROUPS],
                        parts[3::_GROUPS],
                        parts[2::_GROUPS],
                        parts[5::_GROUPS],
                        parts[7::_GROUPS],
                    ),
                    strict=True,
                )
            )
        except KeyError:
            return 0
        return len(buf) - len(parts[-1])

    def items(self, buf: bytes, pos: int, base: int, eof: bool, stop: int | None = None) -> int:
        """Consume complete items from ``buf[pos:stop]`` one at a time (``buf`` is at
        ``base``); return where the first incomplete one starts. With ``stop``, past it
        when an item runs beyond."""
        fast = _FAST.match
        space = _SPACE.match
        rows = self.target
        damaged = self.journal.damaged
        make = self._row
        end = len(buf) if stop is None else stop
        while pos < end:
            m = fast(buf, pos)
            if m is None:
                s = space(buf, pos)
                if s is not None:
                    if stop is not None and s.end() > stop:
                        return s.end()  # a comment hides what bulk took for a block
                    if s.end() >= end:
                        # a comment may go on in the next chunk: read it again from there
                        return end if eof else pos
                    pos = s.end()
                    m = fast(buf, pos)
                if m is None:
                    try:
                        pos = self.slow_item(buf, pos, base + pos)
                    except IncompleteError:
                        if eof and buf[pos:end].strip(b" \t\r\n\f\v\0") == b"":
                            return end
                        return pos
                    continue
            ip, starts, ends, state, mac, other_mac, hostname = m.groups()
            problem: tuple[int, str] | None = None
            if other_mac is not None:
                normal = normalize_mac(other_mac.decode(errors="replace"))
                if normal is None:
                    problem = (self.lines.at(base + m.start(6)), mac_problem(other_mac))
                mac = None if normal is None else normal.encode()
            try:
                row = make(state, ends, starts, mac, hostname)
            except KeyError:  # a bad state or time: name its line
                row, problem = self._fast_row(m, base, mac, problem)
            key = int.from_bytes(inet_aton(ip.decode()))
            if problem is None and not damaged:
                rows[key] = row
            else:
                if problem is not None:
                    problem = (problem[0], damage(ip.decode(), problem[1]))
                    row = row if not isinstance(row, tuple) else (*row[:2], None, row[3])
                self.store(key, row, problem)
            pos = m.end()
        return pos

    def _fast_row(
        self, m: re.Match[bytes], base: int, mac: bytes | None, problem: tuple[int, str] | None
    ) -> tuple[Row, tuple[int, str] | None]:
        """The row of a fast-path block that failed the quick lookups, and its first problem
        (the match is in a buffer at file offset ``base``): what the slow path would make."""
        _, starts, ends, state, *_, hostname = m.groups()
        problems = [] if problem is None else [problem]
        binding: BindingState | None = STATES.get(state)
        if binding is None:
            problems.append((self.lines.at(base + m.start(4)), state_problem(state)))
        times: list[int | None] = []
        for key, value in ((2, starts), (3, ends)):
            when = None
            if value is not None:
                try:
                    when = self._times[value]
                except KeyError:
                    problems.append((self.lines.at(base + m.start(key)), time_problem(value)))
            times.append(when)
        if binding is None:  # as the slow path: dhcpd's rule for no readable state
            binding = ACTIVE if ends is not None else BindingState.FREE
        row = make_row(binding, times[1], times[0], mac, hostname)
        return row, min(problems) if problems else None
