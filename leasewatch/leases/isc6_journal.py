"""dhcpd -6's leases journal (dhcpd6.leases) -> one current lease per address or prefix.

dhcpd.leases(5), "THE DHCPv6 LEASE (IA) DECLARATION", and ``write_ia``/``write_server_duid``
in server/db.c: dhcpd -6 appends an ``ia-na``, ``ia-ta`` or ``ia-pd`` block each time an IA
changes, naming the IA by a string of its IAID (4 bytes, in the byte order the file's
``authoring-byte-order`` names) and the client's DUID, and holding every address
(``iaaddr ADDRESS { ... }``) or prefix (``iaprefix PREFIX/LEN { ... }``) the IA has then,
each with its ``binding state``, ``preferred-life``, ``max-life`` and ``ends``::

    ia-na "\\001\\000\\000\\000\\000\\001..." {
      cltt 1 2026/11/30 09:54:09;
      iaaddr 2001:db8:1::102 {
        binding state active;
        preferred-life 172800;
        max-life 259200;
        ends 4 2026/12/03 09:54:09;
      }
    }

The replay: a later block of an IA replaces everything its earlier blocks said (an address
it no longer names is no longer its), and a later block naming an address takes it over from
whichever IA held it. What remains is one lease per address or prefix.

Why hand-written: the v4 reader's fast path is one expression over dhcpd's v4 layout
(``leasewatch.leases.isc_journal``), and isc-dhcp-leases reads v6 blocks into objects
keyed by IA without the journal's takeover rule. Here too an IA block exactly as dhcpd
writes it is taken by one expression (``_FAST``), anything else token by token, with the
same result (tests/leases/test_isc6.py). Measured on a generated journal of 100,000 IAs
(25 MB, every key byte escaped): 1.6 s and 120 MB; token by token it took 5.8 s and 400 MB.
"""

from __future__ import annotations

import gc
import os
import re
import stat
from codecs import escape_decode
from collections.abc import Iterator
from dataclasses import dataclass, field
from ipaddress import IPv6Address
from pathlib import Path
from socket import AF_INET6, inet_pton

from leasewatch.errors import LeasesError
from leasewatch.leases.dhcpd_conf import read_regular
from leasewatch.leases.dhcpd_syntax import decode_bytes
from leasewatch.leases.isc_blocks import STRING, Times, seconds
from leasewatch.leases.isc_table import STATE_NAMES, STATES
from leasewatch.model import BindingState

_TOKEN = re.compile(
    rb"(?P<space>[ \t\r\f\v]+)|(?P<newline>\n)|(?P<comment>#[^\n]*)"
    rb"|(?P<string>" + STRING + rb')|(?P<bad>"[^\n]*)'
    rb'|(?P<punct>[{};])|(?P<word>[^\s{};"#]+)'
)
_KINDS = {b"ia-na": "na", b"ia-ta": "ta", b"ia-pd": "pd"}
_LEASE_KEYS = frozenset({b"iaaddr", b"iaprefix"})
_MAX_BYTES = 256 << 20
_PEEK = 1 << 16
_V4_HEAD = re.compile(rb"^\s*lease\s+\d", re.MULTILINE)
_V6_HEAD = re.compile(rb"^\s*(?:ia-na|ia-ta|ia-pd)\s", re.MULTILINE)
_DHCPD_ESCAPES = re.compile(rb'(?:[^\\]|\\[0-3][0-7]{2}|\\[\\"])*')
_GAP = re.compile(rb"(?:[ \t\r\n\f\v]+|#[^\n]*)*")
# an IA block exactly as dhcpd writes it (write_ia in server/db.c); its iaaddr/iaprefix
# blocks are matched one by one below, and anything else goes the token path
_FAST = re.compile(
    rb'(ia-na|ia-ta|ia-pd) ("(?:[^"\\\n]|\\.)*"|[0-9a-fA-F]{1,2}(?::[0-9a-fA-F]{1,2})+) \{\n'
    rb"  cltt ([0-6] [0-9/]{10} [0-9:]{8});\n"
    rb"((?:  (?:iaaddr|iaprefix) [^\n]*\n(?:    [^\n]*\n)*?  \}\n)*)"
    rb"\}\n"
)
_FAST_ADDR = re.compile(
    rb"  (iaaddr|iaprefix) ([0-9a-fA-F:]+)(?:/(\d{1,3}))? \{\n"
    rb"    binding state ([a-z]+);\n"
    rb"    preferred-life \d+;\n"
    rb"    max-life \d+;\n"
    rb"    ends ([0-6] [0-9/]{10} [0-9:]{8}|never|epoch \d+);\n"
    rb"  \}\n"
)


