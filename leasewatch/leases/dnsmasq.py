"""dnsmasq: its lease file or libvirt's view of it, and the ``dhcp-range`` lines of its config.

Three ways to read one dnsmasq server's leases, chosen by the server's config:

- ``leases``: dnsmasq's own ``--dhcp-leasefile`` (src/lease.c in dnsmasq's source:
  ``lease_update_file`` writes it, ``read_leases`` reads it back). One line per IPv4 lease
  ``<expiry> <[TT-]hwaddr> <ip> <hostname|*> <client-id|*>``, expiry 0 meaning infinite; then,
  when DHCPv6 is in use, one ``duid <server DUID>`` line and IPv6 lines
  ``<expiry> <[T]iaid> <ip6> <hostname|*> <client DUID|*>``. dnsmasq 2.92 may append lines of
  other shapes (``agent-info``, ``vendorclass``); such lines are skipped with a warning.
- ``status``: the JSON array libvirt's leases helper (``libvirt_leaseshelper``, run by
  dnsmasq as ``--dhcp-script`` next to ``--leasefile-ro``) keeps in
  ``/var/lib/libvirt/dnsmasq/<bridge>.status``: on a libvirt host dnsmasq has no lease file.
- ``libvirt_network``: libvirt's API (``virNetworkGetDHCPLeases``, what ``virsh
  net-dhcp-leases`` prints), with the ranges and reservations from the network's XML.

dnsmasq rewrites its lease file in place (rewind, ftruncate, write, fsync) on every change,
so a reader can catch it empty or half written. ``read_settled`` reads until two reads agree,
and takes an empty file for "being written" until it has stayed empty a while (longer when
the source saw leases in its last read).

leasewatch counts DHCPv4 only: IPv6 leases and ranges are read (``LeaseFile.v6``) and
reported in one warning, never counted and never a failure.
"""

from __future__ import annotations

import fnmatch
import importlib
import json
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from ipaddress import (
    AddressValueError,
    IPv4Address,
    IPv4Network,
    IPv6Address,
    ip_address,
    summarize_address_range,
)
from pathlib import Path
from types import ModuleType
from typing import Any

from leasewatch.config import ServerConfig
from leasewatch.errors import LeasesError
from leasewatch.leases.interface import LeaseSource
from leasewatch.model import (
    BindingState,
    FixedHost,
    Lease,
    LeaseList,
    Range,
    ServerSnapshot,
    normalize_mac,
)

INFINITE = 0xFFFFFFFF  # dnsmasq's lease time for "infinite" (option.c)
DEFAULT_LEASE_TIME = 3600  # DEFLEASE in dnsmasq's config.h: one hour
MIN_LEASE_TIME = 120  # option.c raises shorter lease times to two minutes

# ---------------------------------------------------------------------------- lease file


@dataclass(frozen=True, slots=True)
class V6Lease:
    """One DHCPv6 line of dnsmasq's lease file (or libvirt's status): read, not counted."""

    ip: IPv6Address
    iaid: str  # decimal; "T<n>" for a temporary address (IA_TA)
    ends: datetime | None
    hostname: str | None
    duid: str | None
    mac: str | None = None  # libvirt's status records the MAC dnsmasq learnt; the file has none


@dataclass(frozen=True, slots=True)
class LeaseFile:
    """What one read of a dnsmasq lease file (or libvirt status file) held."""

    leases: tuple[Lease, ...] = ()
    v6: tuple[V6Lease, ...] = ()
    server_duid: str | None = None
    warnings: tuple[str, ...] = ()


def _expiry(text: str) -> datetime | None:
    seconds = int(text)
    if seconds < 0:
        raise ValueError(text)
    return None if seconds == 0 else datetime.fromtimestamp(seconds, UTC)


def _optional(text: str) -> str | None:
    return None if text == "*" else text


def _hwaddr(text: str) -> tuple[str | None, bool]:
    """``(mac, ok)``: Ethernet MACs are written bare; other hardware types as ``TT-xx:..``.

    dnsmasq prefixes the ARP hardware type only when it is not Ethernet (or the address is
    empty), so a prefixed address is never a VM's NIC: it is kept as no MAC (never judged
    against an inventory), which is not an error.
    """
    if re.fullmatch(r"[0-9a-fA-F]{1,2}-(?:[0-9a-fA-F]{1,2}(?::[0-9a-fA-F]{1,2})*)?", text):
        return None, True
    mac = normalize_mac(text) if ":" in text else None
    return mac, mac is not None


