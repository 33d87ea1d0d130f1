"""Kea DHCPv6: pools and pd-pools from ``config-get``'s ``Dhcp6``, leases from
``lease6-get-page``, or the memfile ``kea-leases6.csv`` (report only).

A ``kind = "kea"`` server is v6 when ``config-get`` answers a ``Dhcp6`` map (its control
socket is kea-dhcp6's), or when its lease file has the v6 header; ``leasewatch.leases.kea``
hands such a server over to this module. Measured on Kea 2.2: ``config-get`` writes a pool
that is a whole prefix as ``prefix/len`` and any other as ``a-b``; ``lease6-get-page`` pages
through IA_NA and IA_PD leases together in address order and names each lease's ``type``;
a delegated prefix carries ``prefix-len``. https://kea.readthedocs.io/en/kea-2.2.0/arm/hooks.html
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from ipaddress import IPv6Address, IPv6Network
from pathlib import Path
from typing import Any

from leasewatch.errors import LeasesError
from leasewatch.leases import kea_ha
from leasewatch.leases.duid import duid_bytes, mac_of_duid
from leasewatch.leases.kea_api import RESULT_EMPTY, KeaClient, short_json
from leasewatch.model import (
    BindingState,
    FixedHost,
    Lease,
    LeaseList,
    MacSource,
    PoolKind,
    Range,
    ServerSnapshot,
    normalize_mac,
)

# Kea lease states (src/lib/dhcpsrv/lease.h, Lease::STATE_*). 3 is "released" (Kea 3.0:
# the client released it, Kea keeps the lease for its return; it holds no address, as in
# v4) and 4 "registered" (Kea 3.0, RFC 9686: an address the client made itself and
# registered: in use).
_STATES = {
    0: BindingState.ACTIVE,
    1: BindingState.DECLINED,
    2: BindingState.EXPIRED,
    3: BindingState.RELEASED,
    4: BindingState.ACTIVE,
}
# lease6-get-page's "type"; the memfile's lease_type column (Lease::Type: 0 NA, 1 TA, 2 PD)
_TYPES = {"IA_NA": PoolKind.ADDRESS, "IA_TA": PoolKind.TEMPORARY, "IA_PD": PoolKind.PREFIX}
_TYPE_CODES = {0: PoolKind.ADDRESS, 1: PoolKind.TEMPORARY, 2: PoolKind.PREFIX}
TYPE_NAMES = {kind: name for name, kind in _TYPES.items()}  # what lease6-del wants
# The memfile's hwaddr_source (src/lib/dhcp/hwaddr.h, HWADDR_SOURCE_*): 2 means Kea took the
# MAC out of the client's DUID, which a clone shares with its template: weak evidence.
_HWADDR_SOURCE_DUID = 0x0002
# mac-sources names under which Kea may take a MAC out of the DUID ("any", Kea's default,
# tries every source in turn). Measured on Kea 2.2: with ["ipv6-link-local", "duid"], a
# directly attached client whose MAC is locally administered (libvirt's 52:54:00, any random
# MAC) gets its hw-address from the DUID, because Kea reads a MAC out of an EUI-64
# link-local address only when its universal/local bit says universal (Pkt::getMACFromIPv6):
# a clone's lease then carries its template's MAC.
_DUID_SOURCES = frozenset({"any", "duid"})
_INFINITE = 0xFFFFFFFF  # valid-lft: Kea's "infinite" lifetime


# -- pools, pd-pools and reservations from config-get -----------------------------------


def parse_pool6(text: str, subnet: IPv6Network) -> tuple[IPv6Address, IPv6Address]:
    """``a-b`` (or ``a - b``) or ``prefix/len`` -> (first, last), inside ``subnet``."""
    text = text.strip()
    if "/" in text:
        net = ipaddress.ip_network(text, strict=False)
        if not isinstance(net, IPv6Network):
            raise ValueError(f"expected an IPv6 prefix, got {text!r}")
        if not net.subnet_of(subnet):
            raise ValueError(f"pool {text!r} is not inside subnet {subnet}")
        return net.network_address, net.broadcast_address
    first_text, sep, last_text = text.partition("-")
    if not sep:
        raise ValueError(f"expected 'first - last' or a prefix, got {text!r}")
    first, last = IPv6Address(first_text.strip()), IPv6Address(last_text.strip())
    if last < first:
        raise ValueError(f"pool {text!r} ends before it starts")
    if first not in subnet or last not in subnet:
        raise ValueError(f"pool {text!r} is not inside subnet {subnet}")
    return first, last


def pd_pool(item: Mapping[str, Any]) -> tuple[IPv6Network, int]:
    """A ``pd-pools`` entry -> (its prefix, the delegated length); ValueError if malformed."""
    try:
        prefix = IPv6Network(f"{item['prefix']}/{int(item['prefix-len'])}")
        delegated = int(item["delegated-len"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(
            f"pd-pool {short_json(item)}: expected prefix, prefix-len, delegated-len ({exc})"
        ) from None
    if not prefix.prefixlen <= delegated <= 128:
        raise ValueError(
            f"pd-pool {prefix}: delegated-len {delegated} must lie from {prefix.prefixlen} to 128"
        )
    return prefix, delegated


def ranges_from_dhcp6(server: str, dhcp6: Mapping[str, Any]) -> tuple[list[Range], list[FixedHost]]:
    """Pools, pd-pools and reservations out of ``config-get``'s ``Dhcp6`` map, named as the
    v4 side names them (a shared network by its name, a lone subnet by its CIDR)."""
    ranges: list[Range] = []
    fixed: list[FixedHost] = []
    groups: list[tuple[str | None, Any]] = [(None, dhcp6.get("subnet6", []))]
    for shared in _list(dhcp6.get("shared-networks", [])):
        groups.append((str(shared.get("name", "")), shared.get("subnet6", [])))
    for network_name, subnets in groups:
        for subnet_map in _list(subnets):
            try:
                subnet = IPv6Network(str(subnet_map["subnet"]), strict=False)
            except (KeyError, ValueError) as exc:
                raise LeasesError(
                    f"kea server {server!r}: config-get: subnet6 entry without a valid "
                    f"'subnet': {short_json(subnet_map)} ({exc})"
                ) from None
            name = network_name or str(subnet)
            try:
                for pool in _list(subnet_map.get("pools", [])):
                    first, last = parse_pool6(str(pool.get("pool", "")), subnet)
                    ranges.append(Range(first, last, subnet, name))
                for item in _list(subnet_map.get("pd-pools", [])):
                    prefix, delegated = pd_pool(item)
                    ranges.append(
                        Range(
                            prefix.network_address,
                            prefix.broadcast_address,
                            subnet,
                            name,
                            PoolKind.PREFIX,
                            delegated,
                        )
                    )
            except ValueError as exc:
                raise LeasesError(
                    f"kea server {server!r}: config-get: subnet {subnet}: {exc}"
                ) from None
            fixed.extend(_reservations(subnet_map.get("reservations", [])))
    fixed.extend(_reservations(dhcp6.get("reservations", [])))
    return ranges, fixed


def _reservations(items: Any) -> Iterable[FixedHost]:
    """A v6 reservation names addresses and prefixes (lists), by hw-address or DUID."""
    for item in _list(items):
        mac = normalize_mac(str(item["hw-address"])) if item.get("hw-address") else None
        name = str(item.get("hostname") or "") or mac or str(item.get("duid") or "")
        held = [*_strings(item.get("ip-addresses")), *_strings(item.get("prefixes"))]
        addresses = []
        for text in held:
            try:
                addresses.append(IPv6Network(text, strict=False).network_address)
            except ValueError:
                continue
        for ip in addresses:
            yield FixedHost(name=name or str(ip), mac=mac, ip=ip)
        if not addresses and mac is not None:
            yield FixedHost(name=name, mac=mac, ip=None)


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _list(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


# -- leases from lease_cmds -------------------------------------------------------------


def duid_may_fill_mac(dhcp6: Mapping[str, Any]) -> bool:
    """Whether kea-dhcp6's ``mac-sources`` (default ``any``) let it take a MAC from a DUID."""
    sources = dhcp6.get("mac-sources", ["any"])
    names = {str(s).lower() for s in sources} if isinstance(sources, list) else {"any"}
    return bool(names & _DUID_SOURCES) or not names


