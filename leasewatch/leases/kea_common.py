"""What Kea's two families share: pools out of ``config-get``, paging through
``lease4-get-page`` / ``lease6-get-page``, and replaying the memfile journal.

``leasewatch.leases.kea`` (DHCPv4) and ``leasewatch.leases.kea6`` (DHCPv6) hand in what
differs: the reservations of a subnet, a lease entry of the API, a row of the CSV. The
family is the subnet's (or the server's) IP version, 4 or 6.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from pathlib import Path
from typing import Any

from leasewatch.errors import LeasesError
from leasewatch.leases.kea_api import RESULT_EMPTY, KeaClient, short_json
from leasewatch.model import Address, FixedHost, Lease, LeaseList, PoolKind, Range, ServerSnapshot

Network = IPv4Network | IPv6Network

INFINITE = 0xFFFFFFFF  # valid-lft / valid_lifetime: Kea's "infinite" lifetime

_ADDRESS: dict[int, type[IPv4Address] | type[IPv6Address]] = {4: IPv4Address, 6: IPv6Address}
_NETWORK: dict[int, type[IPv4Network] | type[IPv6Network]] = {4: IPv4Network, 6: IPv6Network}


def maps(value: Any) -> list[Mapping[str, Any]]:
    """The maps in a JSON list (anything else: none)."""
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def utc(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


# -- pools from config-get ----------------------------------------------------------------


def parse_pool(text: str, subnet: Network) -> tuple[Address, Address]:
    """``"a - b"`` (Kea prints ``a-b``) or a prefix (every address in it) -> (first, last),
    both of the subnet's family and inside it; ValueError otherwise."""
    family = subnet.version
    text = text.strip()
    if "/" in text:
        net = ipaddress.ip_network(text, strict=False)
        if net.version != family:
            raise ValueError(f"expected an IPv{family} prefix, got {text!r}")
        if not net.subnet_of(subnet):  # type: ignore[arg-type]  # same family, checked above
            raise ValueError(f"pool {text!r} is not inside subnet {subnet}")
        return net.network_address, net.broadcast_address
    first_text, sep, last_text = text.partition("-")
    if not sep:
        raise ValueError(f"expected 'first - last' or a prefix, got {text!r}")
    address = _ADDRESS[family]
    first, last = address(first_text.strip()), address(last_text.strip())
    if last < first:  # type: ignore[operator]  # one family
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


def ranges_from_config(
    server: str,
    daemon: Mapping[str, Any],
    family: int,
    reservations: Callable[[Any], Iterable[FixedHost]],
) -> tuple[list[Range], list[FixedHost]]:
    """Pools (and, for DHCPv6, pd-pools) and reservations out of ``config-get``'s ``Dhcp4``
    or ``Dhcp6`` map.

    A subnet inside a shared network belongs to the network named after it; a lone subnet is
    its own network, named by its CIDR (as the ISC side names a subnet outside any
    shared-network). ``reservations`` reads a list of the family's reservations.
    """
    key = f"subnet{family}"
    ranges: list[Range] = []
    fixed: list[FixedHost] = []
    groups: list[tuple[str | None, Any]] = [(None, daemon.get(key, []))]
    for shared in maps(daemon.get("shared-networks", [])):
        groups.append((str(shared.get("name", "")), shared.get(key, [])))
    for network_name, subnets in groups:
        for subnet_map in maps(subnets):
            try:
                subnet = _NETWORK[family](str(subnet_map["subnet"]), strict=False)
            except (KeyError, ValueError) as exc:
                raise LeasesError(
                    f"kea server {server!r}: config-get: {key} entry without a valid "
                    f"'subnet': {short_json(subnet_map)} ({exc})"
                ) from None
            name = network_name or str(subnet)
            try:
                for pool in maps(subnet_map.get("pools", [])):
                    first, last = parse_pool(str(pool.get("pool", "")), subnet)
                    ranges.append(Range(first=first, last=last, subnet=subnet, network=name))
                for item in maps(subnet_map.get("pd-pools", [])) if family == 6 else ():
                    prefix, delegated = pd_pool(item)
                    first, last = prefix.network_address, prefix.broadcast_address
                    ranges.append(Range(first, last, subnet, name, PoolKind.PREFIX, delegated))
            except ValueError as exc:
                raise LeasesError(
                    f"kea server {server!r}: config-get: subnet {subnet}: {exc}"
                ) from None
            fixed.extend(reservations(subnet_map.get("reservations", [])))
    fixed.extend(reservations(daemon.get("reservations", [])))  # global reservations
    return ranges, fixed


# -- leases from lease_cmds ---------------------------------------------------------------


def read_pages(
    client: KeaClient,
    family: int,
    page_size: int,
    lease: Callable[[Mapping[str, Any]], Lease],
) -> list[Lease]:
    """Every lease, ``page_size`` at a time with ``lease4-get-page`` or ``lease6-get-page``
    (never all in one answer), each entry made a Lease by ``lease``.

    The first page starts "from": "start"; each next one from the last address returned,
    until a page is short or Kea answers result 3 ("0 IPv4 lease(s) found"). DHCPv6 pages
    through IA_NA and IA_PD leases together, in address order (measured on Kea 2.2).
    """
    command = f"lease{family}-get-page"
    leases: list[Lease] = []
    start = "start"
    last: Address | None = None
    while True:
        answer = client.call(command, {"from": start, "limit": page_size})
        if answer.result == RESULT_EMPTY:
            break
        args = answer.arguments if isinstance(answer.arguments, Mapping) else {}
        page = [lease(item) for item in maps(args.get("leases"))]
        leases.extend(page)
        if len(page) < page_size or not page:
            break
        if last is not None and int(page[-1].ip) <= int(last):
            raise client.error(
                f"kea server {client.server!r}: {command}: paging did not advance past {last}"
            )
        last = page[-1].ip
        start = str(last)
    return leases


