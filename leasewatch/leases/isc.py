"""ISC dhcpd: pools from dhcpd.conf, current leases from the dhcpd.leases journal.

dhcpd.leases(5) is a journal: dhcpd appends a ``lease IP { ... }`` block on every change,
and a later block for an address replaces every earlier one until dhcpd rewrites the whole
file (a new file renamed into place, so a new inode). Replaying it gives one current lease
per address, in every binding state.

Why a hand-written parser and not isc-dhcp-leases (the library the card names): measured
with ``python -m bench`` on this machine (2 shared cores) on generated journals,
``IscDhcpLeases.get()`` takes 2.3 s and 324 MB for 100,000 blocks (35 MB of file) and
33 s and 3.1 GB for 1,000,000 blocks (353 MiB), where dhcpd-pools takes 2.8 s and 83 MB.
It reads the whole file into one string and builds a dict and a Lease per block,
superseded ones too. It is also wrong for us: ``get_current()`` keys active blocks by MAC,
so a superseded active block outlives a later release (upstream issue #37), and ``get()``
drops blocks with no ``hardware`` (failover ``backup`` leases) unless
``include_backups=True``.

So this module streams the file in 1 MiB byte chunks. The fast path splits a chunk with
one regular expression over bytes that matches a block exactly as dhcpd writes it
(``write_lease`` in server/db.c), and stores the captured fields without running Python
code per field: ``map`` over the split's columns into ``dict.update``. A chunk holding
anything else between blocks (hand-edited files, other versions, ``host`` blocks, odd
MACs) is parsed item by item instead, with the same results, and a token-level slow path
takes any block the expression does not match. Only the current lease per address is
kept, as a compact row (``JournalTable``); ``Lease`` objects are built only when asked.
Measured on the 1,000,000-block bench file: the parse takes 3.4 s (1.5 s of it inside
the regular expression engine, the floor for Python) and the whole report 3.9 s and
214 MB, where one ``Lease`` per address took 10.3 s and 410 MB.
tests/leases/test_isc_differential.py compares every address with isc-dhcp-leases'
``get(include_backups=True)`` replayed per address, on generated journals.

An ``IscLeaseSource`` kept across reads (the daemon keeps one) re-parses only what dhcpd
appended since the last read: same file (device, inode), not shorter, and the 4 KiB it
read last unchanged; anything else is a full parse. dhcpd never edits the file in place
(it appends, or writes a new file and renames it over the old one), so these checks catch
every rewrite it makes; a hand edit that keeps the inode, the length and those last bytes
would go unnoticed until dhcpd's next rewrite. A re-read writes its rows to a small
overlay (``Journal.newer``), folded into a new table once it holds a quarter as many
rows: a snapshot already returned never changes, and nothing copies a million rows
(8 ms for 1,000 appended blocks on the 1M file, 0.2 % of a full parse).
"""

from __future__ import annotations

import gc
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from ipaddress import IPv4Address
from pathlib import Path
from socket import inet_aton
from typing import BinaryIO

from leasewatch.config import ServerConfig
from leasewatch.errors import LeasesError
from leasewatch.leases import dhcpd_conf
from leasewatch.leases.interface import LeaseSource
from leasewatch.model import (
    BindingState,
    Census,
    FixedHost,
    Lease,
    Leases,
    ServerSnapshot,
    normalize_mac,
)

Progress = Callable[[int, int], None]

CHUNK = 1 << 20  # bytes per read: per-chunk work is noise, and 8 MiB chunks cost 14 MB of RSS
_TAIL = 4096  # bytes before the resume offset that must be unchanged for an append

