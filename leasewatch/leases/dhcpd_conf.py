"""dhcpd.conf -> the dynamic ranges and fixed hosts leasewatch needs; the rest is skipped.

dhcpd.conf(5) is a tree of statements: ``word ... ;`` or ``word ... { statements }``.
The tokenizer and the generic statement walker below keep braces, semicolons and quoted
strings honest everywhere (``class``, ``if``/``elsif``/``else``, ``key``, ``failover peer``
bodies included) and interpret only ``include``, ``shared-network``, ``subnet``, ``pool``,
``group``, ``range`` and ``host``. The same tokenizer serves the slow path of the leases
parser (``leasewatch.leases.isc``), since dhcpd.leases uses the same syntax.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

from leasewatch.errors import LeasesError
from leasewatch.leases.dhcpd_syntax import decode_string, parse_ipv4
from leasewatch.model import FixedHost, Range, normalize_mac

# One token per match; the pattern covers every character, so nothing is silently skipped.
# ``bad_string`` is a quote with no closing quote on its line (dhcpd strings never span lines).
_TOKEN = re.compile(
    r"""
      (?P<space>[ \t\r\f\v]+)
    | (?P<newline>\n)
    | (?P<comment>\#[^\n]*)
    | (?P<string>"(?:[^"\\\n]|\\.)*")
    | (?P<bad_string>"[^\n]*)
    | (?P<punct>[{};,=()!])
    | (?P<word>[^\s{};,="#()!]+)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class Token:
    """One token: its kind (word, string, punct, eof), text (strings unescaped) and line."""

    kind: str
    text: str
    line: int

    def describe(self) -> str:
        if self.kind == "eof":
            return "end of file"
        if self.kind == "string":
            return f'"{self.text}"'
        return f"'{self.text}'"


def tokenize(text: str, filename: str, first_line: int = 1) -> list[Token]:
    """Split dhcpd syntax into tokens, dropping spaces and comments; the last token is ``eof``."""
    tokens: list[Token] = []
    line = first_line
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        if kind == "newline":
            line += 1
        elif kind in ("space", "comment"):
            continue
        elif kind == "string":
            # the text was read with surrogateescape: its bytes come back as they were
            body = m.group()[1:-1].encode("utf-8", "surrogateescape")
            tokens.append(Token("string", decode_string(body), line))
        elif kind == "bad_string":
            raise LeasesError(f"{filename}:{line}: expected a closing '\"' on the same line")
        else:
            tokens.append(Token(kind or "word", m.group(), line))
    tokens.append(Token("eof", "", line))
    return tokens


@dataclass(frozen=True, slots=True)
class DhcpdConf:
    """What leasewatch takes from dhcpd.conf: dynamic ranges, fixed hosts, files read."""

    ranges: tuple[Range, ...] = ()
    fixed: tuple[FixedHost, ...] = ()
    files: tuple[Path, ...] = ()


@dataclass
class _Scope:
    network: str | None = None  # enclosing shared-network
    subnet: IPv4Network | None = None  # enclosing subnet


@dataclass
class _PendingRange:
    first: IPv4Address
    last: IPv4Address
    scope: _Scope
    where: str  # "file:line" for the error if no subnet holds it


@dataclass
class _State:
    ranges: list[_PendingRange] = field(default_factory=list)
    subnets: list[tuple[IPv4Network, str | None]] = field(default_factory=list)
    fixed: list[FixedHost] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    including: list[Path] = field(default_factory=list)


class _Parser:
    def __init__(self, path: Path, state: _State) -> None:
        self.path = path
        self.name = str(path)
        self.state = state
        try:
            text = path.read_text(encoding="utf-8", errors="surrogateescape")
        except OSError as exc:
            raise LeasesError(f"{path}: cannot read: {exc.strerror}") from None
        self.tokens = tokenize(text, self.name)
        self.i = 0

    # -- token helpers ------------------------------------------------------------------
    def error(self, token: Token, expected: str) -> LeasesError:
        return LeasesError(f"{self.name}:{token.line}: expected {expected}, got {token.describe()}")

    def next(self) -> Token:
        token = self.tokens[self.i]
        if token.kind != "eof":
            self.i += 1
        return token

    def peek(self) -> Token:
        return self.tokens[self.i]

    # -- statements ---------------------------------------------------------------------
    def statements(self, scope: _Scope, *, nested: bool) -> None:
        """Read statements until the closing brace (``nested``) or the end of the file."""
        while True:
            token = self.peek()
            if token.kind == "eof":
                if nested:
                    raise self.error(token, "'}'")
                return
            if token.text == "}" and token.kind == "punct":
                if not nested:
                    raise self.error(token, "a statement")
                self.next()
                return
            if token.text == ";" and token.kind == "punct":
                self.next()  # an empty statement: dhcpd accepts stray semicolons
                continue
            if token.kind not in ("word", "string"):
                raise self.error(token, "a statement")
            self.statement(scope)

    def head(self) -> tuple[list[Token], Token]:
        """The tokens of one statement up to its ``;`` or ``{`` (returned as the second value)."""
        words: list[Token] = []
        while True:
            token = self.next()
            if token.kind == "punct" and token.text in (";", "{"):
                return words, token
            if token.kind == "eof" or (token.kind == "punct" and token.text == "}"):
                raise self.error(token, "';'")
            words.append(token)

    def statement(self, scope: _Scope) -> None:
        words, end = self.head()
        keyword = words[0].text.lower() if words[0].kind == "word" else ""
        block = end.text == "{"
        if keyword == "include" and not block:
            self.include(words, scope)
        elif keyword == "shared-network" and block:
            if len(words) != 2:
                raise self.error(words[-1] if len(words) > 2 else end, "a shared-network name")
            self.statements(_Scope(network=words[1].text), nested=True)
        elif keyword == "subnet" and block:
            self.statements(_Scope(scope.network, self.subnet(words, end, scope)), nested=True)
        elif keyword in ("pool", "group") and block:
            self.statements(scope, nested=True)
        elif keyword == "range" and not block:
            self.range(words, end, scope)
        elif keyword == "host" and block:
            self.host(words, end)
        elif block:
            # class, subclass, if/elsif/else, key, failover peer, subnet6, on ...: nothing
            # leasewatch needs, but the braces and semicolons inside must still balance
            self.skip_block()
        # any other ``word ... ;`` (option, key, omapi-port, failover peer "x";): not needed

    def block_heads(self) -> Iterator[tuple[list[Token], Token]]:
        """The head of each statement up to this block's closing brace (consumed), stray
        semicolons skipped; a nested block's body is the caller's to read or skip."""
        while True:
            token = self.peek()
            if token.kind == "eof":
                raise self.error(token, "'}'")
            if token.kind == "punct" and token.text == "}":
                self.next()
                return
            if token.kind == "punct" and token.text == ";":
                self.next()
                continue
            yield self.head()

    def skip_block(self) -> None:
        for _words, end in self.block_heads():
            if end.text == "{":
                self.skip_block()

    def include(self, words: list[Token], scope: _Scope) -> None:
        if len(words) != 2 or words[1].kind != "string":
            raise self.error(words[1] if len(words) > 1 else words[0], "a quoted file name")
        target = Path(words[1].text)
        # dhcpd opens a relative include against its working directory (usually /, so
        # relative includes only work by accident); leasewatch resolves it against the
        # including file's directory, which is what the author of the file meant.
        if not target.is_absolute():
            target = self.path.parent / target
        if target.resolve() in self.state.including:
            raise LeasesError(f"{self.name}:{words[1].line}: include loop through {target}")
        self.state.including.append(target.resolve())
        try:
            child = _Parser(target, self.state)
        except LeasesError as exc:
            raise LeasesError(f"{self.name}:{words[1].line}: include: {exc}") from None
        self.state.files.append(target)
        # an included file holds statements of the scope it is included from
        child.statements(scope, nested=False)
        self.state.including.pop()

    def address(self, token: Token, what: str = "an IPv4 address") -> IPv4Address:
        ip = parse_ipv4(token.text) if token.kind == "word" else None
        if ip is None:
            raise self.error(token, what)
        return ip

    def subnet(self, words: list[Token], end: Token, scope: _Scope) -> IPv4Network:
        if len(words) != 4 or words[2].text.lower() != "netmask":
            raise self.error(words[2] if len(words) > 2 else end, "'subnet ADDRESS netmask MASK {'")
        address = self.address(words[1])
        mask = self.address(words[3], "a netmask")
        try:
            net = IPv4Network(f"{address}/{mask}")
        except ValueError:
            raise LeasesError(
                f"{self.name}:{words[1].line}: expected a subnet number that fits its netmask, "
                f"got {address} netmask {mask}"
            ) from None
        self.state.subnets.append((net, scope.network))
        return net

    def range(self, words: list[Token], end: Token, scope: _Scope) -> None:
        args = words[1:]
        if args and args[0].text.lower() == "dynamic-bootp":
            args = args[1:]
        if not 1 <= len(args) <= 2:
            raise self.error(
                args[2] if len(args) > 2 else end, "'range [dynamic-bootp] LOW [HIGH];'"
            )
        low = self.address(args[0])
        high = self.address(args[1]) if len(args) == 2 else low
        if high < low:  # dhcpd swaps a reversed range (new_address_range in server/mdb.c)
            low, high = high, low
        where = f"{self.name}:{words[0].line}"
        self.state.ranges.append(_PendingRange(low, high, scope, where))

    def host(self, words: list[Token], end: Token) -> None:
        if len(words) != 2:
            raise self.error(words[2] if len(words) > 2 else end, "a host name")
        name = words[1].text
        mac: str | None = None
        addresses: list[IPv4Address | None] = []
        for inner, inner_end in self.block_heads():
            key = inner[0].text.lower()
            if inner_end.text == "{":
                self.skip_block()
            elif key == "hardware":
                if len(inner) != 3:
                    raise self.error(inner[-1] if inner else inner_end, "'hardware ethernet MAC;'")
                mac = normalize_mac(inner[2].text)
                if mac is None and inner[1].text.lower() == "ethernet":
                    raise self.error(inner[2], "a MAC address")
            elif key == "fixed-address":
                # a list of addresses or host names (dhcpd resolves names at start-up; we
                # cannot know what they resolve to, so the address stays unknown)
                for item in inner[1:]:
                    if item.kind == "punct" and item.text == ",":
                        continue
                    addresses.append(parse_ipv4(item.text))
        for ip in addresses:
            self.state.fixed.append(FixedHost(name=name, mac=mac, ip=ip))


def parse(path: Path) -> DhcpdConf:
    """Read dhcpd.conf (and its includes) into ranges and fixed hosts.

    Raises ``LeasesError("FILE:LINE: expected X, got Y")`` on a syntax error, a bad address,
    a range outside every subnet, or an unreadable file.
    """
    state = _State(files=[path], including=[path.resolve()])
    _Parser(path, state).statements(_Scope(), nested=False)
    return _finish(state)


def _finish(state: _State) -> DhcpdConf:
    ranges: list[Range] = []
    for pending in state.ranges:
        subnet = pending.scope.subnet
        network = pending.scope.network
        if subnet is None:
            # a pool directly inside a shared-network: its range belongs to whichever of
            # that network's subnets holds it (dhcpd's find_subnet for the pool)
            for net, owner in state.subnets:
                if owner == network and pending.first in net:
                    subnet = net
                    break
        if subnet is None or pending.first not in subnet or pending.last not in subnet:
            raise LeasesError(
                f"{pending.where}: expected a range inside its subnet, got "
                f"{pending.first}-{pending.last}"
                + (f" outside {subnet}" if subnet is not None else " outside every subnet")
            )
        ranges.append(
            Range(
                first=pending.first,
                last=pending.last,
                subnet=subnet,
                network=network if network is not None else str(subnet),
            )
        )
    return DhcpdConf(ranges=tuple(ranges), fixed=tuple(state.fixed), files=tuple(state.files))
