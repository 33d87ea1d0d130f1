"""ISC dhcpd: pools from dhcpd.conf, current leases from the dhcpd.leases journal.

dhcpd.leases(5) is a journal: dhcpd appends a ``lease IP { ... }`` block on every change,
and a later block for an address replaces every earlier one until dhcpd rewrites the whole
file (a new file renamed into place, so a new inode). Replaying it gives one current lease
per address, in every binding state.

Why a hand-written parser and not isc-dhcp-leases (the library the card names): measured
with ``python -m bench`` on this machine (2 shared cores) on generated journals,
``IscDhcpLeases.get()`` takes 2.4 s and 324 MB for 100,000 blocks (35 MB of file),
linear in the file (about 25 s and 3 GB at 1,000,000 blocks), where dhcpd-pools takes
2.9 s and 83 MB for the 1,000,000-block file. It reads the whole file into one string and
builds a dict and a Lease per block, superseded ones too. It is also wrong for us:
``get_current()`` keys active blocks by MAC, so a superseded active block outlives a later
release (upstream issue #37), and ``get()`` drops blocks with no ``hardware`` (failover
``backup`` leases) unless ``include_backups=True``. So this module streams the file in
1 MiB byte chunks and matches each block dhcpd wrote with one regular expression over
bytes (the fast path: dhcpd's statement order from ``write_lease`` in server/db.c); any
other layout (hand-edited files, other versions, comments after times) falls to a
token-level slow path with the same results. Only the current lease per address is kept.
Measured: 0.84 s for 100,000 blocks, 6.5 s and ~340 MB for 1,000,000 (about 2 us of
regex and 2-3 us of object building per block: a Lease, an IPv4Address, two strings).
tests/leases/test_isc_differential.py compares every address with isc-dhcp-leases'
``get(include_backups=True)`` replayed per address, on generated journals.

An ``IscLeaseSource`` kept across reads (the daemon keeps one) re-parses only what dhcpd
appended since the last read: same file (device, inode), not shorter, and the 4 KiB it
read last unchanged; anything else is a full parse. dhcpd never edits the file in place
(it appends, or writes a new file and renames it over the old one), so these checks catch
every rewrite it makes; a hand edit that keeps the inode, the length and those last bytes
would go unnoticed until dhcpd's next rewrite.
"""

from __future__ import annotations

import gc
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from ipaddress import IPv4Address
from pathlib import Path
from socket import inet_aton
from typing import BinaryIO

from leasewatch.config import ServerConfig
from leasewatch.errors import LeasesError
from leasewatch.leases import dhcpd_conf
from leasewatch.leases.interface import LeaseSource
from leasewatch.model import BindingState, FixedHost, Lease, ServerSnapshot, normalize_mac

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