_STATES: dict[bytes, BindingState] = {
    b"active": BindingState.ACTIVE,
    b"free": BindingState.FREE,
    b"backup": BindingState.BACKUP,
    b"abandoned": BindingState.ABANDONED,
    b"expired": BindingState.EXPIRED,
    b"released": BindingState.RELEASED,
    b"reset": BindingState.RESET,
    # dhcpd also has "reserved" (held for one client through OMAPI) and "bootp" (a BOOTP
    # client's lease, ``binding_state_names`` in common/tree.c): both hold the address.
    b"reserved": BindingState.ACTIVE,
    b"bootp": BindingState.ACTIVE,
}
_STATE_NAMES = "active, free, backup, abandoned, expired, released, reset"
_ACTIVE = BindingState.ACTIVE

# One address's current lease: its binding state when not active (nothing downstream
# reads more of those), else (ends, starts, MAC, client-hostname) with times as Unix
# seconds (None: never), the MAC as dhcpd wrote it (lower-case, colons) and the host name
# as the quoted bytes of the file (decoded when a Lease is built) or as decoded text.
ActiveRow = tuple[int | None, int | None, bytes | None, bytes | str | None]
Row = BindingState | ActiveRow

_OCTET = rb"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
# unrolled ("normal* (special normal*)*"): a per-character alternation is 25% slower
_STRING = rb'"[^"\\\n]*(?:\\.[^"\\\n]*)*"'
# dhcpd's write_lease order; every line exact, so the fast path never guesses: a block it
# does not match goes to the slow path. Time lines may carry dhcpd's "# local time" comment.
# Possessive repeats (*+): no line they take could start what follows, and not keeping
# backtrack points is 10% faster. The four times nobody reads are matched by the shape of
# the forms dhcpd writes (10% faster than [^;\n]*;); any other text goes to the slow path,
# which checks it. 7 groups.
_FAST = re.compile(
    rb"lease (" + _OCTET + rb"(?:\." + _OCTET + rb"){3}) \{\n"
    rb"(?:  starts ([^;\n]*);(?: #[^\n]*)?\n)?"
    rb"(?:  ends ([^;\n]*);(?: #[^\n]*)?\n)?"
    rb"(?:  (?:tstp|tsfp|atsfp|cltt) (?:[0-6] [0-9/]{10} [0-9:]{8}|epoch [0-9]+|never);"
    rb"(?: #[^\n]*+)?\n)*+"
    rb"  binding state ([a-z]+);\n"
    rb"(?:  (?:next|rewind) binding state [a-z]+;\n)*+"
    rb"(?:  hardware ethernet (?:((?:[0-9a-f]{2}:){5}[0-9a-f]{2})|([0-9A-Fa-f:]+));\n)?"
    rb"(?:  (?:uid|set [\w.-]+ =|option [\w.-]+) (?:" + _STRING + rb'|[^";\n]+);\n)*+'
    rb"(?:  client-hostname (" + _STRING + rb");\n)?"
    rb"(?:  on [^{\n]*\{\n(?:    [^\n]*\n)*+  \}\n)*+"
    rb"\}\n"
)
_GROUPS = 8  # re.split: the text before a block, then its 7 groups
_SPACE = re.compile(rb"(?:[ \t\r\n\f\v]+|#[^\n]*)+")
_BTOKEN = re.compile(
    rb"(?P<space>[ \t\r\f\v]+)|(?P<newline>\n)|(?P<comment>#[^\n]*)"
    rb"|(?P<string>" + _STRING + rb')|(?P<bad_string>"[^\n]*)'
    rb'|(?P<punct>[{};,=()!])|(?P<word>[^\s{};,="#()!]+)'
)
_TIME = re.compile(rb"[0-6] (\d{4})/(\d{1,2})/(\d{1,2}) (\d{1,2}):(\d{1,2}):(\d{1,2})")
_EPOCH = re.compile(rb"epoch (\d+)")

