"""The slow path of the dhcpd.leases replay: one top-level item, token by token.

Whatever the fast path's expression does not take (hand-edited files, other dhcpd
versions, ``host`` blocks, odd values) comes here, and so does every value the fast path
could not check (a time, a MAC, a binding state).

One bad block never blinds a server: a lease block with a value that cannot be read (a
MAC with non-hex digits, a date that does not exist, an unknown binding state, a statement
dhcpd does not write) is kept with what could be read and no MAC, so it counts in
utilization and is never judged an orphan (a lease with no MAC is unknown); its file and
line become a read error of the snapshot (``report`` exits 4) and the rest of the file is
read. Measured with dhcpd 4.4.3-P1 reading such a journal at start-up: a bad MAC keeps the
lease with an empty ``hardware ethernet``; a bad binding state or an unknown statement
("Corrupt lease file - possible data loss!") drops the block and the one after it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from ipaddress import IPv4Address

from leasewatch.errors import LeasesError
from leasewatch.leases.dhcpd_failover import journal_state
from leasewatch.leases.dhcpd_syntax import decode_string, describe, parse_ipv4
from leasewatch.leases.isc_table import ACTIVE, STATE_NAMES, STATES, Row, make_row
from leasewatch.model import BindingState, FixedHost, normalize_mac

_PREAD = 1 << 20  # bytes per read while counting lines

# unrolled ("normal* (special normal*)*"): a per-character alternation is 25% slower
STRING = rb'"[^"\\\n]*(?:\\.[^"\\\n]*)*"'
# NUL counts as white space: a file zero-filled after a crash (a warning says so) still reads
_BTOKEN = re.compile(
    rb"(?P<space>[ \t\r\f\v\0]+)|(?P<newline>\n)|(?P<comment>#[^\n]*)"
    rb"|(?P<string>" + STRING + rb')|(?P<bad_string>"[^\n]*)'
    rb'|(?P<punct>[{};,=()!])|(?P<word>[^\s\0{};,="#()!]+)'
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
# top-level statements dhcpd writes in a DHCPv4 leases file besides ``lease`` and ``host``
_TOP_KEYS = frozenset(
    {b"failover", b"server-duid", b"authoring-byte-order", b"db-time-format", b"lease-id-format"}
    | {b"class", b"subclass"}
)
# what only a DHCPv6 journal holds (dhcpd -6: ``ia-na``, ``ia-ta``, ``ia-pd`` blocks)
_V6_KEYS = frozenset({b"ia-na", b"ia-ta", b"ia-pd"})
_TOP_NAMES = "lease, host, failover peer, server-duid, ..."
_MOST = 10  # read errors shown per server; the rest are counted


class IncompleteError(Exception):
    """The buffer ended inside a top-level item (more data may follow, or the file was cut)."""


class Times(dict[bytes | None, int | None]):
    """Time text -> Unix seconds (None for ``never`` or no time), each text parsed once.

    A journal repeats the same few hundred thousand times; the lookup is C code, and only a
    new text runs Python. A text that is not a time raises KeyError: the chunk is parsed
    again item by item, which names the line.
    """

    def __missing__(self, text: bytes | None) -> int | None:
        value = None if text is None else seconds(text)
        self[text] = value
        return value


_DAY_ONE = date(1970, 1, 1).toordinal()


def seconds(text: bytes) -> int | None:
    """``N yyyy/mm/dd hh:mm:ss`` (UTC), ``epoch N`` or ``never`` -> Unix seconds or None.

    Raises KeyError for anything else.
    """
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
            value = int(m.group(1))
            datetime.fromtimestamp(value, UTC)  # in range for a datetime?
            return value
    except (ValueError, OverflowError, OSError):
        pass
    raise KeyError(text)


def time_problem(text: bytes) -> str:
    return (
        "expected a time like '3 2025/01/01 12:00:00', 'epoch N' or 'never', "
        f"got '{text.decode(errors='replace')}'"
    )


def mac_problem(text: bytes) -> str:
    return f"expected a MAC address, got '{text.decode(errors='replace')}'"


def damage(ip: str, what: str) -> str:
    """The read error of a lease block kept in part."""
    return f"{what}; lease {ip} counted with what could be read, MAC unknown"


def state_problem(text: bytes) -> str:
    return f"expected a binding state ({STATE_NAMES}), got '{text.decode(errors='replace')}'"


@dataclass
class Tok:
    kind: str
    text: bytes
    line: int

    def describe(self) -> str:
        return describe(self.kind, self.text.decode("utf-8", "backslashreplace"))


@dataclass
class Journal:
    """What one parse of the leases file left behind, to resume from on the next read."""

    device: int = -1
    inode: int = -1
    offset: int = 0  # bytes consumed: the start of a cut last block, if any
    # (offset, line number) of a place at or before ``offset``: where Lines counts from
    anchor: tuple[int, int] = (0, 1)
    tail: bytes = b""  # the bytes just before ``offset``, to prove a later read is an append
    rows: dict[int, Row] = field(default_factory=dict)  # by int(address), first-seen order
    newer: dict[int, Row] = field(default_factory=dict)  # changed since ``rows`` was shared
    shared: bool = False  # ``rows`` is held by a snapshot: re-reads write to ``newer``
    hosts: dict[str, tuple[FixedHost, ...]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # this read's (a cut last block)
    complete: bool = True
    # What stays true of the file until dhcpd rewrites it, so kept across appends:
    # lease blocks read in part, by address (a later block for the address replaces it) ...
    damaged: dict[int, tuple[int, str]] = field(default_factory=dict)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # ... items not read at all
    notes: list[str] = field(default_factory=list)  # NUL bytes, bare CR line ends
    marked: bool = False  # holds a statement only dhcpd writes (authoring-byte-order, ...)
    # every host declared or deleted, in order, when kept (a part read by another process:
    # ``leasewatch.leases.isc_split`` replays it onto what came before)
    host_log: list[tuple[str, tuple[FixedHost, ...] | None]] | None = None
    # each failover peer's last ``failover peer "name" state { ... }``: (my, partner state)
    failover: dict[str, tuple[str, str | None]] = field(default_factory=dict)

    def read_errors(self, name: str) -> tuple[str, ...]:
        """The damaged and skipped items as ``FILE:LINE: ...`` lines, the first few of them."""
        found = sorted([*self.skipped, *self.damaged.values()])
        out = [f"{name}:{line}: {what}" for line, what in found[:_MOST]]
        if len(found) > _MOST:
            out.append(f"{name}: {len(found) - _MOST} more blocks not read in full")
        return tuple(out)


class Lines:
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
            piece = os.pread(self.fd, min(_PREAD, offset - known), known)
            if not piece:
                break
            line += piece.count(b"\n")
            known += len(piece)
        self.known = (offset, line)
        return line


class BlockReader:
    """Reads one top-level item of a journal into ``journal`` (see the module docstring)."""

    def __init__(self, name: str, journal: Journal) -> None:
        self.name = name
        self.journal = journal
        self.lines = Lines(-1, (0, 1))
        self._offset = 0  # where the item being read starts in the file

    @property
    def target(self) -> dict[int, Row]:
        """Where parsed rows go: never into a dict a snapshot holds."""
        j = self.journal
        return j.newer if j.shared else j.rows

    def store(self, ip: int, row: Row, problem: tuple[int, str] | None = None) -> None:
        """The current row of ``ip``; a block read in part names its first problem."""
        self.target[ip] = row
        damaged = self.journal.damaged
        if problem is not None:
            damaged[ip] = problem
        elif damaged:
            damaged.pop(ip, None)

    def skip(self, line: int, what: str) -> None:
        """An item not read at all (``line`` counts from the item's first line, 0)."""
        self.journal.skipped.append((self.line(line), what))

    def line(self, relative: int) -> int:
        """The file's line number of a token's ``relative`` one: counted only when needed,
        since most slow items are a chunk's cut last block, read again with the next one."""
        return self.lines.at(self._offset) + relative

    def slow_item(self, buf: bytes, pos: int, offset: int) -> int:
        """Parse one top-level item starting at ``pos`` (at ``offset`` in the file); return
        the position after it."""
        self._offset = offset
        tokens, after, problems = self._item_tokens(buf, pos, 0)
        head = tokens[0]
        keyword = head.text.lower() if head.kind == "word" else b""
        if keyword == b"lease":
            self._lease(tokens, problems)
        elif keyword == b"host":
            self._host(tokens)
        elif keyword in _V6_KEYS:
            raise LeasesError(
                f"{self.name}:{self.line(head.line)}: expected a DHCPv4 leases file, got "
                f"'{keyword.decode()}' (a DHCPv6 lease) after DHCPv4 ones"
            )
        elif keyword in _TOP_KEYS:
            self.journal.marked = True
            if keyword == b"failover":
                self._failover(tokens, problems)
        elif head.kind == "punct" and head.text == b"}":
            self.skip(head.line, "expected a lease or other top-level statement, got '}'")
        else:
            self.skip(
                head.line, f"expected a top-level statement ({_TOP_NAMES}), got {head.describe()}"
            )
        return after

    def _item_tokens(
        self, buf: bytes, pos: int, line: int
    ) -> tuple[list[Tok], int, list[tuple[int, str]]]:
        """The tokens of one item: up to a ``;`` or the brace closing its block (a stray
        ``}`` is an item of its own); problems met on the way (a string with no end)."""
        tokens: list[Tok] = []
        problems: list[tuple[int, str]] = []
        depth = 0
        for m in _BTOKEN.finditer(buf, pos):
            kind = m.lastgroup or "word"
            if kind == "newline":
                line += 1
                continue
            if kind in ("space", "comment"):
                continue
            text = m.group()
            if kind == "bad_string":
                if m.end() >= len(buf):
                    raise IncompleteError
                problems.append((line, "expected a closing '\"' on the same line"))
                kind, text = "string", text + b'"'
            if kind == "string":
                text = text[1:-1]
            tok = Tok(kind, text, line)
            tokens.append(tok)
            if kind == "punct" and text == b"{":
                depth += 1
            elif kind == "punct" and text == b"}":
                if depth <= 1:
                    return tokens, m.end(), problems
                depth -= 1
            elif kind == "punct" and text == b";" and depth == 0:
                return tokens, m.end(), problems
        raise IncompleteError

    def _statements(
        self, tokens: list[Tok], open_at: int, problems: list[tuple[int, str]]
    ) -> list[tuple[list[Tok], list[Tok] | None]]:
        """Split a block body (``tokens[open_at]`` is its ``{``) into statements."""
        out: list[tuple[list[Tok], list[Tok] | None]] = []
        words: list[Tok] = []
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
                if words:
                    out.append((words, tokens[i + 1 : j - 1]))
                else:
                    problems.append((tok.line, f"expected a statement, got {tok.describe()}"))
                words = []
                i = j
                continue
            else:
                words.append(tok)
            i += 1
        if words:
            problems.append((tokens[last].line, f"expected ';', got {tokens[last].describe()}"))
        return out

    def _failover(self, tokens: list[Tok], problems: list[tuple[int, str]]) -> None:
        """A ``failover peer "name" state { my state ...; partner state ...; }`` block."""
        opens = [i for i, t in enumerate(tokens) if t.kind == "punct" and t.text == b"{"]
        if not opens:
            return
        body = self._statements(tokens, opens[0], problems)
        found = journal_state([t.text for t in tokens[: opens[0]]],
                              [[t.text for t in words] for words, _ in body])  # fmt: skip
        if found is not None:
            self.journal.failover[found[0]] = found[1]

    def _lease(self, tokens: list[Tok], problems: list[tuple[int, str]]) -> None:
        head = tokens[0]
        ip = parse_ipv4(tokens[1].text.decode(errors="replace")) if len(tokens) > 1 else None
        if ip is None or tokens[1].kind != "word":
            got = tokens[1].describe() if len(tokens) > 1 else "nothing"
            self.skip(head.line, f"expected an IPv4 address, got {got}; lease block skipped")
            return
        if len(tokens) < 3 or tokens[2].text != b"{":
            got = tokens[2].describe() if len(tokens) > 2 else "nothing"
            self.skip(head.line, f"expected '{{', got {got}; lease block skipped")
            return

        def bad(tok: Tok, expected: str) -> None:
            problems.append((tok.line, f"expected {expected}, got {tok.describe()}"))

        state: BindingState | None = None
        starts: int | None = None
        ends: int | None = None
        has_ends = False
        mac: str | None = None
        hostname: str | None = None
        for words, block in self._statements(tokens, 2, problems):
            key = words[0].text.lower()
            if block is not None:
                if key != b"on":
                    bad(words[0], "a lease statement")
                continue
            if key in _TIME_KEYS:
                value = b" ".join(w.text for w in words[1:])
                try:
                    when = seconds(value)
                except KeyError:
                    problems.append((words[0].line, time_problem(value)))
                    when = None
                if key == b"starts":
                    starts = when
                elif key == b"ends":
                    ends, has_ends = when, True
            elif key in (b"binding", b"next", b"rewind"):
                state = self._binding(words, state, problems)
            elif key == b"hardware":
                if len(words) == 2:
                    # ``hardware ethernet ;``: what dhcpd 4.4.3-P1 writes back for a MAC it
                    # could not read (measured: tests/leases/test_isc_real_dhcpd.py); no MAC
                    # and nothing more to say, the damage was reported where it was read
                    pass
                elif len(words) != 3:
                    bad(words[-1], "'hardware ethernet MAC'")
                elif (mac := normalize_mac(words[2].text.decode(errors="replace"))) is None:
                    problems.append((words[2].line, mac_problem(words[2].text)))
            elif key == b"client-hostname":
                if len(words) != 2 or words[1].kind != "string":
                    bad(words[-1], "a quoted host name")
                else:
                    hostname = decode_string(words[1].text)
            elif key not in _FLAG_KEYS and key not in _OTHER_KEYS:
                bad(words[0], "a lease statement")
        if state is None:
            # dhcpd's rule for a block with no (readable) binding state (the end of
            # parse_lease_declaration in server/confpars.c): active while it has not ended,
            # else free; a block with no ``ends`` line has ended (its ends is 0)
            state = ACTIVE if has_ends else BindingState.FREE
        # A block with no ``ends`` line: dhcpd 4.4.3-P1 reading such a journal at start-up
        # keeps the lease active and writes it back still without ``ends`` (measured in a
        # namespace): it holds the address, as ``ends never`` does, so ``ends`` stays None.
        problem = None
        if problems:
            line, what = min(problems)
            problem = (self.line(line), damage(str(ip), what))
            mac = None  # whatever else was read, a damaged block never makes an orphan
        row = make_row(state, ends, starts, None if mac is None else mac.encode(), hostname)
        self.store(int(ip), row, problem)

    def _binding(
        self,
        words: list[Tok],
        state: BindingState | None,
        problems: list[tuple[int, str]],
    ) -> BindingState | None:
        """``binding state X``, ``next binding state X`` or ``rewind binding state X``:
        the lease's state after it (unchanged by next/rewind and by what cannot be read)."""
        key = words[0].text.lower()
        want = [b"binding", b"state"] if key == b"binding" else [key, b"binding", b"state"]
        for k, expected in enumerate(want):
            if k >= len(words) or words[k].text.lower() != expected:
                tok = words[min(k, len(words) - 1)]
                problems.append((tok.line, f"expected 'binding state X', got {tok.describe()}"))
                return state
        if len(words) != len(want) + 1:
            tok = words[len(want) + 1] if len(words) > len(want) + 1 else words[-1]
            problems.append((tok.line, f"expected ';', got {tok.describe()}"))
            return state
        name = words[-1].text.lower()
        if name not in STATES:
            problems.append((words[-1].line, state_problem(words[-1].text)))
            return state
        return STATES[name] if key == b"binding" else state

    def _host(self, tokens: list[Tok]) -> None:
        """``host NAME { dynamic; hardware ...; fixed-address ...; }`` written by OMAPI.

        A later block with ``deleted;`` removes the host (dhcpd.leases(5), "THE HOST
        DECLARATION"): the journal keeps only the last word on each name.
        """
        problems: list[tuple[int, str]] = []
        if len(tokens) < 3 or tokens[1].kind not in ("word", "string") or tokens[2].text != b"{":
            tok = tokens[min(1, len(tokens) - 1)]
            self.skip(tok.line, f"expected a host name and '{{', got {tok.describe()}")
            return
        name = tokens[1].text.decode("utf-8", "backslashreplace")
        mac: str | None = None
        addresses: list[IPv4Address | None] = []
        deleted = False
        for words, _block in self._statements(tokens, 2, problems):
            key = words[0].text.lower()
            if key == b"deleted":
                deleted = True
            elif key == b"hardware" and len(words) == 3:
                mac = normalize_mac(words[2].text.decode(errors="replace"))
                if mac is None:
                    problems.append((words[2].line, mac_problem(words[2].text)))
            elif key == b"fixed-address":
                for w in words[1:]:
                    if w.text != b",":
                        addresses.append(parse_ipv4(w.text.decode(errors="replace")))
        for line, what in problems:
            self.skip(line, f"{what}; host {name} kept without it")
        hosts = None if deleted else tuple(FixedHost(name, mac, ip) for ip in addresses)
        if hosts is None:
            self.journal.hosts.pop(name, None)
        else:
            self.journal.hosts[name] = hosts
        if self.journal.host_log is not None:
            self.journal.host_log.append((name, hosts))