def mac_source(mac: str | None, duid: str | None, duid_may_fill: bool) -> MacSource:
    """How far a Kea v6 lease's hw-address may be trusted: the API does not say which
    mac-source filled it, so one equal to the MAC inside the client's own DUID may have come
    from there (weak), unless the server's mac-sources exclude the DUID. One that differs, or
    beside a DUID holding no MAC, came from the wire (a link-local address, a relay)."""
    if mac is None or duid is None or not duid_may_fill:
        return MacSource.HARDWARE
    raw = duid_bytes(duid)
    inside = None if raw is None else mac_of_duid(raw)
    return MacSource.DUID if inside == mac else MacSource.HARDWARE


def lease6_from_api(server: str, item: Mapping[str, Any], *, duid_may_fill: bool = True) -> Lease:
    """One entry of ``lease6-get``/``lease6-get-page`` -> Lease (cltt + valid-lft = expiry);
    ``duid_may_fill``: the server's mac-sources include the DUID (``duid_may_fill_mac``)."""
    try:
        ip = IPv6Address(str(item["ip-address"]))
        cltt = int(item["cltt"])
        valid = int(item["valid-lft"])
        state_code = int(item.get("state", 0))
        kind = _TYPES[str(item.get("type", "IA_NA"))]
        prefix_len = int(item.get("prefix-len", 128))
        iaid = int(item["iaid"]) if "iaid" in item else None
        subnet_id = int(item["subnet-id"]) if "subnet-id" in item else None
    except (KeyError, TypeError, ValueError) as exc:
        raise LeasesError(
            f"kea server {server!r}: unexpected lease6 entry {short_json(item)}: {exc}"
        ) from None
    state = _state(state_code, f"kea server {server!r}: lease {ip}")
    mac = normalize_mac(str(item["hw-address"])) if item.get("hw-address") else None
    duid = str(item.get("duid") or "") or None
    return Lease(
        ip=ip,
        state=state,
        mac=mac,
        starts=_utc(cltt),
        ends=None if valid == _INFINITE else _utc(cltt + valid),
        hostname=str(item.get("hostname") or "") or None,
        server=server,
        subnet_id=subnet_id,
        kind=kind,
        prefix_len=prefix_len if kind is PoolKind.PREFIX else None,
        duid=duid,
        iaid=iaid,
        mac_source=mac_source(mac, duid, duid_may_fill),
        mac_unreadable=mac is None and bool(item.get("hw-address")),
    )