def parse_lease_file(text: str, path: str, server: str = "") -> LeaseFile:
    """Parse the text of dnsmasq's lease file; lines of unknown shape become warnings."""
    leases: dict[IPv4Address, Lease] = {}
    v6: dict[IPv6Address, V6Lease] = {}
    duid: str | None = None
    warnings: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        where = f"{path}:{number}"
        if fields[0] == "duid" and len(fields) == 2:
            duid = fields[1]
            continue
        if len(fields) not in (4, 5) or not fields[0].isdigit():
            warnings.append(
                f"{where}: skipped a line dnsmasq's lease file format does not define "
                f"(expected 'expiry mac ip hostname client-id'): {_clip(line)}"
            )
            continue
        try:
            ends = _expiry(fields[0])
            address = ip_address(fields[2])
        except (ValueError, OverflowError, OSError):
            warnings.append(f"{where}: skipped: bad expiry time or address: {_clip(line)}")
            continue
        hostname = _optional(fields[3])
        client = _optional(fields[4]) if len(fields) == 5 else None
        if isinstance(address, IPv6Address):
            # read_leases() takes a line whose address is IPv6 for a DHCPv6 lease, duid
            # line or not: the second field is then the IAID.
            if not re.fullmatch(r"T?\d+", fields[1]):
                warnings.append(f"{where}: skipped: bad IAID {fields[1]!r} on a DHCPv6 lease")
                continue
            v6[address] = V6Lease(address, fields[1], ends, hostname, client)
            continue
        mac, ok = _hwaddr(fields[1])
        if not ok:
            # the address is in use whatever its client: counted, with no MAC (never judged)
            warnings.append(f"{where}: unreadable hardware address {fields[1]!r}: no MAC")
        leases[address] = Lease(
            ip=address,
            state=BindingState.ACTIVE,
            mac=mac,
            ends=ends,
            hostname=hostname,
            server=server,
        )
    return LeaseFile(tuple(leases.values()), tuple(v6.values()), duid, tuple(warnings))


def parse_status(text: str, path: str, server: str = "") -> LeaseFile:
    """Parse libvirt's ``<bridge>.status`` (a JSON array, written by libvirt_leaseshelper).

    ``expiry-time`` is absent for an infinite lease; v6 entries carry ``iaid`` (and
    ``client-id`` is then the client's DUID). Entries stay until dnsmasq's ``del``, expired
    or not (libvirt's readers filter by expiry, as ``Lease.is_active`` does here).
    """
    try:
        data = json.loads(text) if text.strip() else []
    except json.JSONDecodeError as exc:
        raise LeasesError(
            f"{path}:{exc.lineno}: not libvirt's lease status JSON: {exc.msg}"
        ) from None
    if not isinstance(data, list):
        raise LeasesError(f"{path}: expected a JSON array of leases, got {type(data).__name__}")
    leases: dict[IPv4Address, Lease] = {}
    v6: dict[IPv6Address, V6Lease] = {}
    warnings: list[str] = []
    for index, item in enumerate(data):
        where = f"{path}: entry {index + 1}"
        if not isinstance(item, dict):
            warnings.append(f"{where}: skipped: expected an object, got {_clip(repr(item))}")
            continue
        try:
            address = ip_address(str(item["ip-address"]))
            expiry = item.get("expiry-time")
            ends = None if expiry is None else _expiry(str(int(expiry)))
        except (KeyError, ValueError, TypeError, OverflowError, OSError):
            warnings.append(f"{where}: skipped: no valid ip-address or expiry-time")
            continue
        raw_mac = item.get("mac-address")
        mac = normalize_mac(raw_mac) if isinstance(raw_mac, str) else None
        hostname = item.get("hostname") if isinstance(item.get("hostname"), str) else None
        if isinstance(address, IPv6Address):
            client = item.get("client-id")
            v6[address] = V6Lease(
                address,
                str(item.get("iaid", "")),
                ends,
                hostname,
                client if isinstance(client, str) else None,
                mac,
            )
            continue
        leases[address] = Lease(
            ip=address,
            state=BindingState.ACTIVE,
            mac=mac,
            ends=ends,
            hostname=hostname,
            server=server,
        )
    return LeaseFile(tuple(leases.values()), tuple(v6.values()), None, tuple(warnings))


def _clip(text: str, width: int = 80) -> str:
    text = text.strip()
    return repr(text if len(text) <= width else text[: width - 3] + "...")


