"""Kea DHCPv4: pools from ``config-get``, leases from the lease_cmds hook, or the memfile CSV.

Kea is asked through the control API client in ``leasewatch.leases.kea_api`` (``KeaClient``),
which the release backend (``leasewatch.reaper.kea``) uses too.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from socket import inet_aton
from typing import TYPE_CHECKING, Any

from leasewatch.config import ServerConfig
from leasewatch.errors import LeasesError
from leasewatch.leases import kea_ha
from leasewatch.leases.interface import LeaseSource
from leasewatch.leases.kea_api import RESULT_EMPTY, KeaClient, short_json
from leasewatch.model import (
    Address,
    BindingState,
    FixedHost,
    Lease,
    LeaseList,
    Range,
    ServerSnapshot,
    normalize_mac,
)

if TYPE_CHECKING:
    pass

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

# valid-lft of 0xffffffff is Kea's "infinite" lifetime.
_INFINITE = 0xFFFFFFFF


# -- pools and reservations from config-get ---------------------------------------------


def parse_pool(text: str, subnet: IPv4Network) -> tuple[IPv4Address, IPv4Address]:
    """``"a - b"`` (Kea prints ``a-b``) or a CIDR prefix (every address in it) -> (first, last)."""
    text = text.strip()
    if "/" in text:
        net = ipaddress.ip_network(text, strict=False)
        if not isinstance(net, IPv4Network):
            raise ValueError(f"expected an IPv4 prefix, got {text!r}")
        if not net.subnet_of(subnet):
            raise ValueError(f"pool {text!r} is not inside subnet {subnet}")
        return net.network_address, net.broadcast_address
    first_text, sep, last_text = text.partition("-")
    if not sep:
        raise ValueError(f"expected 'first - last' or a prefix, got {text!r}")
    first, last = IPv4Address(first_text.strip()), IPv4Address(last_text.strip())
    if last < first:
        raise ValueError(f"pool {text!r} ends before it starts")
    if first not in subnet or last not in subnet:
        raise ValueError(f"pool {text!r} is not inside subnet {subnet}")
    return first, last


def ranges_from_config(
    server: str, dhcp4: Mapping[str, Any]
) -> tuple[list[Range], list[FixedHost]]:
    """Pools and reservations out of ``config-get``'s ``Dhcp4`` map.

    A subnet inside a shared network belongs to the network named after it; a lone subnet is
    its own network, named by its CIDR (as the ISC side names a subnet outside any
    shared-network).
    """
    ranges: list[Range] = []
    fixed: list[FixedHost] = []
    groups: list[tuple[str | None, Any]] = [(None, dhcp4.get("subnet4", []))]
    for shared in _list(dhcp4.get("shared-networks", [])):
        groups.append((str(shared.get("name", "")), shared.get("subnet4", [])))
    for network_name, subnets in groups:
        for subnet_map in _list(subnets):
            try:
                subnet = IPv4Network(str(subnet_map["subnet"]), strict=False)
            except (KeyError, ValueError) as exc:
                raise LeasesError(
                    f"kea server {server!r}: config-get: subnet4 entry without a valid "
                    f"'subnet': {short_json(subnet_map)} ({exc})"
                ) from None
            name = network_name or str(subnet)
            for pool in _list(subnet_map.get("pools", [])):
                try:
                    first, last = parse_pool(str(pool.get("pool", "")), subnet)
                except ValueError as exc:
                    raise LeasesError(
                        f"kea server {server!r}: config-get: subnet {subnet}: {exc}"
                    ) from None
                ranges.append(Range(first=first, last=last, subnet=subnet, network=name))
            fixed.extend(_reservations(subnet_map.get("reservations", [])))
    fixed.extend(_reservations(dhcp4.get("reservations", [])))  # global reservations
    return ranges, fixed


def _reservations(items: Any) -> Iterable[FixedHost]:
    for item in _list(items):
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


def _list(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


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
        starts=_utc(cltt),
        ends=None if valid == _INFINITE else _utc(cltt + valid),
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


def _utc(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def read_leases(client: KeaClient, page_size: int) -> list[Lease]:
    """Every lease, ``page_size`` at a time with ``lease4-get-page`` (never all in one answer).

    The first page starts "from": "start"; each next one from the last address returned,
    until a page is short or Kea answers result 3 ("0 IPv4 lease(s) found").
    """
    leases: list[Lease] = []
    start: str = "start"
    last_ip: Address | None = None
    while True:
        answer = client.call("lease4-get-page", {"from": start, "limit": page_size})
        if answer.result == RESULT_EMPTY:
            break
        args = answer.arguments if isinstance(answer.arguments, Mapping) else {}
        items = _list(args.get("leases"))
        page = [lease_from_api(client.server, item) for item in items]
        leases.extend(page)
        if len(page) < page_size or not page:
            break
        if last_ip is not None and int(page[-1].ip) <= int(last_ip):
            raise client.error(
                f"kea server {client.server!r}: lease4-get-page: paging did not advance "
                f"past {last_ip}"
            )
        last_ip = page[-1].ip
        start = str(last_ip)
    return leases


# -- the memfile CSV --------------------------------------------------------------------

# The columns of Kea's v4 memfile (src/lib/dhcpsrv/csv_lease_file4.cc) leasewatch reads, by
# name: Kea has added columns over time (user_context in 1.4, pool_id in 2.4) and a file
# written by another release may carry ones we do not know; those are ignored.
_CSV_REQUIRED = ("address", "hwaddr", "valid_lifetime", "expire", "subnet_id", "hostname", "state")


def memfile_paths(path: Path) -> list[Path]:
    """The files Kea itself loads at start-up, oldest first (see ``read_memfile``)."""
    completed = Path(f"{path}.completed")
    if completed.exists():
        older = [completed]
    else:
        older = [p for p in (Path(f"{path}.2"), Path(f"{path}.1")) if p.exists()]
    return [*older, path]


def read_memfile(path: Path, server: str) -> tuple[list[Lease], list[str]]:
    """Replay the memfile lease files as Kea does at start-up; return leases and warnings.

    The memfile is an append-only journal: every change appends a row, the last row for an
    address wins, and a row with valid_lifetime 0 means the lease was deleted. Kea's Lease
    File Cleanup (kea-lfc) periodically moves the file to ``<file>.1``, compacts ``.2`` +
    ``.1`` into ``<file>.completed`` and then renames that to ``<file>.2``. At start-up Kea
    reads ``<file>.completed`` if it exists, else ``<file>.2`` then ``<file>.1``, and always
    ``<file>`` last (Memfile_LeaseMgr::loadLeasesFromFiles in src/lib/dhcpsrv/
    memfile_lease_mgr.cc; the ARM's "The LFC Process"). Reading only ``<file>`` right after
    an LFC run would miss every lease not renewed since.
    """
    current: dict[IPv4Address, Lease] = {}
    warnings: list[str] = []
    if not path.exists():
        raise LeasesError(f"{path}: Kea lease file not found")
    for file in memfile_paths(path):
        _replay(file, server, current, warnings)
    return sorted(current.values(), key=lambda lease: lease.ip), warnings


def _replay(
    file: Path, server: str, current: dict[IPv4Address, Lease], warnings: list[str]
) -> None:
    try:
        text = file.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise LeasesError(f"{file}: cannot read Kea lease file: {exc.strerror}") from None
    lines = text.split("\n")
    unterminated = not text.endswith("\n")
    if not lines or not lines[0].strip():
        return  # an empty file: Kea creates it with just a header, or not at all yet
    header = [h.strip() for h in lines[0].split(",")]
    missing = [c for c in _CSV_REQUIRED if c not in header]
    if header[0] != "address" or "duid" in header:  # a DHCPv6 file has a duid column
        raise LeasesError(
            f"{file}:1: expected a Kea DHCPv4 lease file header "
            f"'address,hwaddr,client_id,valid_lifetime,expire,subnet_id,...', got {lines[0][:80]!r}"
        )
    if missing:
        raise LeasesError(
            f"{file}:1: Kea lease file header lacks the column(s) {', '.join(missing)} "
            f"(expected at least {','.join(_CSV_REQUIRED)})"
        )
    col = {name: index for index, name in enumerate(header)}
    last_line = len(lines)
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split(",")
        if len(fields) != len(header):
            if number == last_line and unterminated:
                # Kea was writing this row when the file was read (or crashed mid-write).
                warnings.append(f"{file}:{number}: incomplete last row ignored")
                continue
            raise LeasesError(
                f"{file}:{number}: expected {len(header)} comma-separated fields "
                f"({','.join(header)}), got {len(fields)}"
            )
        try:
            ip = IPv4Address(fields[col["address"]])
            valid = int(fields[col["valid_lifetime"]])
            expire = int(fields[col["expire"]])
            subnet_id = int(fields[col["subnet_id"]])
            state_code = int(fields[col["state"]] or 0)
        except ValueError as exc:
            raise LeasesError(f"{file}:{number}: {exc}") from None
        if valid == 0:
            current.pop(ip, None)  # Kea writes a row with valid_lifetime 0 when it deletes
            continue
        state = _KEA_STATES.get(state_code)
        if state is None:
            raise LeasesError(
                f"{file}:{number}: unknown lease state {state_code} ({_STATES_EXPECTED})"
            )
        hwaddr = fields[col["hwaddr"]]
        # Kea escapes commas inside a field as "&#x2c" (util/csv_file.cc, escapeCharacters).
        hostname = fields[col["hostname"]].replace("&#x2c", ",")
        current[ip] = Lease(
            ip=ip,
            state=state,
            mac=normalize_mac(hwaddr) if hwaddr else None,
            starts=_utc(expire - valid) if valid != _INFINITE else None,
            ends=None if valid == _INFINITE else _utc(expire),
            hostname=hostname or None,
            server=server,
            subnet_id=subnet_id,
        )


# -- the lease source -------------------------------------------------------------------


class KeaLeaseSource(LeaseSource):
    """A Kea DHCPv4 server, read live (socket or agent) or offline from its memfile CSV."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.name = config.name

    def read(self) -> ServerSnapshot:
        from leasewatch.leases import kea6  # DHCPv6 lives in a module of its own

        if self.config.leases is not None:
            if kea6.is_v6_memfile(self.config.leases):
                return kea6.memfile_snapshot(self.name, memfile_paths(self.config.leases))
            return self._read_memfile(self.config.leases)
        client = KeaClient.from_config(self.config)
        try:
            service, daemon = client.daemon_config()
            if service == "dhcp6":
                return kea6.snapshot(client, daemon, self.config.page_size)
            ranges, fixed = ranges_from_config(self.name, daemon)
            pairing = kea_ha.pairing(client, daemon)
            leases = read_leases(client, self.config.page_size)
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

    def _read_memfile(self, path: Path) -> ServerSnapshot:
        leases, warnings = read_memfile(path, self.name)
        # The CSV holds leases only: no pools, no reservations. Such a snapshot is for
        # reports (lease lists, orphans by MAC), never for releases, so it is marked
        # incomplete and the reaper leaves it alone.
        warnings.append(
            f"{path}: offline Kea lease file: no pools or reservations (they live in the "
            "server's config; use control_socket or control_url for utilization and "
            "releases); report only"
        )
        return ServerSnapshot(
            server=self.name,
            kind="kea",
            leases=LeaseList(leases),
            complete=False,
            warnings=tuple(warnings),
        )