def _state(code: int, where: str) -> BindingState:
    state = _STATES.get(code)
    if state is None:
        raise LeasesError(
            f"{where}: unknown Kea lease state {code} "
            "(expected 0 default, 1 declined, 2 expired-reclaimed, 3 released, 4 registered)"
        )
    return state


def _utc(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def read_leases6(client: KeaClient, page_size: int, *, duid_may_fill: bool = True) -> list[Lease]:
    """Every v6 lease, ``page_size`` at a time with ``lease6-get-page`` (as the v4 paging:
    from "start", then from the last address returned, until a short page or result 3)."""
    leases: list[Lease] = []
    start = "start"
    last: int | None = None
    while True:
        answer = client.call("lease6-get-page", {"from": start, "limit": page_size})
        if answer.result == RESULT_EMPTY:
            break
        args = answer.arguments if isinstance(answer.arguments, Mapping) else {}
        page = [
            lease6_from_api(client.server, item, duid_may_fill=duid_may_fill)
            for item in _list(args.get("leases"))
        ]
        leases.extend(page)
        if len(page) < page_size or not page:
            break
        if last is not None and int(page[-1].ip) <= last:
            raise client.error(
                f"kea server {client.server!r}: lease6-get-page: paging did not advance "
                f"past {IPv6Address(last)}"
            )
        last = int(page[-1].ip)
        start = str(page[-1].ip)
    return leases


def snapshot(client: KeaClient, dhcp6: Mapping[str, Any], page_size: int) -> ServerSnapshot:
    """A kea-dhcp6 server read through its API, once ``config-get`` answered ``Dhcp6``."""
    ranges, fixed = ranges_from_dhcp6(client.server, dhcp6)
    pairing = kea_ha.pairing(client, dhcp6)
    leases = read_leases6(client, page_size, duid_may_fill=duid_may_fill_mac(dhcp6))
    return ServerSnapshot(
        server=client.server,
        kind="kea",
        ranges=tuple(ranges),
        leases=LeaseList(leases),
        fixed=tuple(fixed),
        pairing=pairing,
    )


# -- the memfile CSV --------------------------------------------------------------------

# The columns of Kea's v6 memfile (src/lib/dhcpsrv/csv_lease_file6.cc), read by name: later
# versions add columns (pool_id in 2.5) and move none of these.
_CSV6_REQUIRED = (
    "address",
    "duid",
    "valid_lifetime",
    "expire",
    "subnet_id",
    "lease_type",
    "iaid",
    "prefix_len",
    "hostname",
    "hwaddr",
    "state",
)


def is_v6_memfile(path: Path) -> bool:
    """Whether ``path`` starts with a v6 memfile header (``address,duid,...``)."""
    try:
        with path.open(encoding="utf-8", errors="replace") as f:
            head = f.readline()
    except OSError:
        return False
    columns = [c.strip() for c in head.split(",")]
    return columns[:2] == ["address", "duid"]


def read_memfile6(files: Iterable[Path], server: str) -> tuple[list[Lease], list[str]]:
    """Replay v6 memfile files (oldest first, as ``leasewatch.leases.kea.memfile_paths``
    orders them): the last row for an (address, type) wins, valid_lifetime 0 deletes."""
    current: dict[tuple[PoolKind, int], Lease] = {}
    warnings: list[str] = []
    for file in files:
        _replay6(file, server, current, warnings)
    return sorted(current.values(), key=lambda lease: int(lease.ip)), warnings


def _replay6(
    file: Path, server: str, current: dict[tuple[PoolKind, int], Lease], warnings: list[str]
) -> None:
    try:
        text = file.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise LeasesError(f"{file}: cannot read Kea lease file: {exc.strerror}") from None
    lines = text.split("\n")
    if not lines[0].strip():
        return
    header = [h.strip() for h in lines[0].split(",")]
    missing = [c for c in _CSV6_REQUIRED if c not in header]
    if header[:2] != ["address", "duid"] or missing:
        raise LeasesError(
            f"{file}:1: expected a Kea DHCPv6 lease file header "
            f"'address,duid,valid_lifetime,expire,subnet_id,...', got {lines[0][:80]!r}"
        )
    col = {name: index for index, name in enumerate(header)}
    source_col = col.get("hwaddr_source")
    unterminated = not text.endswith("\n")
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split(",")
        if len(fields) != len(header):
            if number == len(lines) and unterminated:
                warnings.append(f"{file}:{number}: incomplete last row ignored")
                continue
            raise LeasesError(
                f"{file}:{number}: expected {len(header)} comma-separated fields "
                f"({','.join(header)}), got {len(fields)}"
            )
        try:
            ip = IPv6Address(fields[col["address"]])
            valid = int(fields[col["valid_lifetime"]])
            expire = int(fields[col["expire"]])
            kind = _TYPE_CODES[int(fields[col["lease_type"]])]
            prefix_len = int(fields[col["prefix_len"]] or 128)
            iaid = int(fields[col["iaid"]] or 0)
            subnet_id = int(fields[col["subnet_id"]])
            state_code = int(fields[col["state"]] or 0)
            source = int(fields[source_col] or 0) if source_col is not None else 0
        except (KeyError, ValueError) as exc:
            raise LeasesError(
                f"{file}:{number}: expected numbers in valid_lifetime, expire, lease_type "
                f"(0, 1 or 2), prefix_len, iaid, subnet_id, state: {exc}"
            ) from None
        key = (kind, int(ip))
        if valid == 0:
            current.pop(key, None)  # Kea writes a row with valid_lifetime 0 when it deletes
            continue
        hwaddr = fields[col["hwaddr"]]
        mac = normalize_mac(hwaddr) if hwaddr else None
        current[key] = Lease(
            ip=ip,
            state=_state(state_code, f"{file}:{number}"),
            mac=mac,
            starts=_utc(expire - valid) if valid != _INFINITE else None,
            ends=None if valid == _INFINITE else _utc(expire),
            hostname=fields[col["hostname"]].replace("&#x2c", ",") or None,
            server=server,
            subnet_id=subnet_id,
            kind=kind,
            prefix_len=prefix_len if kind is PoolKind.PREFIX else None,
            duid=fields[col["duid"]] or None,
            iaid=iaid,
            mac_source=MacSource.DUID if source == _HWADDR_SOURCE_DUID else MacSource.HARDWARE,
            mac_unreadable=mac is None and bool(hwaddr),
        )


def memfile_snapshot(server: str, files: Iterable[Path]) -> ServerSnapshot:
    """kea-leases6.csv read offline: leases only (the pools live in the server's config), so
    the snapshot is for reports, never for releases."""
    files = list(files)
    leases, warnings = read_memfile6(files, server)
    warnings.append(
        f"{files[-1]}: offline Kea lease file: no pools or reservations (they live in the "
        "server's config; use control_socket or control_url for utilization and releases); "
        "report only"
    )
    return ServerSnapshot(
        server=server,
        kind="kea",
        leases=LeaseList(leases),
        complete=False,
        warnings=tuple(warnings),
    )
