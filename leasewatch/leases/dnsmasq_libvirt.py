"""libvirt's view of a network's dnsmasq: the leases helper's ``<bridge>.status`` file, the
network XML, and ``virNetworkGetDHCPLeases`` (libvirt-python, an optional extra)."""

from __future__ import annotations

import importlib
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address
from types import ModuleType
from typing import Any

from leasewatch.errors import LeasesError
from leasewatch.leases.dnsmasq_leases import LeaseFile, V6Lease, clip, expiry
from leasewatch.model import BindingState, FixedHost, Lease, Range, normalize_mac


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
    server_duid: str | None = None
    warnings: list[str] = []
    for index, item in enumerate(data):
        where = f"{path}: entry {index + 1}"
        if not isinstance(item, dict):
            warnings.append(f"{where}: skipped: expected an object, got {clip(repr(item))}")
            continue
        try:
            address = ip_address(str(item["ip-address"]))
            expiry_time = item.get("expiry-time")
            ends = None if expiry_time is None else expiry(str(int(expiry_time)))
        except (KeyError, ValueError, TypeError, OverflowError, OSError):
            warnings.append(f"{where}: skipped: no valid ip-address or expiry-time")
            continue
        raw_mac = item.get("mac-address")
        mac = normalize_mac(raw_mac) if isinstance(raw_mac, str) else None
        hostname = item.get("hostname") if isinstance(item.get("hostname"), str) else None
        if isinstance(address, IPv6Address):
            client = item.get("client-id")
            theirs = item.get("server-duid")  # the helper copies dnsmasq's DUID into each
            if isinstance(theirs, str) and server_duid is None:
                server_duid = theirs
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
            mac_unreadable=mac is None and raw_mac is not None,
        )
    return LeaseFile(tuple(leases.values()), tuple(v6.values()), server_duid, tuple(warnings))


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
        if family == "ipv6":
            v6 += len(dhcp.findall("range"))
            ranges.extend(_v6_ranges(ip_el, dhcp, name))
            continue
        if family != "ipv4":
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


def _v6_ranges(ip_el: ET.Element, dhcp: ET.Element, name: str) -> list[Range]:
    """The DHCPv6 ranges of an ``<ip family='ipv6' address=... prefix=...>`` element."""
    try:
        address = IPv6Address(ip_el.get("address", ""))
        subnet = IPv6Network(f"{address}/{ip_el.get('prefix', '64')}", strict=False)
        return [
            Range(
                IPv6Address(r.get("start", "")), IPv6Address(r.get("end", "")), subnet, str(subnet)
            )
            for r in dhcp.findall("range")
        ]
    except ValueError as exc:
        raise LeasesError(
            f"libvirt network {name!r}: bad IPv6 <ip>/<dhcp> element: {exc}"
        ) from None


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
        ends = expiry(str(int(item.get("expirytime") or 0)))
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
