"""dnsmasq's config: every ``dhcp-range`` form (option.c), ``dhcp-host`` reservations, and
the ``conf-file`` / ``conf-dir`` / ``dhcp-hostsfile`` includes dnsmasq follows."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from ipaddress import (
    AddressValueError,
    IPv4Address,
    IPv4Network,
    IPv6Address,
    IPv6Network,
    ip_address,
    summarize_address_range,
)
from pathlib import Path
from typing import Any

from leasewatch.errors import LeasesError
from leasewatch.model import FixedHost, Range, normalize_mac

INFINITE = 0xFFFFFFFF  # dnsmasq's lease time for "infinite" (option.c)
DEFAULT_LEASE_TIME = 3600  # DEFLEASE in dnsmasq's config.h: one hour
MIN_LEASE_TIME = 120  # option.c raises shorter lease times to two minutes


@dataclass(frozen=True, slots=True)
class DhcpRange:
    """One ``dhcp-range`` option, as dnsmasq's option.c reads it.

    ``end`` is None for the single-address forms (``static``, ``proxy``, an IPv6
    ``constructor:`` template without an end). ``lease_time`` is in seconds (``INFINITE``
    for "infinite"), None when not given (dnsmasq's default: one hour).
    """

    start: IPv4Address | IPv6Address
    end: IPv4Address | IPv6Address | None
    netmask: IPv4Address | None = None
    broadcast: IPv4Address | None = None
    prefix: int | None = None  # IPv6 only
    lease_time: int | None = None
    modes: tuple[str, ...] = ()  # static, proxy, ra-only, slaac, ra-names, ..., deprecated
    constructor: str | None = None  # IPv6 "constructor:<interface>"
    set_tag: str | None = None
    tags: tuple[str, ...] = ()  # "tag:" filters (a leading "!" kept)

    @property
    def v6(self) -> bool:
        return isinstance(self.start, IPv6Address)

    @property
    def dynamic(self) -> bool:
        """Whether dnsmasq hands out addresses from it to any client (not static, proxy, RA)."""
        return not set(self.modes) & {"static", "proxy", "ra-only", "slaac", "ra-stateless"}


_V6_MODES = ("static", "ra-only", "slaac", "ra-names", "ra-advrouter", "ra-stateless", "off-link")
_ADDRESS_CHARS = re.compile(r"[0-9a-fA-F.: ]*")
_LEASE_TIME = re.compile(r"(\d+)([wWdDhHmMsS]?)")
_FACTORS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_dhcp_range(value: str, where: str = "dhcp-range") -> DhcpRange:
    """Parse the value of one ``dhcp-range=`` (every form of dnsmasq(8)); raise LeasesError.

    Leading fields that are not addresses are tags: ``tag:x`` (or the older ``net:x``)
    filters, ``set:x`` (or a bare ``x``) names the range's tag. Then IPv4:
    ``start,end|static|proxy[,netmask[,broadcast]][,lease time]``; IPv6:
    ``start[,end|constructor:iface][,mode...][,prefix-len][,lease time]``.
    """
    fields = [f.strip() for f in value.split(",")]
    set_tag: str | None = None
    tags: list[str] = []
    # option.c: a field with a character that cannot be in an address, and more after it,
    # is a tag
    while len(fields) > 1 and not _ADDRESS_CHARS.fullmatch(fields[0]):
        head = fields.pop(0)
        if head.startswith(("tag:", "net:")):  # option.c is_tag_prefix: both filter
            if head[4:]:
                tags.append(head[4:])
        elif set_tag is not None:
            raise _bad(where, value, "only one set: tag is allowed")
        else:
            set_tag = head.removeprefix("set:")
    if len(fields) < 2:
        raise _bad(where, value, "expected at least start,end (or start,static / start,proxy)")
    try:
        start = ip_address(fields[0])
    except ValueError:
        raise _bad(where, value, f"{fields[0]!r} is not an IPv4 or IPv6 address") from None
    if isinstance(start, IPv4Address):
        found = _v4_range(start, fields, where, value)
    else:
        found = _v6_range(start, fields, where, value)
    return DhcpRange(**{**found, "set_tag": set_tag, "tags": tuple(tags)})


def _v4_range(start: IPv4Address, fields: list[str], where: str, value: str) -> dict[str, Any]:
    out: dict[str, Any] = {"modes": ()}
    end: IPv4Address | None = None
    if fields[1] in ("static", "proxy"):
        out["modes"] = (fields[1],)
    else:
        try:
            end = IPv4Address(fields[1])
        except AddressValueError:
            raise _bad(
                where, value, f"{fields[1]!r} is not an end address, static or proxy"
            ) from None
        if end < start:
            start, end = end, start  # dnsmasq swaps them too
    position = 2
    netmask = broadcast = None
    if len(fields) > 2 and "." in fields[2]:
        netmask = _netmask(fields[2], where, value)
        position = 3
        last = end or start
        network = IPv4Network(f"{start}/{netmask}", strict=False)
        if last not in network:
            raise _bad(where, value, f"inconsistent DHCP range: {last} is not in {network}")
        if len(fields) > 3 and "." in fields[3]:
            try:
                broadcast = IPv4Address(fields[3])
            except AddressValueError:
                raise _bad(where, value, f"{fields[3]!r} is not a broadcast address") from None
            position = 4
    out.update(start=start, end=end, netmask=netmask, broadcast=broadcast)
    out["lease_time"], extra = _lease_time(fields, position, where, value)
    if extra:
        out["modes"] = (*out["modes"], extra)
    return out


def _v6_range(start: IPv6Address, fields: list[str], where: str, value: str) -> dict[str, Any]:
    end: IPv6Address | None = None
    modes: list[str] = []
    constructor = None
    position = 1
    while position < len(fields):
        item = fields[position]
        if item in _V6_MODES:
            modes.append(item)
        elif position == 1 and ":" in item and not item.startswith("constructor:"):
            try:
                end = IPv6Address(item)
            except AddressValueError:
                raise _bad(where, value, f"{item!r} is not an IPv6 end address") from None
        elif item.startswith("constructor:"):
            constructor = item[len("constructor:") :]
        else:
            break
        position += 1
    prefix = 64
    if position < len(fields) and fields[position].isdigit() and int(fields[position]) <= 128:
        prefix = int(fields[position])
        position += 1
    if prefix < 64:
        raise _bad(where, value, "prefix length must be at least 64")
    if end is not None and end < start:
        start, end = end, start
    lease_time, extra = _lease_time(fields, position, where, value)
    if extra:
        modes.append(extra)
    return {
        "start": start,
        "end": end,
        "prefix": prefix,
        "lease_time": lease_time,
        "modes": tuple(modes),
        "constructor": constructor,
    }


def _netmask(text: str, where: str, value: str) -> IPv4Address:
    try:
        mask = IPv4Address(text)
        IPv4Network(f"0.0.0.0/{mask}")
    except ValueError:
        raise _bad(where, value, f"{text!r} is not a netmask") from None
    return mask


def _lease_time(fields: list[str], position: int, where: str, value: str) -> tuple[int | None, str]:
    """``(seconds or None, "" or "deprecated")`` from the last field, which must be the last."""
    if position >= len(fields):
        return None, ""
    if position != len(fields) - 1:
        raise _bad(where, value, f"unexpected {fields[position]!r} before the lease time")
    text = fields[position]
    if text == "infinite":
        return INFINITE, ""
    if text == "deprecated":
        return None, "deprecated"
    match = _LEASE_TIME.fullmatch(text)
    if not match:
        raise _bad(where, value, f"{text!r} is not a lease time like 12h, 45m, 3600 or infinite")
    seconds = int(match.group(1)) * _FACTORS[match.group(2).lower()]
    return max(seconds, MIN_LEASE_TIME), ""


def _bad(where: str, value: str, why: str) -> LeasesError:
    return LeasesError(f"{where}: bad dhcp-range={value}: {why}")


def v4_range(dhcp_range: DhcpRange, network: str | None = None) -> Range | None:
    """The dynamic pool of an IPv4 ``dhcp-range`` (None for static, proxy and IPv6 ranges).

    Without a netmask dnsmasq takes the subnet from the interface the range is served on,
    which leasewatch cannot see from here: the smallest network holding the range stands in.
    """
    start, end = dhcp_range.start, dhcp_range.end
    if not isinstance(start, IPv4Address) or not isinstance(end, IPv4Address):
        return None
    if not dhcp_range.dynamic:
        return None
    if dhcp_range.netmask is not None:
        subnet = IPv4Network(f"{start}/{dhcp_range.netmask}", strict=False)
    else:
        subnet = _covering(start, end)
    return Range(first=start, last=end, subnet=subnet, network=network or str(subnet))


def v6_range(dhcp_range: DhcpRange, network: str | None = None) -> tuple[Range | None, str]:
    """The address pool of an IPv6 ``dhcp-range``, or None and why it counts none.

    ``ra-only``, ``slaac``, ``ra-stateless`` and ``static`` ranges hand out no address from a
    pool (router advertisements only, or ``dhcp-host`` addresses only): no pool, and nothing
    to say. A ``constructor:IFACE`` range takes its prefix from IFACE's addresses, which
    leasewatch cannot see from the config: no pool, and a reason to warn.
    """
    start, end = dhcp_range.start, dhcp_range.end
    if not isinstance(start, IPv6Address) or not dhcp_range.dynamic:
        return None, ""
    if dhcp_range.constructor is not None:
        return None, (
            f"its addresses are built from the prefix of {dhcp_range.constructor}'s "
            "addresses, which the config does not name: not counted"
        )
    if not isinstance(end, IPv6Address):
        return None, ""
    subnet = IPv6Network(f"{start}/{dhcp_range.prefix or 64}", strict=False)
    return Range(first=start, last=end, subnet=subnet, network=network or str(subnet)), ""


def _covering(start: IPv4Address, end: IPv4Address) -> IPv4Network:
    net = next(summarize_address_range(start, start))
    while end not in net:
        net = net.supernet()
    return net


@dataclass
class DnsmasqConf:
    """What leasewatch needs from dnsmasq's config: its ranges and its reservations."""

    ranges: list[tuple[str, DhcpRange]] = field(default_factory=list)  # (file:line, range)
    hosts: list[FixedHost] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def read_conf(path: Path) -> DnsmasqConf:
    """Read ``dhcp-range`` and ``dhcp-host`` lines (and hosts files), following
    ``conf-file`` and ``conf-dir`` as dnsmasq does; raise LeasesError on what it would refuse."""
    conf = DnsmasqConf()
    _read_conf_file(path, conf, seen=set(), depth=0)
    return conf


_MAX_DEPTH = 16  # include loops are cut by "seen"; this bounds pathological nesting


def _read_conf_file(path: Path, conf: DnsmasqConf, seen: set[Path], depth: int) -> None:
    key = path.resolve()
    if key in seen or depth > _MAX_DEPTH:
        return  # dnsmasq reads a file once
    seen.add(key)
    conf.files.append(path)
    try:
        text = path.read_bytes().decode("utf-8", "backslashreplace")
    except OSError as exc:
        raise LeasesError(f"{path}: cannot read dnsmasq config: {exc.strerror}") from None
    for number, name, value in _options(text):
        where = f"{path}:{number}"
        if name == "dhcp-range" and value is not None:
            conf.ranges.append((where, parse_dhcp_range(value, where)))
        elif name == "dhcp-host" and value is not None:
            host = parse_dhcp_host(value)
            if host is not None:
                conf.hosts.append(host)
        elif name == "dhcp-hostsfile" and value is not None:
            _read_hosts(_relative(path, value), conf)
        elif name == "conf-file" and value:
            _read_conf_file(_relative(path, value), conf, seen, depth + 1)
        elif name == "conf-dir" and value:
            for item in _conf_dir(_relative(path, value.split(",")[0]), value, where):
                _read_conf_file(item, conf, seen, depth + 1)


def _options(text: str) -> Iterator[tuple[int, str, str | None]]:
    """``(line, option, value)`` for each option line; comments and blank lines skipped."""
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        # a "#" after white space starts a comment (option.c read_file); quotes are rare in
        # the options read here and dnsmasq strips them the same way
        line = re.split(r"\s#", line, maxsplit=1)[0].strip()
        name, sep, value = line.partition("=")
        name = name.strip().removeprefix("--")
        yield number, name, value.strip().strip('"') if sep else None


def _relative(base: Path, value: str) -> Path:
    # dnsmasq opens relative names from its working directory ("/" for the daemon); from a
    # config file next to its includes, the file's directory is what is meant
    path = Path(value.strip().strip('"'))
    return path if path.is_absolute() else base.parent / path


def _conf_dir(directory: Path, value: str, where: str) -> list[Path]:
    """Files of ``conf-dir=dir[,.ext-to-skip...][,*.pattern...]`` in dnsmasq's order.

    dnsmasq skips names starting with ``.``, ending with ``~`` or wrapped in ``#``; with any
    ``*pattern`` it reads only matching names; other suffixes given are skipped.
    """
    extras = [e.strip() for e in value.split(",")[1:] if e.strip()]
    wanted = [e for e in extras if e.startswith("*")]
    skipped = [e for e in extras if not e.startswith("*")]
    try:
        names = sorted(p.name for p in directory.iterdir() if p.is_file())
    except OSError as exc:
        raise LeasesError(f"{where}: conf-dir {directory}: {exc.strerror}") from None
    out = []
    for name in names:
        if (
            name.startswith(".")
            or name.endswith("~")
            or (name.startswith("#") and name.endswith("#"))
        ):
            continue
        if wanted and not any(fnmatch.fnmatchcase(name, p) for p in wanted):
            continue
        if any(name.endswith(s) for s in skipped):
            continue
        out.append(directory / name)
    return out


def parse_dhcp_host(value: str) -> FixedHost | None:
    """A reservation from ``dhcp-host=`` (or a hosts-file line) with an IPv4 address.

    Fields are a MAC (``*`` wildcards make it no single host), ``id:`` client ids,
    ``set:``/``tag:`` tags, an IPv4 address, ``[ipv6]``, a host name, a lease time or
    ``ignore``: only the MAC, address and name matter here.
    """
    mac: str | None = None
    ip: IPv4Address | None = None
    name: str | None = None
    for item in (f.strip() for f in value.split(",")):
        if not item or item.startswith(("id:", "set:", "tag:", "net:", "[")):
            continue
        if ":" in item or "-" in item:
            mac = normalize_mac(item) or mac
            continue
        try:
            ip = IPv4Address(item)
            continue
        except AddressValueError:
            pass
        if not _LEASE_TIME.fullmatch(item) and item not in ("infinite", "ignore"):
            name = item
    if ip is None:
        return None
    return FixedHost(name=name or str(ip), mac=mac, ip=ip)


def _read_hosts(path: Path, conf: DnsmasqConf) -> None:
    try:
        text = path.read_bytes().decode("utf-8", "backslashreplace")
    except OSError as exc:
        raise LeasesError(f"{path}: cannot read dnsmasq hosts file: {exc.strerror}") from None
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            host = parse_dhcp_host(line)
            if host is not None:
                conf.hosts.append(host)