def read_settled(
    path: Path,
    *,
    attempts: int = 200,
    pause: float = 0.005,
    empty_for: float = 0.1,
    whole_lines: bool = True,
    sleep: Callable[[float], None] = time.sleep,
) -> bytes:
    """The file's bytes once two reads ``pause`` apart agree (and end with a whole line).

    dnsmasq truncates its lease file and writes it again (src/lease.c lease_update_file:
    rewind, ftruncate, fprintf through stdio, fflush, fsync) on every change: one read can
    see it empty or cut short. Two identical reads are a whole file unless dnsmasq stalled
    between truncating and writing for as long as the pause, which a loaded host does: so
    an empty file is believed only once it has stayed empty for ``empty_for`` seconds.
    ``whole_lines=False`` for files written whole (libvirt's status is renamed into place).
    """
    previous = _read_bytes(path)
    stable = 0
    for _ in range(attempts):
        sleep(pause)
        current = _read_bytes(path)
        if current != previous or (whole_lines and current and not current.endswith(b"\n")):
            previous, stable = current, 0
            continue
        stable += 1
        if current.strip() or stable * pause >= empty_for:
            return current
    raise LeasesError(
        f"{path}: the file changed on each of {attempts} reads (dnsmasq is rewriting it "
        "continuously); try again"
    )


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise LeasesError(f"{path}: cannot read lease file: {exc.strerror}") from None


def _decode(data: bytes, path: Path) -> str:
    # dnsmasq writes host names as the client sent them (after its own checks): never
    # fail on a stray byte, show it escaped.
    return data.decode("utf-8", "backslashreplace")


# ---------------------------------------------------------------------------- dhcp-range


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


def _covering(start: IPv4Address, end: IPv4Address) -> IPv4Network:
    net = next(summarize_address_range(start, start))
    while end not in net:
        net = net.supernet()
    return net


# ---------------------------------------------------------------------------- config files


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


# ---------------------------------------------------------------------------- libvirt


@dataclass(frozen=True, slots=True)
class LibvirtNetwork:
    """The parts of a libvirt network's XML leasewatch reads."""

    bridge: str | None
    ranges: tuple[Range, ...]
    hosts: tuple[FixedHost, ...]
    v6_ranges: int


def parse_network_xml(text: str, name: str) -> LibvirtNetwork:
    """Ranges (``<ip><dhcp><range start end/>``) and reservations (``<host>``) of a network."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise LeasesError(f"libvirt network {name!r}: unreadable XML: {exc}") from None
    bridge_el = root.find("bridge")
    bridge = bridge_el.get("name") if bridge_el is not None else None
    ranges: list[Range] = []
    hosts: list[FixedHost] = []
    v6 = 0
    for ip_el in root.findall("ip"):
        family = ip_el.get("family", "ipv4")
        dhcp = ip_el.find("dhcp")
        if dhcp is None:
            continue
        if family != "ipv4":
            v6 += len(dhcp.findall("range"))
            continue
        try:
            address = IPv4Address(ip_el.get("address", ""))
            if ip_el.get("prefix"):
                subnet = IPv4Network(f"{address}/{ip_el.get('prefix')}", strict=False)
            else:
                subnet = IPv4Network(f"{address}/{ip_el.get('netmask', '24')}", strict=False)
            for r in dhcp.findall("range"):
                first, last = IPv4Address(r.get("start", "")), IPv4Address(r.get("end", ""))
                ranges.append(Range(first, last, subnet, str(subnet)))
            for h in dhcp.findall("host"):
                ip = IPv4Address(h.get("ip", ""))
                mac_text = h.get("mac")
                mac = normalize_mac(mac_text) if mac_text else None
                hosts.append(FixedHost(h.get("name") or str(ip), mac, ip))
        except ValueError as exc:
            raise LeasesError(f"libvirt network {name!r}: bad <ip>/<dhcp> element: {exc}") from None
    return LibvirtNetwork(bridge, tuple(ranges), tuple(hosts), v6)


def _libvirt(server: str) -> ModuleType:
    try:
        libvirt = importlib.import_module("libvirt")
    except ImportError:
        raise LeasesError(
            f"dnsmasq server {server!r}: libvirt_network needs libvirt-python "
            "(pip install 'leasewatch[libvirt]')"
        ) from None
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)  # errors are raised, not printed
    return libvirt


def libvirt_leases(server: str, uri: str, network: str) -> tuple[LibvirtNetwork, LeaseFile]:
    """The network's XML and its leases through ``virNetworkGetDHCPLeases``."""
    libvirt = _libvirt(server)
    try:
        conn = libvirt.openReadOnly(uri)
    except libvirt.libvirtError as exc:
        raise LeasesError(f"dnsmasq server {server!r}: cannot connect to {uri}: {exc}") from None
    try:
        net = conn.networkLookupByName(network)
        described = parse_network_xml(net.XMLDesc(0), network)
        raw = net.DHCPLeases()
    except libvirt.libvirtError as exc:
        raise LeasesError(
            f"dnsmasq server {server!r}: libvirt network {network!r} on {uri}: "
            f"{exc.get_error_message()}"
        ) from None
    finally:
        conn.close()
    return described, leases_from_api(raw, server)