# -- the memfile CSV ----------------------------------------------------------------------


def memfile_paths(path: Path) -> list[Path]:
    """The files Kea itself loads at start-up, oldest first (see ``replay``)."""
    completed = Path(f"{path}.completed")
    if completed.exists():
        older = [completed]
    else:
        older = [p for p in (Path(f"{path}.2"), Path(f"{path}.1")) if p.exists()]
    return [*older, path]


# A row's key (the address; for DHCPv6 its type too) and its lease, None when the row
# deletes the lease (valid_lifetime 0)
Row = Callable[[Path, int, Mapping[str, int], list[str]], tuple[Hashable, Lease | None]]


@dataclass(frozen=True)
class Memfile:
    """One family's memfile: how its header starts, the columns leasewatch reads (by name:
    Kea adds columns over time and moves none), and how a row becomes a lease."""

    family: int
    header_start: tuple[str, ...]  # ("address",), or ("address", "duid") for DHCPv6
    header_sample: str  # for the message when the header is not this family's
    required: tuple[str, ...]
    row: Row

    def is_header(self, header: list[str]) -> bool:
        if tuple(header[: len(self.header_start)]) != self.header_start:
            return False
        return self.family == 6 or "duid" not in header  # a DHCPv6 file has a duid column


def replay(files: Iterable[Path], memfile: Memfile) -> tuple[list[Lease], list[str]]:
    """Replay memfile lease files (``memfile_paths``' order) as Kea does at start-up; return
    the leases (in address order) and warnings.

    The memfile is an append-only journal: every change appends a row, the last row for a
    lease wins, and a row with valid_lifetime 0 means the lease was deleted. Kea's Lease
    File Cleanup (kea-lfc) periodically moves the file to ``<file>.1``, compacts ``.2`` +
    ``.1`` into ``<file>.completed`` and then renames that to ``<file>.2``. At start-up Kea
    reads ``<file>.completed`` if it exists, else ``<file>.2`` then ``<file>.1``, and always
    ``<file>`` last (Memfile_LeaseMgr::loadLeasesFromFiles in src/lib/dhcpsrv/
    memfile_lease_mgr.cc; the ARM's "The LFC Process"). Reading only ``<file>`` right after
    an LFC run would miss every lease not renewed since.
    """
    current: dict[Hashable, Lease] = {}
    warnings: list[str] = []
    for file in files:
        _replay_file(file, memfile, current, warnings)
    return sorted(current.values(), key=lambda lease: int(lease.ip)), warnings


def _replay_file(
    file: Path, memfile: Memfile, current: dict[Hashable, Lease], warnings: list[str]
) -> None:
    try:
        text = file.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise LeasesError(f"{file}: cannot read Kea lease file: {exc.strerror}") from None
    lines = text.split("\n")
    if not lines[0].strip():
        return  # an empty file: Kea creates it with just a header, or not at all yet
    header = [h.strip() for h in lines[0].split(",")]
    if not memfile.is_header(header):
        raise LeasesError(
            f"{file}:1: expected a Kea DHCPv{memfile.family} lease file header "
            f"'{memfile.header_sample}', got {lines[0][:80]!r}"
        )
    missing = [c for c in memfile.required if c not in header]
    if missing:
        raise LeasesError(
            f"{file}:1: Kea lease file header lacks the column(s) {', '.join(missing)} "
            f"(expected at least {','.join(memfile.required)})"
        )
    col = {name: index for index, name in enumerate(header)}
    unterminated = not text.endswith("\n")
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split(",")
        if len(fields) != len(header):
            if number == len(lines) and unterminated:
                # Kea was writing this row when the file was read (or crashed mid-write).
                warnings.append(f"{file}:{number}: incomplete last row ignored")
                continue
            raise LeasesError(
                f"{file}:{number}: expected {len(header)} comma-separated fields "
                f"({','.join(header)}), got {len(fields)}"
            )
        key, lease = memfile.row(file, number, col, fields)
        if lease is None:
            current.pop(key, None)  # Kea writes a row with valid_lifetime 0 when it deletes
        else:
            current[key] = lease


def offline_snapshot(
    server: str, path: Path, leases: list[Lease], warnings: list[str]
) -> ServerSnapshot:
    """A memfile read offline: leases only (no pools, no reservations: they live in the
    server's config). Such a snapshot is for reports (lease lists, orphans by MAC), never for
    releases, so it is marked incomplete and the reaper leaves it alone."""
    warnings.append(
        f"{path}: offline Kea lease file: no pools or reservations (they live in the "
        "server's config; use control_socket or control_url for utilization and "
        "releases); report only"
    )
    return ServerSnapshot(
        server=server,
        kind="kea",
        leases=LeaseList(leases),
        complete=False,
        warnings=tuple(warnings),
    )