@dataclass(frozen=True, slots=True)
class IaLease:
    """One address (IA_NA, IA_TA) or delegated prefix (IA_PD) after the replay."""

    kind: str  # "na", "ta" or "pd"
    address: IPv6Address  # a prefix's first address
    prefix_len: int  # 128 for an address
    state: BindingState
    ends: int | None  # Unix seconds; None: never (or not written)
    iaid: int
    duid: bytes
    # the IA's cltt (client's last transaction: when this term began, as a v4 lease's
    # starts, which dhcpd also moves on each renewal); None if not written
    starts: int | None = None

    @property
    def key(self) -> tuple[int, int]:
        return int(self.address), self.prefix_len


@dataclass
class Journal6:
    """The replayed journal: current leases, the server's DUID, what could not be read."""

    leases: dict[tuple[int, int], IaLease] = field(default_factory=dict)
    server_duid: bytes | None = None
    little_endian: bool = True
    problems: list[str] = field(default_factory=list)


def family(path: Path) -> int | None:
    """4 or 6 by what the journal's first 64 KiB hold (``lease`` or ``ia-*`` blocks); None
    when they hold neither (a new file; dhcpd writes ``server-duid`` into both families')."""
    try:
        # not blocking, and only a regular file: a FIFO given as the journal must not hang
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None  # the reader names the problem
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        try:
            head = f.read(_PEEK)
        except OSError:
            return None
    v4, v6 = _V4_HEAD.search(head), _V6_HEAD.search(head)
    if v4 is None and v6 is None:
        return None
    if v4 is None:
        return 6
    if v6 is None:
        return 4
    return 4 if v4.start() < v6.start() else 6


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str
    text: bytes
    line: int
    end: int  # offset just after it


_EOF = _Tok("eof", b"", 0, 0)