def leases_from_api(raw: Iterable[dict[str, Any]], server: str = "") -> LeaseFile:
    """Leases from python-libvirt's ``DHCPLeases()`` dicts (expirytime 0: infinite)."""
    leases: list[Lease] = []
    v6: list[V6Lease] = []
    for item in raw:
        ends = _expiry(str(int(item.get("expirytime") or 0)))
        mac_text = item.get("mac")
        mac = normalize_mac(mac_text) if isinstance(mac_text, str) else None
        address = ip_address(str(item.get("ipaddr")))
        hostname = item.get("hostname") or None
        if isinstance(address, IPv6Address):
            v6.append(
                V6Lease(
                    address, str(item.get("iaid") or ""), ends, hostname, item.get("clientid"), mac
                )
            )
            continue
        leases.append(
            Lease(
                ip=address,
                state=BindingState.ACTIVE,
                mac=mac,
                ends=ends,
                hostname=hostname,
                server=server,
            )
        )
    return LeaseFile(tuple(leases), tuple(v6))


# ---------------------------------------------------------------------------- the source


class DnsmasqLeaseSource(LeaseSource):
    """One dnsmasq server, read from its lease file, libvirt's status file or libvirt's API.

    Keep the object between reads: it remembers whether it last saw leases, so an empty
    lease file right after is taken for one being rewritten until it has settled.
    """

    # an empty file after leases were seen is re-read for this long before it is believed
    EMPTY_GRACE = 0.5

    def __init__(self, config: ServerConfig) -> None:
        if config.kind != "dnsmasq":
            raise LeasesError(f"server {config.name}: expected kind 'dnsmasq'")
        self.config = config
        self.name = config.name
        self._saw_leases = False
        self.network: LibvirtNetwork | None = None

    def read(self) -> ServerSnapshot:
        config = self.config
        warnings: list[str] = []
        ranges: list[Range] = []
        hosts: list[FixedHost] = []
        v6_ranges = 0
        if config.libvirt_network is not None:
            self.network, found = libvirt_leases(
                self.name, config.uri or "qemu:///system", config.libvirt_network
            )
            ranges.extend(self.network.ranges)
            hosts.extend(self.network.hosts)
            v6_ranges = self.network.v6_ranges
        else:
            assert config.dnsmasq_conf is not None  # config.py requires it
            conf = read_conf(config.dnsmasq_conf)
            for _where, item in conf.ranges:
                pool = v4_range(item)  # None for static, proxy and IPv6 ranges
                if pool is not None:
                    ranges.append(pool)
                elif item.v6:
                    v6_ranges += 1
            hosts.extend(conf.hosts)
            found = self.read_leases()
        warnings.extend(found.warnings)
        if found.v6 or v6_ranges:
            warnings.append(
                f"dnsmasq server {self.name!r}: {len(found.v6)} DHCPv6 lease(s) and "
                f"{v6_ranges} IPv6 range(s) read but not counted (leasewatch counts DHCPv4 only)"
            )
        return ServerSnapshot(
            server=self.name,
            kind="dnsmasq",
            ranges=tuple(ranges),
            leases=LeaseList(found.leases),
            fixed=tuple(hosts),
            warnings=tuple(warnings),
        )

    def read_leases(self) -> LeaseFile:
        """The leases alone (no config), settled: what the reaper re-reads and polls."""
        config = self.config
        if config.libvirt_network is not None:
            self.network, found = libvirt_leases(
                self.name, config.uri or "qemu:///system", config.libvirt_network
            )
            return found
        path = config.status if config.status is not None else config.leases
        assert path is not None
        parse = parse_status if config.status is not None else parse_lease_file
        found = parse(_decode(self._settled(path), path), str(path), self.name)
        self._saw_leases = bool(found.leases or found.v6)
        return found

    def _settled(self, path: Path) -> bytes:
        # Leases a moment ago and none now is most likely dnsmasq between truncating the
        # file and writing it: believe "empty" only once it has stayed so for longer.
        empty_for = self.EMPTY_GRACE if self._saw_leases else 0.1
        return read_settled(path, empty_for=empty_for, whole_lines=self.config.status is None)


def bridge_of_status(path: Path) -> str:
    """libvirt names the status file after the bridge (``virbr0.status``), not the network."""
    return path.name.removesuffix(".status")


def holders(found: LeaseFile, now: datetime) -> dict[IPv4Address, str | None]:
    """Address -> MAC of the leases active at ``now``."""
    return {lease.ip: lease.mac for lease in found.leases if lease.is_active(now)}


__all__: Sequence[str] = (
    "DhcpRange",
    "DnsmasqLeaseSource",
    "LeaseFile",
    "V6Lease",
    "parse_dhcp_range",
    "parse_lease_file",
    "parse_status",
    "read_conf",
    "read_settled",
)