# statements dhcpd's parse_lease_declaration (common/parse.c, server/confpars.c) accepts
_TIME_KEYS = frozenset({b"starts", b"ends", b"tstp", b"tsfp", b"atsfp", b"cltt"})
_FLAG_KEYS = frozenset({b"abandoned", b"bootp", b"dynamic-bootp", b"reserved"})
_OTHER_KEYS = frozenset(
    {b"uid", b"client-hostname", b"hostname", b"set", b"option", b"on", b"vendor-class-identifier"}
    | {b"ddns-text", b"ddns-fwd-name", b"ddns-rev-name", b"ddns-client-fqdn", b"token"}
)
# top-level statements of a leases file other than ``lease`` and ``host``
_TOP_KEYS = frozenset(
    {b"failover", b"server-duid", b"authoring-byte-order", b"db-time-format", b"lease-id-format"}
    | {b"class", b"subclass", b"ia-na", b"ia-ta", b"ia-pd"}
)


class _IncompleteError(Exception):
    """The buffer ended inside a top-level item (more data may follow, or the file was cut)."""


class _Times(dict[bytes | None, int | None]):
    """Time text -> Unix seconds (None for ``never`` or no time), each text parsed once.

    A journal repeats the same few hundred thousand times; the lookup is C code, and only a
    new text runs Python. A text that is not a time raises KeyError: the chunk is parsed
    again item by item, which names the line.
    """

    def __missing__(self, text: bytes | None) -> int | None:
        value = None if text is None else _seconds(text)
        self[text] = value
        return value


_DAY_ONE = date(1970, 1, 1).toordinal()


def _seconds(text: bytes) -> int | None:
    """``N yyyy/mm/dd hh:mm:ss`` (UTC), ``epoch N`` or ``never`` -> Unix seconds or None."""
    if len(text) == 21 and text[1] == 32 and text[6] == text[9] == 47 and text[12] == 32:
        # the form dhcpd writes, by position: 40% faster than the expressions below
        try:
            day = date(int(text[2:6]), int(text[7:9]), int(text[10:12])).toordinal()
            h, mi, s = int(text[13:15]), int(text[16:18]), int(text[19:21])
        except ValueError:
            raise KeyError(text) from None
        if (
            48 <= text[0] <= 54
            and text[15] == text[18] == 58
            and h < 24
            and mi < 60
            and s < 60
            and len(digits := text[2:21].translate(None, b"/: ")) == 14
            and digits.isdigit()
        ):
            return (day - _DAY_ONE) * 86400 + h * 3600 + mi * 60 + s
    if text == b"never":
        return None
    m = _TIME.fullmatch(text)
    try:
        if m is not None:
            y, mo, d, h, mi, s = (int(x) for x in m.groups())
            return int(datetime(y, mo, d, h, mi, s, tzinfo=UTC).timestamp())
        m = _EPOCH.fullmatch(text)
        if m is not None:
            seconds = int(m.group(1))
            datetime.fromtimestamp(seconds, UTC)  # in range for a datetime?
            return seconds
    except (ValueError, OverflowError, OSError):
        pass
    raise KeyError(text)


def _row(
    state: BindingState,
    ends: int | None,
    starts: int | None,
    mac: bytes | None,
    hostname: bytes | str | None,
) -> Row:
    return (ends, starts, mac, hostname) if state is _ACTIVE else state


RowMaker = Callable[[bytes, bytes | None, bytes | None, bytes | None, bytes | None], Row]


def _row_maker(times: _Times) -> RowMaker:
    """The row of one fast-path block from its captured bytes (state, ends, starts, MAC,
    host name). Raises KeyError for an unknown state or a time that does not parse.

    Times are read only for an active lease: nothing reads the others', and reading them
    made the parse 25 % slower (their times are mostly distinct: the cache misses). So a
    dhcpd-written block that is not active may carry a time that does not parse, as the
    four times dhcpd writes after ``ends`` may; a block in any other layout goes to the
    slow path, which checks every time. Chunks end at a line's end, so which path reads a
    block depends on its text only, never on where a chunk ends.
    """
    states, active = _STATES, _ACTIVE

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