class _Reader:
    """The replay: each top-level item by the fast path if dhcpd wrote it so, else by tokens.

    Tokens are made lazily, one item at a time: a list of every token of a 100,000-IA
    journal held 400 MB.
    """

    def __init__(self, path: Path) -> None:
        self.name = str(path)
        self.data = read_regular(path, _MAX_BYTES)
        self.journal = Journal6()
        self.owner: dict[tuple[int, int], bytes] = {}  # lease -> the IA holding it
        self.held: dict[bytes, list[tuple[int, int]]] = {}  # IA -> its leases
        self.times = Times()  # each distinct time text parsed once
        self._tokens: Iterator[_Tok] = iter(())
        self._peeked: _Tok | None = None
        self.last = _EOF

    def _stream(self, pos: int, line: int) -> Iterator[_Tok]:
        for m in _TOKEN.finditer(self.data, pos):
            kind = m.lastgroup or "word"
            if kind == "newline":
                line += 1
            elif kind in ("space", "comment"):
                continue
            elif kind == "bad":
                raise LeasesError(f"{self.name}:{line}: expected a closing '\"' on the same line")
            elif kind == "string":
                yield _Tok("string", decode_bytes(m.group()[1:-1]), line, m.end())
            else:
                yield _Tok(kind, m.group(), line, m.end())
        while True:
            yield _Tok("eof", b"", line, len(self.data))

    def error(self, tok: _Tok, expected: str) -> LeasesError:
        got = "end of file" if tok.kind == "eof" else repr(tok.text.decode(errors="replace"))
        return LeasesError(f"{self.name}:{tok.line}: expected {expected}, got {got}")

    def peek(self) -> _Tok:
        if self._peeked is None:
            self._peeked = next(self._tokens)
        return self._peeked

    def next(self) -> _Tok:
        tok = self.peek()
        self._peeked = None
        self.last = tok
        return tok

    def statement(self) -> list[_Tok]:
        """Words up to ``;`` (consumed) or ``{`` (consumed, returned last)."""
        words: list[_Tok] = []
        while True:
            tok = self.next()
            if tok.kind == "punct" and tok.text in (b";", b"{"):
                return [*words, tok] if tok.text == b"{" else words
            if tok.kind == "eof" or tok.text == b"}":
                raise self.error(tok, "';'")
            words.append(tok)

    def body(self) -> Iterator[list[_Tok]]:
        """The statements of a block up to its ``}`` (consumed)."""
        while True:
            tok = self.peek()
            if tok.kind == "punct" and tok.text == b"}":
                self.next()
                return
            if tok.kind == "eof":
                raise self.error(tok, "'}'")
            inner = self.statement()
            if not inner:
                raise self.error(self.last, "a statement")
            yield inner

    def skip_block(self) -> None:
        depth = 1
        while depth:
            tok = self.next()
            if tok.kind == "eof":
                raise self.error(tok, "'}'")
            if tok.kind == "punct" and tok.text in (b"{", b"}"):
                depth += 1 if tok.text == b"{" else -1

    def run(self) -> Journal6:
        data, pos, line = self.data, 0, 1
        while True:
            gap = _GAP.match(data, pos)
            if gap is not None:  # the expression always matches, maybe empty
                line += data.count(b"\n", pos, gap.end())
                pos = gap.end()
            if pos >= len(data):
                return self.journal
            block = _FAST.match(data, pos)
            if block is not None and self.fast(block):
                line += data.count(b"\n", pos, block.end())
                pos = block.end()
                continue
            self._tokens, self._peeked = self._stream(pos, line), None
            self.item()
            pos, line = self.last.end, self.last.line

    def item(self) -> None:
        """One top-level statement, token by token."""
        tok = self.peek()
        if tok.kind != "word":
            raise self.error(tok, "a top-level statement (ia-na, ia-ta, ia-pd, server-duid)")
        words = self.statement()
        key = words[0].text.lower()
        block = words[-1].text == b"{"
        if key in _KINDS and block:
            self.ia(words)
        elif key == b"lease":
            raise LeasesError(
                f"{self.name}:{tok.line}: expected a DHCPv6 leases file (ia-na, ia-ta, "
                "ia-pd blocks), got a DHCPv4 'lease' block"
            )
        elif key == b"server-duid" and not block and len(words) >= 2:
            self.journal.server_duid = self.identifier(words[1:])
        elif key == b"authoring-byte-order" and not block and len(words) == 2:
            self.journal.little_endian = words[1].text.lower() == b"little-endian"
        elif block:  # failover, host or class blocks: not DHCPv6 leases
            self.skip_block()

    def fast(self, block: re.Match[bytes]) -> bool:
        """Take an IA block exactly as dhcpd writes it (``write_ia`` in server/db.c); False
        for anything else, which the token path then reads (and names what is wrong)."""
        kind = _KINDS[block[1]]
        key = block[2]
        if key[:1] == b'"':
            body = key[1:-1]
            # dhcpd escapes every unprintable byte (\NNN), quote and backslash; for such a
            # string Python's own unescaping (C) gives the same bytes, 5x faster
            raw = escape_decode(body)[0] if _DHCPD_ESCAPES.fullmatch(body) else decode_bytes(body)
        else:  # lease-id-format hex
            raw = bytes(int(octet, 16) for octet in key.split(b":"))
        if len(raw) < 5:
            return False
        iaid, duid = self._iaid(raw), raw[4:]
        found: list[IaLease] = []
        inner, at = block[4], 0
        try:
            starts = self.times[block[3]]
        except KeyError:
            return False
        for m in _FAST_ADDR.finditer(inner):
            prefix = m[1] == b"iaprefix"
            if m.start() != at or prefix != (kind == "pd") or prefix != (m[3] is not None):
                return False
            at = m.end()
            state = STATES.get(m[4])
            length = int(m[3]) if prefix else 128
            try:
                address = IPv6Address(inet_pton(AF_INET6, m[2].decode()))
                ends = self.times[m[5]]
            except (OSError, KeyError):
                return False
            if state is None or not 0 < length <= 128:
                return False
            found.append(IaLease(kind, address, length, state, ends, iaid, duid, starts))
        if at != len(inner):
            return False
        self.commit(block[1] + b" " + raw, found)
        return True

    def _iaid(self, raw: bytes) -> int:
        # dhcpd writes the IAID in its host's byte order, named by authoring-byte-order
        return int.from_bytes(raw[:4], "little" if self.journal.little_endian else "big")

    def commit(self, ia_key: bytes, found: list[IaLease]) -> None:
        """A later block of an IA replaces all it said before; a later block naming an
        address takes it over from the IA that held it."""
        owner, leases = self.owner, self.journal.leases
        for old in self.held.pop(ia_key, ()):
            if owner.get(old) == ia_key:
                del owner[old]
                leases.pop(old, None)
        # one key tuple a lease, shared by the three maps (100,000 IAs: 20 MB less)
        keys = self.held[ia_key] = [lease.key for lease in found]
        for key, lease in zip(keys, found, strict=True):
            owner[key] = ia_key
            leases[key] = lease

    def identifier(self, words: list[_Tok]) -> bytes:
        """A DUID or IA key: a string (lease-id-format octal) or colon hex (format hex)."""
        if len(words) == 1 and words[0].kind == "string":
            return words[0].text
        text = b"".join(w.text for w in words)
        try:
            return bytes.fromhex(text.replace(b":", b" ").decode())
        except ValueError:
            raise self.error(words[0], "a quoted string or colon-separated hex") from None

    def ia(self, words: list[_Tok]) -> None:
        head = words[0]
        kind = _KINDS[head.text.lower()]
        raw = self.identifier(words[1:-1])
        if len(raw) < 5:
            raise self.error(words[1], "an IA key of a 4-byte IAID and a DUID")
        iaid, duid = self._iaid(raw), raw[4:]
        found: list[IaLease] = []
        starts: int | None = None
        for inner in self.body():
            if inner[0].text.lower() == b"cltt" and inner[-1].text != b"{":
                starts = self.time(inner)
            elif inner[-1].text == b"{":
                if inner[0].text.lower() in _LEASE_KEYS:
                    lease = self.address(kind, inner, iaid, duid, starts)
                    if lease is not None:
                        found.append(lease)
                else:
                    self.skip_block()
        self.commit(head.text.lower() + b" " + raw, found)

    def time(self, words: list[_Tok]) -> int | None:
        """The time of ``ends``/``cltt`` as dhcpd writes it, or an error naming the line."""
        try:
            return seconds(b" ".join(w.text for w in words[1:]))
        except KeyError:
            raise self.error(
                words[1] if len(words) > 1 else words[0],
                "a time like '3 2025/01/01 12:00:00', 'epoch N' or 'never'",
            ) from None

    def address(
        self, kind: str, words: list[_Tok], iaid: int, duid: bytes, starts: int | None
    ) -> IaLease | None:
        head = words[0]
        if len(words) != 3:
            raise self.error(words[-1], f"'{head.text.decode()} ADDRESS {{'")
        text = words[1].text.decode(errors="replace")
        addr, slash, bits = text.partition("/")
        want_prefix = head.text.lower() == b"iaprefix"
        try:
            address = IPv6Address(addr)
            length = int(bits) if slash else 128
            if (slash != "") != want_prefix or not 0 < length <= 128:
                raise ValueError
        except ValueError:
            what = "an IPv6 prefix like 2001:db8:100::/56" if want_prefix else "an IPv6 address"
            raise self.error(words[1], what) from None
        state: BindingState | None = None
        ends: int | None = None
        unreadable = False
        for inner in self.body():
            key = inner[0].text.lower()
            if inner[-1].text == b"{":
                self.skip_block()  # on expiry { ... }
            elif key == b"binding" and len(inner) == 3:
                state = STATES.get(inner[2].text.lower())
                if state is None:
                    unreadable = True
                    self.journal.problems.append(
                        f"{self.name}:{inner[2].line}: expected a binding state "
                        f"({STATE_NAMES}), got '{inner[2].text.decode(errors='replace')}'; "
                        f"{text} not counted"
                    )
            elif key == b"ends":
                ends = self.time(inner)
        if unreadable:
            return None
        if state is None:
            raise self.error(head, f"a binding state in the block of {text}")
        return IaLease(kind, address, length, state, ends, iaid, duid, starts)


def parse(path: Path) -> Journal6:
    """Replay a dhcpd6.leases file. Raises ``LeasesError("FILE:LINE: expected X, got Y")``."""
    # Nothing made here is cyclic, yet the cyclic GC rescans every object made so far again
    # and again as they pile up: 100,000 IAs (bench/) took 1.8 s with it and 1.4 s without,
    # and peaked 10 MB lower. (Pausing it while the snapshot's leases are built too saves
    # 0.4 s more but, measured, peaks 40 MB higher: it is left running there.)
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _Reader(path).run()
    finally:
        if gc_was_enabled:
            gc.enable()
