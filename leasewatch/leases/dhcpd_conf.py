"""dhcpd.conf -> the dynamic ranges and fixed hosts leasewatch needs; the rest is skipped.

dhcpd.conf(5) is a tree of statements: ``word ... ;`` or ``word ... { statements }``.
The tokenizer and the generic statement walker below keep braces, semicolons and quoted
strings honest everywhere (``class``, ``if``/``elsif``/``else``, ``key``, ``failover peer``
bodies included) and interpret only ``include``, ``shared-network``, ``subnet``, ``pool``,
``group``, ``range`` and ``host``. The same tokenizer serves the slow path of the leases
parser (``leasewatch.leases.isc``), since dhcpd.leases uses the same syntax.
"""

from __future__ import annotations

import enum
import os
import re
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

from leasewatch.errors import LeasesError
from leasewatch.leases import dhcpd_names, dhcpd_values
from leasewatch.leases.dhcpd_failover import FailoverPeer, peer
from leasewatch.leases.dhcpd_syntax import decode_string, describe, parse_ipv4
from leasewatch.leases.regular import check_regular as check_regular  # noqa: PLC0414
from leasewatch.leases.regular import read_regular as read_regular  # noqa: PLC0414
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
        return describe(self.kind, self.text)


def tokenize(text: str, filename: str, first_line: int = 1) -> list[Token]:
    """Split dhcpd syntax into tokens, dropping spaces and comments; the last token is ``eof``."""
    tokens: list[Token] = []
    line = first_line
    if (nul := text.find("\0")) >= 0:  # dhcpd stops there too ("expecting a declaration")
        where = first_line + text.count("\n", 0, nul)
        raise LeasesError(f"{filename}:{where}: expected text, got NUL bytes (a file cut short?)")
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
    failover: tuple[FailoverPeer, ...] = ()  # ``failover peer`` declarations, and the
    used_peers: tuple[str, ...] = ()  # ones pools name


class _Ctx(enum.Enum):
    """The kind of block a statement stands in: what dhcpd allows there differs."""

    ROOT = "the top level"
    GROUP = "a group"
    SHARED = "a shared-network"
    SUBNET = "a subnet"
    POOL = "a pool"
    HOST = "a host"
    CLASS = "a class"
    EXEC = "an if, elsif, else or on block"


_DECLARING = frozenset({_Ctx.ROOT, _Ctx.GROUP, _Ctx.SHARED, _Ctx.SUBNET, _Ctx.POOL})
# statements only one kind of block takes (parse_host_declaration, parse_class_declaration,
# parse_pool_statement in server/confpars.c)
_ONLY_IN = {
    _Ctx.HOST: frozenset({"dynamic", "deleted", "uid", "host-identifier", "group"}),
    _Ctx.CLASS: frozenset({"match", "spawn", "lease", "dynamic"}),
    _Ctx.POOL: frozenset({"no"}),
}
_OPTION_VERBS = frozenset({"option", "supersede", "default", "prepend", "append", "send"})
_UNKNOWN_CODE = re.compile(r"unknown-\d+")
_MAX_DEPTH = 32  # includes within includes


@dataclass
class _Scope:
    network: str | None = None  # enclosing shared-network
    subnet: IPv4Network | None = None  # enclosing subnet


@dataclass
class _State:
    ranges: list[Range] = field(default_factory=list)
    subnets: list[tuple[IPv4Network, str | None]] = field(default_factory=list)
    fixed: list[FixedHost] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    including: list[str] = field(default_factory=list)
    classes: set[str] = field(default_factory=set)  # names of classes declared so far
    peers: set[str] = field(default_factory=set)  # names of failover peers declared so far
    failover: list[FailoverPeer] = field(default_factory=list)
    used_peers: dict[str, None] = field(default_factory=dict)  # named by a pool, in order
    formats: dict[str, str] = field(default_factory=lambda: dict(dhcpd_values.DHCP_FORMATS))
    # option spaces and the names defined in them (None: any name), as dhcpd starts
    spaces: dict[str, set[str] | None] = field(
        default_factory=lambda: {
            k: None if v is None else set(v) for k, v in dhcpd_names.SPACES.items()
        }
    )