def _when(seconds: int | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def _host_text(hostname: bytes | str | None) -> str | None:
    if hostname is None or isinstance(hostname, str):
        return hostname
    body = hostname[1:-1]  # the quotes
    if b"\\" in body:
        return _unescape(body)
    return body.decode("utf-8", "backslashreplace")


class JournalTable(Leases):
    """The current leases of one journal replay: one ``Row`` per int address.

    ``rows`` is what a full parse built, ``newer`` what re-reads of the appended journal
    changed since (it wins): a re-read never copies or changes the big dict a snapshot
    holds. ``Lease`` objects are built on demand (``get``, iteration, ``find_active``); the
    census and the judge's MAC lookups read the rows directly.
    """

    __slots__ = ("_census", "_len", "_newer", "_rows", "_server")

    def __init__(self, rows: dict[int, Row], server: str, newer: dict[int, Row] | None = None):
        self._rows = rows
        self._newer = newer or {}
        self._server = server
        self._len = len(rows) + sum(1 for ip in self._newer if ip not in rows)
        self._census: tuple[datetime, Census] | None = None

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[Lease]:
        lease, rows, newer = self._lease, self._rows, self._newer
        for ip, row in rows.items():
            yield lease(ip, newer.get(ip, row))
        for ip, row in newer.items():
            if ip not in rows:
                yield lease(ip, row)

    def census(self, now: datetime) -> Census:
        if self._census is not None and self._census[0] == now:
            return self._census[1]  # the analysis and the sightings both ask
        at = now.timestamp()
        active: list[int] = []
        backup: list[int] = []
        abandoned: list[int] = []
        add_active, add_backup, add_abandoned = active.append, backup.append, abandoned.append
        backup_state, abandoned_state = BindingState.BACKUP, BindingState.ABANDONED
        newer = self._newer
        for rows in (self._rows, newer):
            for ip, row in rows.items():
                if newer and rows is not newer and ip in newer:
                    continue  # superseded since the full parse
                if row.__class__ is tuple:
                    ends = row[0]
                    if ends is None or ends > at:
                        add_active(ip)
                elif row is backup_state:
                    add_backup(ip)
                elif row is abandoned_state:
                    add_abandoned(ip)
        active.sort()
        backup.sort()
        abandoned.sort()
        census = Census(tuple(active), tuple(backup), tuple(abandoned))
        self._census = (now, census)
        return census

    def _row(self, ip: int) -> Row | None:
        row = self._newer.get(ip)
        return self._rows.get(ip) if row is None else row

    def stamp(self, ip: int) -> object:
        return self._row(ip)  # the very tuple, while a re-read did not replace it

    def get(self, ip: int) -> Lease | None:
        row = self._row(ip)
        return None if row is None else self._lease(ip, row)

    def mac(self, ip: int) -> str | None:
        row = self._row(ip)
        if isinstance(row, tuple) and row[2] is not None:
            return row[2].decode()
        return None

    def _lease(self, ip: int, row: Row) -> Lease:
        if isinstance(row, tuple):
            ends, starts, mac, hostname = row
            return Lease(
                IPv4Address(ip),
                _ACTIVE,
                None if mac is None else mac.decode(),
                _when(starts),
                _when(ends),
                _host_text(hostname),
                self._server,
            )
        return Lease(IPv4Address(ip), row, server=self._server)


@dataclass
class _Tok:
    kind: str
    text: bytes
    line: int

    def describe(self) -> str:
        if self.kind == "eof":
            return "end of file"
        text = self.text.decode("utf-8", "backslashreplace")
        return f'"{text}"' if self.kind == "string" else f"'{text}'"


@dataclass
class Journal:
    """What one parse of the leases file left behind, to resume from on the next read."""

    device: int = -1
    inode: int = -1
    offset: int = 0  # bytes consumed: the start of a cut last block, if any
    # (offset, line number) of a place at or before ``offset``: where _Lines counts from
    anchor: tuple[int, int] = (0, 1)
    tail: bytes = b""  # the bytes just before ``offset``, to prove a later read is an append
    rows: dict[int, Row] = field(default_factory=dict)  # by int(address), first-seen order
    newer: dict[int, Row] = field(default_factory=dict)  # changed since ``rows`` was shared
    shared: bool = False  # ``rows`` is held by a snapshot: re-reads write to ``newer``
    hosts: dict[str, tuple[FixedHost, ...]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    complete: bool = True


class _Lines:
    """Line numbers on demand: counting every chunk's newlines cost 0.2 s per 370 MB.

    Only errors and warnings need a line; ``at`` counts the file's newlines forward from
    the last place it knows (reading with ``os.pread``, which leaves the parse's own
    position alone), the first time from ``anchor``; going backwards counts again from it.
    """

    def __init__(self, fd: int, anchor: tuple[int, int]) -> None:
        self.fd = fd
        self.start = anchor
        self.known = anchor

    def at(self, offset: int) -> int:
        """The line number at byte ``offset`` of the file."""
        known, line = self.known if offset >= self.known[0] else self.start
        while known < offset:
            piece = os.pread(self.fd, min(CHUNK, offset - known), known)
            if not piece:
                break
            line += piece.count(b"\n")
            known += len(piece)
        self.known = (offset, line)
        return line


class LeasesParser:
    """Replays a dhcpd.leases journal into ``Journal.leases`` (one current lease per address)."""

    def __init__(self, path: Path, server: str, journal: Journal) -> None:
        self.path = path
        self.name = str(path)
        self.server = server
        self.journal = journal
        self._times = _Times()
        self._row = _row_maker(self._times)
        self.lines = _Lines(-1, (0, 1))

    # -- the loop over chunks ---------------------------------------------------------------
    def run(self, f: BinaryIO, size: int, progress: Progress | None) -> None:
        """Parse from ``journal.offset`` to ``size`` bytes (what the file held when stat'ed)."""
        j = self.journal
        f.seek(j.offset)
        self.lines = _Lines(f.fileno(), j.anchor)
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
            pos = self.scan(buf if cut == len(buf) else buf[:cut], base, eof)
            base += pos
            carry = buf[pos:]
            if progress is not None:
                progress(min(base + len(carry), size), size)
            if eof:
                return carry, base

    def scan(self, buf: bytes, base: int, eof: bool) -> int:
        """Consume complete items from ``buf`` (at file offset ``base``); return where the
        first incomplete one starts."""
        return self.items(buf, self.bulk(buf, base), base, eof)

    @property
    def target(self) -> dict[int, Row]:
        """Where parsed rows go: never into a dict a snapshot holds."""
        j = self.journal
        return j.newer if j.shared else j.rows

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
        try:
            self.target.update(
                zip(
                    map(int.from_bytes, map(inet_aton, map(bytes.decode, parts[1::_GROUPS]))),
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
        make_row = self._row
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
                        # line numbers only for an error: most slow items here are the
                        # chunk's cut last block, and counting to it costs a pass per chunk
                        pos = self.slow_item(buf, pos, 0)
                    except LeasesError:
                        self.slow_item(buf, pos, self.lines.at(base + pos))  # now with lines
                        raise
                    except _IncompleteError:
                        if eof and buf[pos:end].strip() == b"":
                            return end
                        return pos
                    continue
            ip, starts, ends, state, mac, other_mac, hostname = m.groups()
            if other_mac is not None:
                normal = normalize_mac(other_mac.decode(errors="replace"))
                if normal is None:
                    self._mac(other_mac, self.lines.at(base + m.start(6)))
                mac = None if normal is None else normal.encode()
            try:
                row = make_row(state, ends, starts, mac, hostname)
            except KeyError:  # a bad state or time: name its line
                binding, t_starts, t_ends = self._fast_values(m, base)
                row = _row(binding, t_ends, t_starts, mac, hostname)
            rows[int.from_bytes(inet_aton(ip.decode()))] = row
            pos = m.end()
        return pos

    def _fast_values(
        self, m: re.Match[bytes], base: int
    ) -> tuple[BindingState, int | None, int | None]:
        """State and times of a fast-path block that failed the quick lookups; raise naming
        the line (the match is in a buffer at file offset ``base``)."""
        _, starts, ends, state, *_ = m.groups()
        if state not in _STATES:
            at = self.lines.at(base + m.start(4))
            raise LeasesError(
                f"{self.name}:{at}: expected a binding state ({_STATE_NAMES}), "
                f"got '{state.decode(errors='replace')}'"
            )
        out: list[int | None] = []
        for key, value in ((2, starts), (3, ends)):
            if value is not None and value not in self._times:
                at = self.lines.at(base + m.start(key))
                self._times[value] = self._time(value, at)
            out.append(self._times[value])
        return _STATES[state], out[0], out[1]

    def _time(self, text: bytes, line: int) -> int | None:
        """``N yyyy/mm/dd hh:mm:ss`` (UTC), ``epoch N`` or ``never`` -> Unix seconds or None."""
        try:
            return _seconds(text)
        except KeyError:
            pass
        raise LeasesError(
            f"{self.name}:{line}: expected a time like '3 2025/01/01 12:00:00', 'epoch N' "
            f"or 'never', got '{text.decode(errors='replace')}'"
        )

    def _mac(self, text: bytes, line: int) -> str:
        mac = normalize_mac(text.decode(errors="replace"))
        if mac is None:
            raise LeasesError(
                f"{self.name}:{line}: expected a MAC address, got '{text.decode(errors='replace')}'"
            )
        return mac

    # -- the slow path: one top-level item, token by token ------------------------------------
    def slow_item(self, buf: bytes, pos: int, line: int) -> int:
        """Parse one top-level item starting at ``pos``; return the position after it."""
        tokens, after = self._item_tokens(buf, pos, line)
        head = tokens[0]
        keyword = head.text.lower() if head.kind == "word" else b""
        if keyword == b"lease":
            self._lease(tokens)
        elif keyword == b"host":
            self._host(tokens)
        elif keyword not in _TOP_KEYS:
            raise self._error(
                head, "a top-level statement (lease, host, failover peer, server-duid, ...)"
            )
        return after

    def _item_tokens(self, buf: bytes, pos: int, line: int) -> tuple[list[_Tok], int]:
        tokens: list[_Tok] = []
        depth = 0
        for m in _BTOKEN.finditer(buf, pos):
            kind = m.lastgroup or "word"
            if kind == "newline":
                line += 1
                continue
            if kind in ("space", "comment"):
                continue
            if kind == "bad_string":
                if m.end() >= len(buf):
                    raise _IncompleteError
                raise LeasesError(f"{self.name}:{line}: expected a closing '\"' on the same line")
            text = m.group()
            if kind == "string":
                text = text[1:-1]
            tok = _Tok(kind, text, line)
            if kind == "punct" and text == b"{":
                depth += 1
            elif kind == "punct" and text == b"}":
                if depth == 0:
                    raise self._error(tok, "a lease or other top-level statement")
                depth -= 1
                if depth == 0:
                    tokens.append(tok)
                    return tokens, m.end()
            elif kind == "punct" and text == b";" and depth == 0:
                tokens.append(tok)
                return tokens, m.end()
            if not tokens and kind != "word":
                raise self._error(tok, "a lease or other top-level statement")
            tokens.append(tok)
        raise _IncompleteError

    def _error(self, tok: _Tok, expected: str) -> LeasesError:
        return LeasesError(f"{self.name}:{tok.line}: expected {expected}, got {tok.describe()}")

    def _statements(
        self, tokens: list[_Tok], open_at: int
    ) -> list[tuple[list[_Tok], list[_Tok] | None]]:
        """Split a block body (``tokens[open_at]`` is its ``{``) into statements."""
        if open_at >= len(tokens) or tokens[open_at].text != b"{":
            tok = tokens[open_at] if open_at < len(tokens) else tokens[-1]
            raise self._error(tok, "'{'")
        out: list[tuple[list[_Tok], list[_Tok] | None]] = []
        words: list[_Tok] = []
        i = open_at + 1
        last = len(tokens) - 1  # the closing brace
        while i < last:
            tok = tokens[i]
            if tok.kind == "punct" and tok.text == b";":
                if words:
                    out.append((words, None))
                words = []
            elif tok.kind == "punct" and tok.text == b"{":
                depth, j = 1, i + 1
                while depth:
                    if tokens[j].text == b"{" and tokens[j].kind == "punct":
                        depth += 1
                    elif tokens[j].text == b"}" and tokens[j].kind == "punct":
                        depth -= 1
                    j += 1
                if not words:
                    raise self._error(tok, "a statement")
                out.append((words, tokens[i + 1 : j - 1]))
                words = []
                i = j
                continue
            else:
                words.append(tok)
            i += 1
        if words:
            raise self._error(tokens[last], "';'")
        return out

    def _lease(self, tokens: list[_Tok]) -> None:
        if len(tokens) < 2:
            raise self._error(tokens[-1], "an IPv4 address")
        ip = dhcpd_conf.parse_ipv4(tokens[1].text.decode(errors="replace"))
        if ip is None or tokens[1].kind != "word":
            raise self._error(tokens[1], "an IPv4 address")
        state: BindingState | None = None
        starts: int | None = None
        ends: int | None = None
        mac: str | None = None
        hostname: str | None = None
        for words, block in self._statements(tokens, 2):
            key = words[0].text.lower()
            if block is not None:
                if key != b"on":
                    raise self._error(words[0], "a lease statement")
                continue
            if key in _TIME_KEYS:
                value = b" ".join(w.text for w in words[1:])
                when = self._time(value, words[0].line)
                if key == b"starts":
                    starts = when
                elif key == b"ends":
                    ends = when
            elif key in (b"binding", b"next", b"rewind"):
                want = [b"binding", b"state"] if key == b"binding" else [key, b"binding", b"state"]
                for k, expected in enumerate(want):
                    if k >= len(words) or words[k].text.lower() != expected:
                        raise self._error(words[min(k, len(words) - 1)], "'binding state X'")
                if len(words) != len(want) + 1:
                    extra = len(words) > len(want) + 1
                    raise self._error(words[len(want) + 1] if extra else words[-1], "';'")
                name = words[-1].text.lower()
                if name not in _STATES:
                    raise self._error(words[-1], f"a binding state ({_STATE_NAMES})")
                if key == b"binding":
                    state = _STATES[name]
            elif key == b"hardware":
                if len(words) != 3:
                    raise self._error(words[-1], "'hardware ethernet MAC'")
                mac = self._mac(words[2].text, words[2].line)
            elif key == b"client-hostname":
                if len(words) != 2 or words[1].kind != "string":
                    raise self._error(words[-1], "a quoted host name")
                hostname = _unescape(words[1].text)
            elif key not in _FLAG_KEYS and key not in _OTHER_KEYS:
                raise self._error(words[0], "a lease statement")
        if state is None:
            raise self._error(tokens[0], "a lease with a 'binding state'")
        self.target[int(ip)] = _row(
            state, ends, starts, None if mac is None else mac.encode(), hostname
        )

    def _host(self, tokens: list[_Tok]) -> None:
        """``host NAME { dynamic; hardware ...; fixed-address ...; }`` written by OMAPI.

        A later block with ``deleted;`` removes the host (dhcpd.leases(5), "THE HOST
        DECLARATION"): the journal keeps only the last word on each name.
        """
        if len(tokens) < 3 or tokens[1].kind not in ("word", "string"):
            raise self._error(tokens[min(1, len(tokens) - 1)], "a host name")
        name = tokens[1].text.decode("utf-8", "backslashreplace")
        mac: str | None = None
        addresses: list[IPv4Address | None] = []
        deleted = False
        for words, _block in self._statements(tokens, 2):
            key = words[0].text.lower()
            if key == b"deleted":
                deleted = True
            elif key == b"hardware" and len(words) == 3:
                mac = self._mac(words[2].text, words[2].line)
            elif key == b"fixed-address":
                for w in words[1:]:
                    if w.text != b",":
                        addresses.append(dhcpd_conf.parse_ipv4(w.text.decode(errors="replace")))
        if deleted:
            self.journal.hosts.pop(name, None)
        else:
            self.journal.hosts[name] = tuple(FixedHost(name, mac, ip) for ip in addresses)


_ESCAPE = re.compile(rb"\\([0-7]{1,3}|.)")


def _unescape(body: bytes) -> str:
    r"""A quoted string's body with ``\"``, ``\\`` and octal ``\NNN`` decoded, as UTF-8 text.

    dhcpd escapes bytes, not characters (``print_hex_or_string`` in common/print.c): a
    UTF-8 host name arrives as ``\303\251``; decode the bytes first, then the text.
    """

    def one(m: re.Match[bytes]) -> bytes:
        text = m.group(1)
        if text[0] in b"01234567":
            return bytes([int(text, 8) & 0xFF])
        return {b"n": b"\n", b"t": b"\t", b"r": b"\r"}.get(text, text)

    return _ESCAPE.sub(one, body).decode("utf-8", "backslashreplace")


class IscLeaseSource(LeaseSource):
    """One ISC dhcpd server: ``read()`` parses dhcpd.conf and replays dhcpd.leases.

    Keep the object between reads and it re-parses only what dhcpd appended since (see the
    module docstring); a new object always does a full parse.
    """

    def __init__(self, config: ServerConfig, progress: Progress | None = None) -> None:
        if config.kind != "isc" or config.leases is None or config.dhcpd_conf is None:
            raise LeasesError(
                f"server {config.name}: expected kind 'isc' with leases and dhcpd_conf"
            )
        self.name = config.name
        self.leases_path = config.leases
        self.conf_path = config.dhcpd_conf
        self.progress = progress
        self.journal: Journal | None = None
        self.last_was_incremental = False

    def read(self) -> ServerSnapshot:
        conf = dhcpd_conf.parse(self.conf_path)
        journal = self._replay()
        if len(journal.newer) > len(journal.rows) // 4:  # fold in: amortized, as a dict grows
            journal.rows = {**journal.rows, **journal.newer}
            journal.newer = {}
        table = JournalTable(journal.rows, self.name, dict(journal.newer))
        journal.shared = True
        fixed = list(conf.fixed)
        for hosts in journal.hosts.values():
            fixed.extend(hosts)
        return ServerSnapshot(
            server=self.name,
            kind="isc",
            ranges=conf.ranges,
            leases=table,
            fixed=tuple(fixed),
            complete=journal.complete,
            warnings=tuple(journal.warnings),
        )

    def _replay(self) -> Journal:
        path = self.leases_path
        try:
            with path.open("rb") as f:
                st = os.fstat(f.fileno())
                old = self.journal
                if old is not None and self._is_append(f, st, old):
                    journal = old
                    self.last_was_incremental = True
                else:
                    journal = Journal(device=st.st_dev, inode=st.st_ino)
                    self.last_was_incremental = False
                # parse into the kept journal only once the parse succeeded: a failed
                # incremental parse must not leave half a state behind
                self.journal = None
                LeasesParser(path, self.name, journal).run(f, st.st_size, self.progress)
                self.journal = journal
                return journal
        except OSError as exc:
            raise LeasesError(f"{path}: cannot read leases file: {exc.strerror}") from None

    @staticmethod
    def _is_append(f: BinaryIO, st: os.stat_result, old: Journal) -> bool:
        """Only a proven append resumes: same file, not shorter, last bytes read unchanged."""
        if (st.st_dev, st.st_ino) != (old.device, old.inode) or st.st_size < old.offset:
            return False
        f.seek(old.offset - len(old.tail))
        same = f.read(len(old.tail)) == old.tail
        f.seek(0)
        return same
