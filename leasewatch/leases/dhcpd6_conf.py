"""dhcpd6.conf -> the DHCPv6 address ranges and prefix-delegation pools, as ``dhcpd -6`` reads them.

One grammar serves both families (dhcpd reads dhcpd.conf and dhcpd6.conf with the same
parser, server/confpars.c): this module extends ``leasewatch.leases.dhcpd_conf`` with the
DHCPv6 statements and tells the family from the content. A file holding any of
``subnet6``, ``range6``, ``prefix6``, ``pool6``, ``fixed-address6``, ``fixed-prefix6`` is a
DHCPv6 configuration: ``dhcpd -4`` rejects each of them, and ``dhcpd -6`` ignores the
DHCPv4 ``subnet``/``range`` declarations it also accepts, so their ranges are dropped.

Where each statement may stand and what it checks is ``parse_statement``,
``parse_subnet6_declaration``, ``parse_address_range6``, ``parse_prefix6`` and
``parse_pool6_statement`` in server/confpars.c (dhcpd 4.4):

- ``subnet6 PREFIX/LEN { ... }``: outside hosts, classes and subnets; the prefix has no bits
  set past LEN;
- ``range6 LOW HIGH;`` (both inside the subnet), ``range6 PREFIX/LEN [temporary];`` (LEN not
  shorter than the subnet's, no bits past LEN), ``range6 ADDRESS temporary;`` (a /64):
  directly in a ``subnet6`` or in a ``pool6``; ``temporary`` ranges serve IA_TA;
- ``prefix6 LOW HIGH /LEN;``: prefixes of length LEN from LOW to HIGH (both with no bits past
  LEN; not required to be inside the subnet), directly in a ``subnet6`` or a ``pool6``;
- ``pool6 { ... }``: directly in a ``subnet6``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Address, IPv6Network
from pathlib import Path

from leasewatch.errors import LeasesError
from leasewatch.leases.dhcpd_conf import (
    DhcpdConf,
    Token,
    _Ctx,
    _Parser,
    _Scope,
    _State,
)
from leasewatch.model import PoolKind, Range


@dataclass(frozen=True, slots=True)
class Dhcpd6Conf:
    """A configuration of either family: ``family`` 6 when it holds a DHCPv6 statement."""

    family: int
    v4: DhcpdConf
    ranges: tuple[Range, ...] = ()  # DHCPv6: range6 (ADDRESS, TEMPORARY), prefix6 (PREFIX)


class _Scope6(_Scope):
    """A ``subnet6`` scope (the base's ``subnet`` is IPv4 only)."""

    def __init__(self, network: str | None, subnet6: IPv6Network) -> None:
        super().__init__(network=network)
        self.subnet6 = subnet6


class _State6(_State):
    def __init__(self, path: Path) -> None:
        super().__init__(files=[path], including=[])
        self.ranges6: list[Range] = []
        self.v6_seen = False
        self.v4_subnet: tuple[str, int] | None = None  # the first DHCPv4 subnet: file, line


_POOL6 = "a pool6"


class _Parser6(_Parser):
    """The base parser, taking DHCPv6 statements too."""

    state: _State6

    def v6(self, words: list[Token], end: Token, scope: _Scope, ctx: _Ctx) -> None:
        self.state.v6_seen = True
        kw = words[0].text.lower()
        subnet6 = scope.subnet6 if isinstance(scope, _Scope6) else None
        in_subnet = ctx in (_Ctx.SUBNET, _Ctx.POOL) and subnet6 is not None
        if kw == "subnet6":
            outside = {_Ctx.ROOT, _Ctx.GROUP, _Ctx.SHARED}
            self.allowed(words[0], ctx, outside, "outside hosts, classes and other subnets")
            self.block(words, end, "'{'")
            net = self.subnet6(words, end)
            self.statements(_Scope6(scope.network, net), _Ctx.SUBNET, nested=True)
        elif kw == "pool6":
            if ctx is not _Ctx.SUBNET or subnet6 is None:
                raise self.misplaced(words[0], ctx, "directly in a subnet6")
            self.block(words, end, "'{'")
            before = len(self.state.ranges6)
            close = self.statements(scope, _Ctx.POOL, nested=True)
            if len(self.state.ranges6) == before:
                raise self.error(close, "a range6 or prefix6 in the pool6")
        elif kw in ("range6", "prefix6"):
            if not in_subnet or subnet6 is None:
                raise self.misplaced(words[0], ctx, "directly in a subnet6 or a pool6")
            self.semicolon(words, end)
            label = scope.network if scope.network is not None else str(subnet6)
            if kw == "range6":
                self.range6(words, end, subnet6, label)
            else:
                self.prefix6(words, end, subnet6, label)
        else:  # fixed-address6, fixed-prefix6: a host's own address, in no pool
            if ctx is not _Ctx.HOST:
                raise self.misplaced(words[0], ctx, "in a host")
            self.semicolon(words, end)
            for token in words[1:]:
                self.address6(token.text.partition("/")[0], token)

    def subnet(self, words: list[Token], end: Token, scope: _Scope) -> IPv4Network:
        if self.state.v4_subnet is None:
            self.state.v4_subnet = (self.name, words[0].line)
        return super().subnet(words, end, scope)

    def misplaced(self, token: Token, ctx: _Ctx, where: str) -> LeasesError:
        what = "a subnet (a DHCPv4 one)" if ctx is _Ctx.SUBNET else ctx.value
        return LeasesError(
            f"{self.name}:{token.line}: expected '{token.text}' only {where}, got it in {what}"
        )

    # -- values -------------------------------------------------------------------------
    @staticmethod
    def _split(words: list[Token]) -> list[tuple[str, Token]]:
        """The statement's arguments with every ``/`` a word of its own, each with the
        token it came from (dhcpd's lexer reads ``/`` as a token: ``A/64`` = ``A / 64``)."""
        out: list[tuple[str, Token]] = []
        for token in words[1:]:
            for i, piece in enumerate(token.text.split("/")):
                if i:
                    out.append(("/", token))
                if piece:
                    out.append((piece, token))
        return out

    def address6(self, text: str, token: Token) -> IPv6Address:
        try:
            return IPv6Address(text)
        except ValueError:
            raise LeasesError(
                f"{self.name}:{token.line}: expected an IPv6 address, got '{text}'"
            ) from None

    def bits(self, text: str, token: Token, low: int, high: int) -> int:
        if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
            raise LeasesError(
                f"{self.name}:{token.line}: expected a prefix length from {low} to {high}, "
                f"got '{text}'"
            )
        return int(text)

    def network(self, address: IPv6Address, bits: int, token: Token) -> IPv6Network:
        try:
            return IPv6Network(f"{address}/{bits}")
        except ValueError:  # dhcpd: "network mask too short" (bits set past the length)
            raise LeasesError(
                f"{self.name}:{token.line}: expected a prefix with no bits set past /{bits}, "
                f"got {address}/{bits}"
            ) from None

    def subnet6(self, words: list[Token], end: Token) -> IPv6Network:
        args = self._split(words)
        if len(args) != 3 or args[1][0] != "/":
            raise self.error(words[-1] if len(words) > 1 else end, "'subnet6 PREFIX/LEN {'")
        net = self.network(
            self.address6(*args[0]), self.bits(args[2][0], args[2][1], 0, 128), args[0][1]
        )
        return net

    def range6(self, words: list[Token], end: Token, subnet: IPv6Network, label: str) -> None:
        args = self._split(words)
        where = args[0][1] if args else end
        form = "'range6 LOW HIGH;', 'range6 PREFIX/LEN [temporary];' or 'range6 ADDRESS temporary;'"
        temporary = bool(args) and args[-1][0].lower() == "temporary"
        if temporary:
            args = args[:-1]
        if not args:
            raise self.error(where, form)
        low = self.address6(*args[0])
        if low not in subnet:
            raise LeasesError(
                f"{self.name}:{where.line}: expected a range6 inside its subnet, got {low} "
                f"outside {subnet}"
            )
        if len(args) == 3 and args[1][0] == "/":
            bits = self.bits(args[2][0], args[2][1], subnet.prefixlen, 128)
            net = self.network(low, bits, args[2][1])
            first, last = net.network_address, net.broadcast_address
        elif len(args) == 1 and temporary:
            net = self.network(low, 64, where)
            first, last = net.network_address, net.broadcast_address
        elif len(args) == 2 and not temporary:
            high = self.address6(*args[1])
            if high not in subnet:
                raise LeasesError(
                    f"{self.name}:{where.line}: expected a range6 inside its subnet, got "
                    f"{high} outside {subnet}"
                )
            first, last = min(low, high), max(low, high)  # range2cidr takes either order
        else:
            raise self.error(where, form)
        kind = PoolKind.TEMPORARY if temporary else PoolKind.ADDRESS
        self.state.ranges6.append(Range(first, last, subnet, label, kind))

    def prefix6(self, words: list[Token], end: Token, subnet: IPv6Network, label: str) -> None:
        args = self._split(words)
        if len(args) != 4 or args[2][0] != "/":
            raise self.error(args[0][1] if args else end, "'prefix6 LOW HIGH /LEN;'")
        low, high = self.address6(*args[0]), self.address6(*args[1])
        bits = self.bits(args[3][0], args[3][1], 1, 127)
        self.network(low, bits, args[0][1])
        self.network(high, bits, args[1][1])
        low, high = min(low, high), max(low, high)
        # from the first address of LOW to the last of HIGH: Range counts whole prefixes
        last = IPv6Address(int(high) + (1 << (128 - bits)) - 1)
        self.state.ranges6.append(Range(low, last, subnet, label, PoolKind.PREFIX, bits))


def parse(path: Path) -> Dhcpd6Conf:
    """Read a dhcpd.conf of either family (and its includes), as ``dhcpd -4`` or ``-6`` does.

    Raises ``LeasesError("FILE:LINE: expected X, got Y")`` where dhcpd would stop.
    """
    state = _State6(path)
    state.including.append(os.path.realpath(path))
    _Parser6(path, state).statements(_Scope(), _Ctx.ROOT, nested=False)
    files = tuple(state.files)
    if not state.v6_seen:
        conf = DhcpdConf(tuple(state.ranges), tuple(state.fixed), files, tuple(state.failover),
                         tuple(state.used_peers))  # fmt: skip
        return Dhcpd6Conf(family=4, v4=conf)
    if state.v4_subnet is not None:  # dhcpd -6: "Addr/mask length mismatch"
        name, line = state.v4_subnet
        raise LeasesError(
            f"{name}:{line}: expected only DHCPv6 subnets (subnet6) in a DHCPv6 configuration, "
            "got a DHCPv4 'subnet'"
        )
    return Dhcpd6Conf(
        family=6,
        v4=DhcpdConf(files=files),
        ranges=tuple(state.ranges6),
    )