_OCTET = rb"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
# unrolled ("normal* (special normal*)*"): a per-character alternation is 25% slower
_STRING = rb'"[^"\\\n]*(?:\\.[^"\\\n]*)*"'
# dhcpd's write_lease order; every line exact, so the fast path never guesses: a block it
# does not match goes to the slow path. Time lines may carry dhcpd's "# local time" comment.
_FAST = re.compile(
    rb"lease (" + _OCTET + rb"(?:\." + _OCTET + rb"){3}) \{\n"
    rb"(?:  starts ([^;\n]*);(?: #[^\n]*)?\n)?"
    rb"(?:  ends ([^;\n]*);(?: #[^\n]*)?\n)?"
    rb"(?:  (?:tstp|tsfp|atsfp|cltt) [^;\n]*;(?: #[^\n]*)?\n)*"
    rb"  binding state ([a-z]+);\n"
    rb"(?:  (?:next|rewind) binding state [a-z]+;\n)*"
    rb"(?:  hardware ethernet (?:((?:[0-9a-f]{2}:){5}[0-9a-f]{2})|([0-9A-Fa-f:]+));\n)?"
    rb"(?:  (?:uid|set [\w.-]+ =|option [\w.-]+) (?:" + _STRING + rb'|[^";\n]+);\n)*'
    rb"(?:  client-hostname (" + _STRING + rb");\n)?"
    rb"(?:  on [^{\n]*\{\n(?:    [^\n]*\n)*  \}\n)*"
    rb"\}\n"
)
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
    line: int = 1  # line number at ``offset``
    tail: bytes = b""  # the bytes just before ``offset``, to prove a later read is an append
    leases: dict[int, Lease] = field(default_factory=dict)  # by int(address), first-seen order
    hosts: dict[str, tuple[FixedHost, ...]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    complete: bool = True


class LeasesParser:
    """Replays a dhcpd.leases journal into ``Journal.leases`` (one current lease per address)."""

    def __init__(self, path: Path, server: str, journal: Journal) -> None:
        self.path = path
        self.name = str(path)
        self.server = server
        self.journal = journal
        self._times: dict[bytes, datetime | None] = {}

    # -- the loop over chunks ---------------------------------------------------------------
    def run(self, f: BinaryIO, size: int, progress: Progress | None) -> None:
        """Parse from ``journal.offset`` to ``size`` bytes (what the file held when stat'ed)."""
        j = self.journal
        f.seek(j.offset)
        j.warnings = []
        j.complete = True
        # Every object made here is acyclic (Lease, IPv4Address, str, datetime), yet the
        # cyclic GC scans all tracked objects again and again as a million leases pile up:
        # measured 11.2 s with it and 6.5 s without on the 1M-block bench file. Restored below.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            carry, base, line = self._chunks(f, size, progress)
        finally:
            if gc_was_enabled:
                gc.enable()
        # the resume point: before the cut last block, so the next read parses it whole
        j.offset = base
        j.line = line
        if carry:
            j.complete = False
            j.warnings.append(
                f"{self.name}:{line}: ignored a lease block cut short at the end of the file "
                "(dhcpd writing it, or crashed mid-write)"
            )
        f.seek(max(0, base - _TAIL))
        j.tail = f.read(min(_TAIL, base))

    def _chunks(self, f: BinaryIO, size: int, progress: Progress | None) -> tuple[bytes, int, int]:
        carry = b""
        base = self.journal.offset  # file offset of carry[0]
        line = self.journal.line
        while True:
            want = min(CHUNK, size - base - len(carry))
            chunk = f.read(want) if want > 0 else b""
            eof = base + len(carry) + len(chunk) >= size or not chunk
            buf = carry + chunk if carry else chunk
            pos = self.scan(buf, line, eof)
            line += buf.count(b"\n", 0, pos)
            base += pos
            carry = buf[pos:]
            if progress is not None:
                progress(min(base + len(carry), size), size)
            if eof:
                return carry, base, line

    def scan(self, buf: bytes, line: int, eof: bool) -> int:
        """Consume complete items from ``buf``; return where the first incomplete one starts."""
        fast = _FAST.match
        space = _SPACE.match
        leases = self.journal.leases
        states = _STATES
        times = self._times
        server = self.server
        end = len(buf)
        pos = 0
        # line numbers are only needed by the slow path and errors: count lazily, forward only
        counted_pos, counted_line = 0, line
        while pos < end:
            m = fast(buf, pos)
            if m is None:
                s = space(buf, pos)
                if s is not None:
                    if s.end() >= end:
                        # a comment may go on in the next chunk: read it again from there
                        return end if eof else pos
                    pos = s.end()
                    m = fast(buf, pos)
                if m is None:
                    counted_line += buf.count(b"\n", counted_pos, pos)
                    counted_pos = pos
                    try:
                        pos = self.slow_item(buf, pos, counted_line)
                    except _IncompleteError:
                        if eof and buf[pos:].strip() == b"":
                            return end
                        return pos
                    continue
            ip, starts, ends, state, mac, other_mac, hostname = m.groups()
            try:
                key = int.from_bytes(inet_aton(ip.decode()))
                binding = states[state]
                t_starts = None if starts is None else times[starts]
                t_ends = None if ends is None else times[ends]
            except KeyError:  # a time not seen before, or a bad state: rare
                binding, t_starts, t_ends = self._fast_values(m, buf, line)
            if mac is not None:
                mac_text: str | None = mac.decode()
            elif other_mac is not None:
                mac_text = normalize_mac(other_mac.decode(errors="replace"))
                if mac_text is None:
                    where = (
                        line
                        + buf.count(b"\n", 0, pos)
                        + m.group().count(b"\n", 0, m.start(6) - pos)
                    )
                    self._mac(other_mac, where)
            else:
                mac_text = None
            if hostname is None:
                host_text: str | None = None
            elif b"\\" in hostname:
                host_text = _unescape(hostname[1:-1])
            else:
                host_text = hostname[1:-1].decode("utf-8", "backslashreplace")
            leases[key] = Lease(
                IPv4Address(key), binding, mac_text, t_starts, t_ends, host_text, server
            )
            pos = m.end()
        return pos

    def _fast_values(
        self, m: re.Match[bytes], buf: bytes, line: int
    ) -> tuple[BindingState, datetime | None, datetime | None]:
        """State and times of a fast-path block, caching new times; raise naming the line.

        ``line`` is the line number at ``buf[0]``; the block's own line is counted only
        when an error needs it (counting on every cache miss would make the scan quadratic).
        """
        _, starts, ends, state, *_ = m.groups()
        block = m.group()
        if state not in _STATES:
            at = (
                line
                + buf.count(b"\n", 0, m.start())
                + block.count(b"\n", 0, block.index(b"  binding state"))
            )
            raise LeasesError(
                f"{self.name}:{at}: expected a binding state ({_STATE_NAMES}), "
                f"got '{state.decode(errors='replace')}'"
            )
        out: list[datetime | None] = []
        for key, value in ((b"  starts ", starts), (b"  ends ", ends)):
            if value is None:
                out.append(None)
                continue
            if value not in self._times:
                try:
                    self._times[value] = self._time(value, 0)
                except LeasesError:
                    at = (
                        line
                        + buf.count(b"\n", 0, m.start())
                        + block.count(b"\n", 0, block.index(key))
                    )
                    self._time(value, at)  # raises again, now with the line
                    raise
            out.append(self._times[value])
        return _STATES[state], out[0], out[1]

    def _time(self, text: bytes, line: int) -> datetime | None:
        """``N yyyy/mm/dd hh:mm:ss`` (UTC), ``epoch N`` or ``never`` -> datetime or None."""
        if text == b"never":
            return None
        m = _TIME.fullmatch(text)
        try:
            if m is not None:
                y, mo, d, h, mi, s = (int(x) for x in m.groups())
                return datetime(y, mo, d, h, mi, s, tzinfo=UTC)
            m = _EPOCH.fullmatch(text)
            if m is not None:
                return datetime.fromtimestamp(int(m.group(1)), UTC)
        except (ValueError, OverflowError, OSError):
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
        starts: datetime | None = None
        ends: datetime | None = None
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
        key_ip = int(ip)
        self.journal.leases[key_ip] = Lease(ip, state, mac, starts, ends, hostname, self.server)

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
        fixed = list(conf.fixed)
        for hosts in journal.hosts.values():
            fixed.extend(hosts)
        return ServerSnapshot(
            server=self.name,
            kind="isc",
            ranges=conf.ranges,
            leases=tuple(journal.leases.values()),
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
