"""Kea DHCPv4: pools from ``config-get``, leases from the lease_cmds hook, or the memfile CSV.

Kea is asked through the control API client in ``leasewatch.leases.kea_api`` (``KeaClient``),
which the release backend (``leasewatch.reaper.kea``) uses too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from ipaddress import IPv4Address
from pathlib import Path
from socket import inet_aton
from typing import Any

from leasewatch.config import ServerConfig
from leasewatch.errors import LeasesError
from leasewatch.leases import kea_common, kea_ha
from leasewatch.leases.interface import LeaseSource
from leasewatch.leases.kea_api import KeaClient, short_json
from leasewatch.leases.kea_common import (
    INFINITE,
    Memfile,
    maps,
    memfile_paths,
    replay,
    utc,
)
from leasewatch.model import (
    BindingState,
    FixedHost,
    Lease,
    LeaseList,
    Range,
    ServerSnapshot,
    normalize_mac,
)

# Kea lease states (src/lib/dhcpsrv/lease.h, Lease::STATE_*) a v4 lease can be in. 3 came
# with Kea 3.0 (STATE_RELEASED: the client released it and Kea keeps the lease for its
# "anonymous" re-use); it holds no address, as dhcpd's released. 4 (registered) is v6 only.
_KEA_STATES = {
    0: BindingState.ACTIVE,  # "default": bound, active until cltt + valid-lft has passed
    1: BindingState.DECLINED,
    2: BindingState.EXPIRED,  # expired-reclaimed
    3: BindingState.RELEASED,
}
_STATES_EXPECTED = "expected 0 default, 1 declined, 2 expired-reclaimed, 3 released"


# -- pools and reservations from config-get ---------------------------------------------


def ranges_from_config(
    server: str, dhcp4: Mapping[str, Any]
) -> tuple[list[Range], list[FixedHost]]:
    """Pools and reservations out of ``config-get``'s ``Dhcp4`` map (``kea_common``)."""
    return kea_common.ranges_from_config(server, dhcp4, 4, _reservations)


def _reservations(items: Any) -> Iterable[FixedHost]:
    for item in maps(items):
        ip_text = item.get("ip-address")
        mac = normalize_mac(str(item["hw-address"])) if item.get("hw-address") else None
        try:
            ip = IPv4Address(str(ip_text)) if ip_text else None
        except ValueError:
            ip = None
        if ip is None and mac is None:
            continue  # reserves options or a hostname by client-id only: nothing to protect
        name = str(item.get("hostname") or "") or (mac or str(ip))
        yield FixedHost(name=name, mac=mac, ip=ip)


# -- leases from lease_cmds -------------------------------------------------------------


def lease_from_api(server: str, item: Mapping[str, Any]) -> Lease:
    """One entry of ``lease4-get``/``lease4-get-page`` -> Lease (cltt + valid-lft = expiry)."""
    try:
        ip = _address(str(item["ip-address"]))
        cltt = int(item["cltt"])
        valid = int(item["valid-lft"])
        state_code = int(item.get("state", 0))
        subnet_id = int(item["subnet-id"]) if "subnet-id" in item else None
    except (KeyError, TypeError, ValueError) as exc:
        raise LeasesError(
            f"kea server {server!r}: unexpected lease entry {short_json(item)}: {exc}"
        ) from None
    state = _KEA_STATES.get(state_code)
    if state is None:
        raise LeasesError(
            f"kea server {server!r}: lease {ip}: unknown Kea lease state {state_code} "
            f"({_STATES_EXPECTED})"
        )
    mac = normalize_mac(str(item["hw-address"])) if item.get("hw-address") else None
    return Lease(
        ip=ip,
        state=state,
        mac=mac,
        starts=utc(cltt),
        ends=None if valid == INFINITE else utc(cltt + valid),
        hostname=str(item.get("hostname") or "") or None,
        server=server,
        subnet_id=subnet_id,
    )


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"  # ASCII digits only
_DOTTED = re.compile(rf"(?:{_OCTET}\.){{3}}{_OCTET}")


def _address(text: str) -> IPv4Address:
    """IPv4Address(text), twice as fast for the dotted quad Kea sends (bench/kea.py)."""
    if _DOTTED.fullmatch(text):
        return IPv4Address(int.from_bytes(inet_aton(text)))
    return IPv4Address(text)


