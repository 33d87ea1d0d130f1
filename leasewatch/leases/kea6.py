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

from collections.abc import Iterable, Mapping
from functools import partial
from ipaddress import IPv6Address, IPv6Network
from pathlib import Path
from typing import Any

from leasewatch.errors import LeasesError
from leasewatch.leases import kea_common
from leasewatch.leases.duid import duid_bytes, mac_of_duid
from leasewatch.leases.kea_api import KeaClient, short_json
from leasewatch.leases.kea_common import INFINITE, Memfile, maps, replay, utc
from leasewatch.model import (
    BindingState,
    FixedHost,
    Lease,
    MacSource,
    PoolKind,
    Range,
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


# -- pools, pd-pools and reservations from config-get -----------------------------------


def ranges_from_dhcp6(server: str, dhcp6: Mapping[str, Any]) -> tuple[list[Range], list[FixedHost]]:
    """Pools, pd-pools and reservations out of ``config-get``'s ``Dhcp6`` map, named as the
    v4 side names them (``kea_common.ranges_from_config``)."""
    return kea_common.ranges_from_config(server, dhcp6, 6, _reservations)


def _reservations(items: Any) -> Iterable[FixedHost]:
    """A v6 reservation names addresses and prefixes (lists), by hw-address or DUID."""
    for item in maps(items):
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
        starts=utc(cltt),
        ends=None if valid == INFINITE else utc(cltt + valid),
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


def read_leases6(client: KeaClient, page_size: int, *, duid_may_fill: bool = True) -> list[Lease]:
    """Every v6 lease, ``page_size`` at a time with ``lease6-get-page`` (``kea_common``)."""
    lease = partial(lease6_from_api, client.server, duid_may_fill=duid_may_fill)
    return kea_common.read_pages(client, 6, page_size, lease)


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
_CSV6_SAMPLE = "address,duid,valid_lifetime,expire,subnet_id,..."


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
    """Replay v6 memfile files (oldest first, as ``kea_common.memfile_paths`` orders them):
    the last row for an (address, type) wins, valid_lifetime 0 deletes."""
    memfile = Memfile(6, ("address", "duid"), _CSV6_SAMPLE, _CSV6_REQUIRED, partial(_row6, server))
    return replay(files, memfile)


def _row6(
    server: str, file: Path, number: int, col: Mapping[str, int], fields: list[str]
) -> tuple[tuple[PoolKind, int], Lease | None]:
    source_col = col.get("hwaddr_source")
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
        return key, None
    hwaddr = fields[col["hwaddr"]]
    mac = normalize_mac(hwaddr) if hwaddr else None
    return key, Lease(
        ip=ip,
        state=_state(state_code, f"{file}:{number}"),
        mac=mac,
        starts=utc(expire - valid) if valid != INFINITE else None,
        ends=None if valid == INFINITE else utc(expire),
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