class _Parser:
    """One file of the configuration, read statement by statement as dhcpd reads it."""

    def __init__(self, path: Path, state: _State) -> None:
        self.path = path
        self.name = str(path)
        self.state = state
        text = read_regular(path).decode("utf-8", "surrogateescape")
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
    def statements(self, scope: _Scope, ctx: _Ctx, *, nested: bool) -> Token:
        """Read statements until the closing brace (``nested``: returned) or the end of the
        file."""
        after_if = False
        while True:
            token = self.peek()
            if token.kind == "eof":
                if nested:
                    raise self.error(token, "'}'")
                return token
            if token.text == "}" and token.kind == "punct":
                if not nested:
                    raise self.error(token, "a statement")
                return self.next()
            if token.kind != "word":  # a stray ';' too: dhcpd takes no empty statement
                raise self.error(token, "a statement")
            after_if = self.statement(scope, ctx, after_if=after_if)

    def head(self) -> tuple[list[Token], Token]:
        """The tokens of one statement up to its ``;`` or ``{`` (returned as the second value).

        A ``{`` after ``=`` or ``of`` opens a record type in an option definition
        (``option foo code 100 = { boolean, unsigned integer 8 };``): part of the statement.
        """
        words: list[Token] = []
        while True:
            token = self.next()
            if (
                token.kind == "punct"
                and token.text == "{"
                and words
                and words[-1].text in ("=", "of")
            ):
                words.append(token)
                while (inner := self.next()).text != "}" or inner.kind != "punct":
                    if inner.kind == "eof" or (inner.kind == "punct" and inner.text in ";{"):
                        raise self.error(inner, "'}' closing the record type")
                    words.append(inner)
                words.append(inner)
                continue
            if token.kind == "punct" and token.text in (";", "{"):
                return words, token
            if token.kind == "eof" or (token.kind == "punct" and token.text == "}"):
                raise self.error(token, "';'")
            words.append(token)

    def statement(self, scope: _Scope, ctx: _Ctx, *, after_if: bool) -> bool:
        """Read one statement; return whether it was an ``if`` or ``elsif`` (an ``elsif``
        or ``else`` may follow)."""
        words, end = self.head()
        first = words[0]
        kw = first.text.lower()
        block = end.text == "{"
        if kw in dhcpd_names.V6:
            self.v6(words, end, scope, ctx)
            return False
        if kw in ("if", "elsif", "else"):
            if kw != "if" and not after_if:
                raise self.error(first, f"'{kw}' only after an if block")
            # ``else if`` is an if of its own in the else branch: an else may follow it
            else_if = kw == "else" and len(words) > 1 and words[1].text.lower() == "if"
            if kw == "else" and len(words) > 1 and not else_if:
                raise self.error(words[1], "'{' or 'if' after 'else'")
            self.block(words, end, "'{'")
            self.statements(scope, _Ctx.EXEC, nested=True)
            return kw != "else" or else_if
        if ctx is _Ctx.EXEC:
            self.executable(words, end, ctx)
        elif kw == "include" and not block:
            self.include(words, scope, ctx)
        elif kw == "shared-network":
            self.allowed(first, ctx, {_Ctx.ROOT, _Ctx.GROUP}, "at the top level or in a group")
            self.block(words, end, "'{'")
            if len(words) != 2:
                raise self.error(words[-1] if len(words) > 2 else end, "a shared-network name")
            self.statements(_Scope(network=words[1].text), _Ctx.SHARED, nested=True)
        elif kw == "subnet":
            outside = {_Ctx.ROOT, _Ctx.GROUP, _Ctx.SHARED, _Ctx.POOL}
            self.allowed(first, ctx, outside, "outside hosts, classes and other subnets")
            self.block(words, end, "'{'")
            subnet = self.subnet(words, end, scope)
            self.statements(_Scope(scope.network, subnet), _Ctx.SUBNET, nested=True)
        elif kw == "pool":
            where = "directly in a subnet or shared-network"
            self.allowed(first, ctx, {_Ctx.SUBNET, _Ctx.SHARED}, where)
            self.block(words, end, "'{'")
            before = len(self.state.ranges)
            close = self.statements(scope, _Ctx.POOL, nested=True)
            if len(self.state.ranges) == before:  # "Pool declaration with no address range."
                raise self.error(close, "a range in the pool")
        elif kw == "group":
            if ctx is _Ctx.HOST and not block:
                return False  # a host's ``group "name";``
            self.allowed(first, ctx, _DECLARING, "outside hosts and classes")
            self.block(words, end, "'{'")
            self.statements(scope, _Ctx.GROUP, nested=True)
        elif kw == "host":
            self.allowed(first, ctx, _DECLARING, "outside hosts and classes")
            self.block(words, end, "'{'")
            self.host(words, end, scope)
        elif kw == "range":
            self.allowed(first, ctx, {_Ctx.SUBNET, _Ctx.POOL}, "directly in a subnet or a pool")
            self.semicolon(words, end)
            self.range(words, end, scope)
        elif kw in ("hardware", "fixed-address"):
            raise self.error(first, "a host's hardware and fixed-address only in the host")
        elif kw in ("class", "vendor-class", "user-class", "subclass"):
            if ctx is _Ctx.CLASS:
                raise self.error(first, "a class outside of other classes")
            if kw != "subclass" and len(words) > 1:
                self.state.classes.add(words[1].text)
            if block:
                self.statements(scope, _Ctx.CLASS, nested=True)
            elif kw != "subclass":
                raise self.error(end, "'{'")
        elif kw in ("key", "zone", "switch", "define") or (kw == "failover" and block):
            if kw == "failover" and len(words) > 2:
                self.state.peers.add(words[2].text)
            start = self.i
            if block:  # bodies of their own grammar: balanced, not read (but a peer's)
                self.skip_block()
            if kw == "failover" and block and len(words) == 3:  # its role and addresses
                body = [(t.kind, t.text) for t in self.tokens[start : self.i - 1]]
                self.state.failover.append(peer(words[2].text, body, f"{self.name}:{first.line}"))
        elif kw == "failover" and ctx is _Ctx.POOL:
            self.semicolon(words, end)
            if len(words) != 3 or words[2].text not in self.state.peers:
                # dhcpd: "failover peer NAME: not found"
                raise self.error(words[-1], "'failover peer NAME;' naming a peer declared before")
            self.state.used_peers[words[2].text] = None
        elif kw in _ONLY_IN.get(ctx, ()) or kw in dhcpd_names.DECLARATIONS:
            self.semicolon(words, end)
            if kw == "lease" and (len(words) != 3 or words[1].text.lower() != "limit"):
                raise self.error(words[1] if len(words) > 1 else end, "'lease limit N;'")
        elif kw in ("allow", "deny") and ctx is _Ctx.POOL:
            self.semicolon(words, end)
            self.permit(words)
        else:
            self.executable(words, end, ctx)
        return False

    def v6(self, words: list[Token], end: Token, scope: _Scope, ctx: _Ctx) -> None:
        """A DHCPv6 statement: ``dhcpd -4`` takes none (``leasewatch.leases.dhcpd6_conf``
        reads them)."""
        raise LeasesError(
            f"{self.name}:{words[0].line}: expected a DHCPv4 configuration, got "
            f"'{words[0].text.lower()}' (DHCPv6)"
        )

    def executable(self, words: list[Token], end: Token, ctx: _Ctx) -> None:
        """A parameter or executable statement (``parse_executable_statement``)."""
        first = words[0]
        kw = first.text.lower()
        if kw == "on":
            self.block(words, end, "'{'")
            self.statements(_Scope(), _Ctx.EXEC, nested=True)
            return
        if kw in ("key", "zone", "switch", "define") and end.text == "{":
            self.skip_block()
            return
        self.semicolon(words, end)
        if kw in _OPTION_VERBS:
            self.option(words, end, ctx)
        elif kw in dhcpd_names.SERVER_OPTIONS:
            self.value(dhcpd_values.SERVER_FORMATS.get(kw), words[1:], end)
        elif kw in dhcpd_names.EXECUTABLE:
            pass
        elif kw.startswith("%"):
            pass  # "%..." lines: dhcpd skips them (left for the management agent)
        elif ctx is _Ctx.EXEC and kw in self.declaration_words:
            raise self.error(first, f"an executable statement in {ctx.value}")
        elif len(words) == 1 or (words[1].kind == "punct" and words[1].text == "("):
            # dhcpd reads an unknown ``name;`` or ``name(...);`` as an expression (a
            # variable or a function call) and accepts it; anything after the name is an
            # error at that token ("semicolon expected"), which is where dhcpd stops
            pass
        else:
            raise self.error(words[1], f"';' (no statement '{first.text}' in dhcpd.conf(5))")

    declaration_words = frozenset(
        {"include", "shared-network", "subnet", "pool", "group", "host", "range"}
        | dhcpd_names.DECLARATIONS
    )

    def permit(self, words: list[Token]) -> None:
        """A pool's ``allow``/``deny members of "CLASS"``: the class must be declared
        before (dhcpd: "no such class")."""
        members = len(words) == 4 and [w.text.lower() for w in words[1:3]] == ["members", "of"]
        if members and words[3].text not in self.state.classes:
            raise self.error(words[3], "a class declared before")

    def value(self, fmt: str | None, values: list[Token], end: Token) -> None:
        """An option's or parameter's value, checked when its format is one dhcpd_values
        knows."""
        wrong = None if fmt is None else dhcpd_values.check(fmt, values)
        if wrong is not None:
            raise self.error(wrong[0] or end, wrong[1])

    def option(self, words: list[Token], end: Token, ctx: _Ctx) -> None:
        """``option space NAME``, ``option NAME code N = TYPE``, or an option's value (also
        after supersede, default, prepend, append, send): the option must exist."""
        if len(words) < 2 or words[1].kind != "word":
            raise self.error(words[1] if len(words) > 1 else words[0], "an option name")
        verb, name = words[0].text.lower(), words[1]
        spaces = self.state.spaces
        if verb == "option" and name.text.lower() == "space":
            if ctx is not _Ctx.ROOT:
                raise self.error(name, "option space definitions only at the top level")
            if len(words) < 3:
                raise self.error(words[-1], "an option space name")
            spaces.setdefault(words[2].text.lower(), set())
            return
        space, _, option = name.text.lower().rpartition(".")
        space = space or "dhcp"
        if space not in spaces:
            raise self.error(name, f"an option space dhcpd knows (no space '{space}')")
        known = spaces[space]
        if verb == "option" and len(words) > 2 and words[2].text.lower() == "code":
            if ctx is not _Ctx.ROOT:
                raise self.error(name, "option definitions only at the top level")
            if known is not None:
                known.add(option)
            if space == "dhcp":
                self.state.formats.pop(option, None)  # a type of the config's own now
            return
        if known is not None and option not in known and not _UNKNOWN_CODE.fullmatch(option):
            raise self.error(name, f"an option dhcpd knows (no option '{option}' in {space})")
        if space == "dhcp":
            self.value(self.state.formats.get(option), words[2:], end)

    def allowed(
        self, token: Token, ctx: _Ctx, where: set[_Ctx] | frozenset[_Ctx], text: str
    ) -> None:
        if ctx not in where:
            raise LeasesError(
                f"{self.name}:{token.line}: expected '{token.text}' only {text}, "
                f"got it in {ctx.value}"
            )

    def block(self, words: list[Token], end: Token, expected: str) -> None:
        if end.text != "{":
            raise self.error(end, expected)

    def semicolon(self, words: list[Token], end: Token) -> None:
        if end.text != ";":
            raise self.error(end, "';'")

    def skip_block(self) -> None:
        """Step over a block of another grammar, keeping braces and strings balanced."""
        depth = 1
        while depth:
            token = self.next()
            if token.kind == "eof":
                raise self.error(token, "'}'")
            if token.kind == "punct" and token.text in "{}":
                depth += 1 if token.text == "{" else -1

    def include(self, words: list[Token], scope: _Scope, ctx: _Ctx) -> None:
        if len(words) != 2 or words[1].kind != "string":
            raise self.error(words[1] if len(words) > 1 else words[0], "a quoted file name")
        target = Path(words[1].text)
        # dhcpd opens a relative include against its working directory (usually /, so
        # relative includes only work by accident); leasewatch resolves it against the
        # including file's directory, which is what the author of the file meant.
        if not target.is_absolute():
            target = self.path.parent / target
        real = os.path.realpath(target)  # never raises, even on a symlink loop
        where = f"{self.name}:{words[1].line}"
        if real in self.state.including:
            raise LeasesError(f"{where}: include loop through {target}")
        if len(self.state.including) >= _MAX_DEPTH:
            raise LeasesError(f"{where}: expected includes at most {_MAX_DEPTH} deep")
        self.state.including.append(real)
        try:
            child = type(self)(target, self.state)
        except LeasesError as exc:
            raise LeasesError(f"{where}: include: {exc}") from None
        self.state.files.append(target)
        # an included file holds statements of the scope it is included from
        child.statements(scope, ctx, nested=False)
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
        subnet, network = scope.subnet, scope.network
        if subnet is None:
            # a pool directly inside a shared-network: its range belongs to whichever of
            # that network's subnets declared before it holds it (dhcpd: "address range not
            # on network", "Be sure to place pool statement after related subnet
            # declarations")
            subnet = next(
                (n for n, owner in self.state.subnets if owner == network and low in n), None
            )
        if subnet is None or low not in subnet or high not in subnet:
            where = f" outside {subnet}" if subnet is not None else " in no subnet declared before"
            raise LeasesError(
                f"{self.name}:{words[0].line}: expected a range inside its subnet, got "
                f"{low}-{high}{where}"
            )
        label = network if network is not None else str(subnet)
        self.state.ranges.append(Range(first=low, last=high, subnet=subnet, network=label))

    def host(self, words: list[Token], end: Token, scope: _Scope) -> None:
        if len(words) != 2 or words[1].kind != "word":
            # dhcpd takes a host name, not a quoted string ("expecting a name for host
            # declaration")
            raise self.error(words[1] if len(words) > 1 else end, "a host name")
        name = words[1].text
        mac: str | None = None
        addresses: list[IPv4Address | None] = []
        while True:
            token = self.peek()
            if token.kind == "punct" and token.text == "}":
                self.next()
                break
            if token.kind != "word":
                raise self.error(token, "a statement")
            key = token.text.lower()
            if key == "hardware":
                inner, inner_end = self.head()
                self.semicolon(inner, inner_end)
                mac = self.hardware(inner, inner_end)
            elif key == "fixed-address":
                inner, inner_end = self.head()
                self.semicolon(inner, inner_end)
                # a list of addresses or host names, checked as dhcpd checks an address
                # list (dhcpd resolves names at start-up; we cannot know what they resolve
                # to, so such an address stays unknown)
                self.value("IA", inner[1:], inner_end)
                addresses.extend(parse_ipv4(item.text) for item in inner[1::2])
            else:
                self.statement(scope, _Ctx.HOST, after_if=False)
        for ip in addresses:
            self.state.fixed.append(FixedHost(name=name, mac=mac, ip=ip))

    def hardware(self, words: list[Token], end: Token) -> str | None:
        """``hardware TYPE aa:bb:...;``: octets of one or two hex digits, colons between
        (``parse_hardware_param``: dashes are an error); the MAC if it is an Ethernet one."""
        if len(words) != 3:
            raise self.error(words[-1] if len(words) > 3 else end, "'hardware ethernet MAC;'")
        kind, text = words[1].text.lower(), words[2].text
        if kind not in ("ethernet", "token-ring", "fddi", "infiniband"):
            raise self.error(words[1], "a hardware type (ethernet, token-ring, fddi, infiniband)")
        octets = text.split(":")
        if not all(1 <= len(o) <= 2 and all(c in _HEX for c in o) for o in octets):
            raise self.error(words[2], "a hardware address (hex octets with ':' between)")
        if kind != "ethernet":
            return None
        return normalize_mac(":".join(o.rjust(2, "0") for o in octets))


_HEX = frozenset("0123456789abcdefABCDEF")


def parse(path: Path) -> DhcpdConf:
    """Read dhcpd.conf (and its includes) into ranges and fixed hosts, as dhcpd reads it.

    Raises ``LeasesError("FILE:LINE: expected X, got Y")`` where dhcpd would stop: a
    statement or option dhcpd does not know, a statement where dhcpd does not allow it, a
    bad address, a range outside its subnet, or an unreadable file.
    """
    state = _State(files=[path], including=[os.path.realpath(path)])
    _Parser(path, state).statements(_Scope(), _Ctx.ROOT, nested=False)
    return DhcpdConf(tuple(state.ranges), tuple(state.fixed), tuple(state.files),
                     tuple(state.failover), tuple(state.used_peers))  # fmt: skip