def read_leases(client: KeaClient, page_size: int) -> list[Lease]:
    """Every lease, ``page_size`` at a time with ``lease4-get-page`` (``kea_common``)."""
    return kea_common.read_pages(client, 4, page_size, partial(lease_from_api, client.server))


# -- the memfile CSV --------------------------------------------------------------------

# The columns of Kea's v4 memfile (src/lib/dhcpsrv/csv_lease_file4.cc) leasewatch reads, by
# name: Kea has added columns over time (user_context in 1.4, pool_id in 2.4) and a file
# written by another release may carry ones we do not know; those are ignored.
_CSV_REQUIRED = ("address", "hwaddr", "valid_lifetime", "expire", "subnet_id", "hostname", "state")
_CSV_SAMPLE = "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,..."


def read_memfile(path: Path, server: str) -> tuple[list[Lease], list[str]]:
    """Replay the v4 memfile lease files as Kea does at start-up (``kea_common.replay``);
    return leases and warnings."""
    if not path.exists():
        raise LeasesError(f"{path}: Kea lease file not found")
    memfile = Memfile(4, ("address",), _CSV_SAMPLE, _CSV_REQUIRED, partial(_row, server))
    return replay(memfile_paths(path), memfile)


def _row(
    server: str, file: Path, number: int, col: Mapping[str, int], fields: list[str]
) -> tuple[IPv4Address, Lease | None]:
    try:
        ip = IPv4Address(fields[col["address"]])
        valid = int(fields[col["valid_lifetime"]])
        expire = int(fields[col["expire"]])
        subnet_id = int(fields[col["subnet_id"]])
        state_code = int(fields[col["state"]] or 0)
    except ValueError as exc:
        raise LeasesError(f"{file}:{number}: {exc}") from None
    if valid == 0:
        return ip, None
    state = _KEA_STATES.get(state_code)
    if state is None:
        raise LeasesError(f"{file}:{number}: unknown lease state {state_code} ({_STATES_EXPECTED})")
    hwaddr = fields[col["hwaddr"]]
    # Kea escapes commas inside a field as "&#x2c" (util/csv_file.cc, escapeCharacters).
    hostname = fields[col["hostname"]].replace("&#x2c", ",")
    return ip, Lease(
        ip=ip,
        state=state,
        mac=normalize_mac(hwaddr) if hwaddr else None,
        starts=utc(expire - valid) if valid != INFINITE else None,
        ends=None if valid == INFINITE else utc(expire),
        hostname=hostname or None,
        server=server,
        subnet_id=subnet_id,
    )


# -- the lease source -------------------------------------------------------------------


class KeaLeaseSource(LeaseSource):
    """A Kea server (kea-dhcp4, or kea-dhcp6 through ``leasewatch.leases.kea6``), read live
    (its control socket or control_url) or offline from its memfile CSV."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.name = config.name

    def read(self) -> ServerSnapshot:
        from leasewatch.leases import kea6  # DHCPv6 lives in a module of its own

        path = self.config.leases
        if path is not None:
            if kea6.is_v6_memfile(path):
                leases, warnings = kea6.read_memfile6(memfile_paths(path), self.name)
            else:
                leases, warnings = read_memfile(path, self.name)
            return kea_common.offline_snapshot(self.name, path, leases, warnings)
        client = KeaClient.from_config(self.config)
        try:
            service, daemon = client.daemon_config()
            read: Callable[[KeaClient, int], list[Lease]] = read_leases
            if service == "dhcp6":
                ranges, fixed = kea6.ranges_from_dhcp6(self.name, daemon)
                read = partial(kea6.read_leases6, duid_may_fill=kea6.duid_may_fill_mac(daemon))
            else:
                ranges, fixed = ranges_from_config(self.name, daemon)
            # the live HA state first: leases read after it are at least as new
            pairing = kea_ha.pairing(client, daemon)
            leases = read(client, self.config.page_size)
        finally:
            client.close()
        return ServerSnapshot(
            server=self.name,
            kind="kea",
            ranges=tuple(ranges),
            leases=LeaseList(leases),
            fixed=tuple(fixed),
            pairing=pairing,
        )
