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
keyed by IA without the journal's takeover rule. DHCPv6 journals are small next to v4 ones
(a lease per VM NIC, not per client that ever asked), so a tokenizer over the whole text is
enough here.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from ipaddress import IPv6Address
from pathlib import Path

from leasewatch.errors import LeasesError
from leasewatch.leases.dhcpd_conf import read_regular
from leasewatch.leases.dhcpd_syntax import decode_bytes
from leasewatch.leases.isc_blocks import STRING, seconds
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
    line: int

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


class _Reader:
    def __init__(self, path: Path) -> None:
        self.name = str(path)
        data = read_regular(path, _MAX_BYTES)
        self.tokens = self._tokenize(data)
        self.i = 0
        self.journal = Journal6()
        self.owner: dict[tuple[int, int], bytes] = {}  # lease -> the IA holding it
        self.held: dict[bytes, list[tuple[int, int]]] = {}  # IA -> its leases

    def _tokenize(self, data: bytes) -> list[_Tok]:
        tokens: list[_Tok] = []
        line = 1
        for m in _TOKEN.finditer(data):
            kind = m.lastgroup or "word"
            if kind == "newline":
                line += 1
            elif kind in ("space", "comment"):
                continue
            elif kind == "bad":
                raise LeasesError(f"{self.name}:{line}: expected a closing '\"' on the same line")
            elif kind == "string":
                tokens.append(_Tok("string", decode_bytes(m.group()[1:-1]), line))
            else:
                tokens.append(_Tok(kind, m.group(), line))
        tokens.append(_Tok("eof", b"", line))
        return tokens

    def error(self, tok: _Tok, expected: str) -> LeasesError:
        got = "end of file" if tok.kind == "eof" else repr(tok.text.decode(errors="replace"))
        return LeasesError(f"{self.name}:{tok.line}: expected {expected}, got {got}")

    def next(self) -> _Tok:
        tok = self.tokens[self.i]
        if tok.kind != "eof":
            self.i += 1
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
            tok = self.tokens[self.i]
            if tok.kind == "punct" and tok.text == b"}":
                self.next()
                return
            if tok.kind == "eof":
                raise self.error(tok, "'}'")
            inner = self.statement()
            if not inner:
                raise self.error(self.tokens[self.i - 1], "a statement")
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
        while (tok := self.tokens[self.i]).kind != "eof":
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
        return self.journal

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
        # dhcpd writes the IAID in its host's byte order, named by authoring-byte-order
        iaid = int.from_bytes(raw[:4], "little" if self.journal.little_endian else "big")
        duid = raw[4:]
        ia_key = head.text.lower() + b" " + raw
        found: list[IaLease] = []
        for inner in self.body():
            if inner[-1].text == b"{":
                if inner[0].text.lower() in _LEASE_KEYS:
                    lease = self.address(kind, inner, iaid, duid)
                    if lease is not None:
                        found.append(lease)
                else:
                    self.skip_block()
        # a later block of an IA replaces all it said before; a later block naming an
        # address takes it over from the IA that held it
        for old in self.held.pop(ia_key, []):
            if self.owner.get(old) == ia_key:
                del self.owner[old]
                self.journal.leases.pop(old, None)
        self.held[ia_key] = [lease.key for lease in found]
        for lease in found:
            self.owner[lease.key] = ia_key
            self.journal.leases[lease.key] = lease

    def address(self, kind: str, words: list[_Tok], iaid: int, duid: bytes) -> IaLease | None:
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
                when = b" ".join(w.text for w in inner[1:])
                try:
                    ends = seconds(when)
                except KeyError:
                    raise self.error(
                        inner[1] if len(inner) > 1 else inner[0],
                        "a time like '3 2025/01/01 12:00:00', 'epoch N' or 'never'",
                    ) from None
        if unreadable:
            return None
        if state is None:
            raise self.error(head, f"a binding state in the block of {text}")
        return IaLease(kind, address, length, state, ends, iaid, duid, head.line)


def parse(path: Path) -> Journal6:
    """Replay a dhcpd6.leases file. Raises ``LeasesError("FILE:LINE: expected X, got Y")``."""
    return _Reader(path).run()
