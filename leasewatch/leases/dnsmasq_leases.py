"""dnsmasq's lease file: its lines (src/lease.c), and reads that never see it half written.

One line per IPv4 lease ``<expiry> <[TT-]hwaddr> <ip> <hostname|*> <client-id|*>``, expiry 0
meaning infinite; then, when DHCPv6 is in use, one ``duid <server DUID>`` line and IPv6 lines
``<expiry> <[T]iaid> <ip6> <hostname|*> <client DUID|*>``. dnsmasq 2.92 may append lines of
other shapes (``agent-info``, ``vendorclass``): skipped with a warning naming file:line.

dnsmasq rewrites the file in place (rewind, ftruncate, write, fsync) on every change, so a
reader can catch it empty or half written: ``read_settled``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from ipaddress import IPv4Address, IPv6Address, ip_address
from pathlib import Path

from leasewatch.errors import LeasesError
from leasewatch.leases.duid import duid_bytes, mac_of_duid
from leasewatch.model import Address, BindingState, Lease, MacSource, PoolKind, normalize_mac


@dataclass(frozen=True, slots=True)
class V6Lease:
    """One DHCPv6 line of dnsmasq's lease file (or libvirt's status), as written; ``lease``
    makes the ``Lease`` that counts."""

    ip: IPv6Address
    iaid: str  # decimal; "T<n>" for a temporary address (IA_TA)
    ends: datetime | None
    hostname: str | None
    duid: str | None
    mac: str | None = None  # libvirt's status records the MAC dnsmasq learnt; the file has none

    def lease(self, server: str) -> Lease:
        """The lease: an IA_NA address, or IA_TA for a ``T``-prefixed IAID.

        A MAC libvirt recorded is the one dnsmasq learnt from the client's packets
        (``DNSMASQ_MAC``: its link-local address or a relay's option), so it is trusted as
        a DHCPv4 one is. Otherwise the MAC inside a DUID-LLT or DUID-LL is all there is:
        weak evidence (``MacSource.DUID``), as a cloned VM keeps its template's DUID.
        """
        digits = self.iaid.removeprefix("T")
        duid = self.duid.lower() if self.duid else None
        mac, source = self.mac, MacSource.HARDWARE
        if mac is None and duid is not None:
            raw = duid_bytes(duid)
            mac, source = (mac_of_duid(raw) if raw else None), MacSource.DUID
        return Lease(
            ip=self.ip,
            state=BindingState.ACTIVE,
            mac=mac,
            ends=self.ends,
            hostname=self.hostname,
            server=server,
            kind=PoolKind.TEMPORARY if self.iaid.startswith("T") else PoolKind.ADDRESS,
            duid=duid,
            iaid=int(digits) if digits.isdigit() else None,
            mac_source=source,
        )


@dataclass(frozen=True, slots=True)
class LeaseFile:
    """What one read of a dnsmasq lease file (or libvirt status file) held."""

    leases: tuple[Lease, ...] = ()
    v6: tuple[V6Lease, ...] = ()
    server_duid: str | None = None
    warnings: tuple[str, ...] = ()

    def all_leases(self, server: str) -> tuple[Lease, ...]:
        """The DHCPv4 leases and the DHCPv6 ones, each counted in its pool."""
        return (*self.leases, *(v6.lease(server) for v6 in self.v6))


def expiry(text: str) -> datetime | None:
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
                f"(expected 'expiry mac ip hostname client-id'): {clip(line)}"
            )
            continue
        try:
            ends = expiry(fields[0])
            address = ip_address(fields[2])
        except (ValueError, OverflowError, OSError):
            warnings.append(f"{where}: skipped: bad expiry time or address: {clip(line)}")
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
            mac_unreadable=not ok,
        )
    return LeaseFile(tuple(leases.values()), tuple(v6.values()), duid, tuple(warnings))


def clip(text: str, width: int = 80) -> str:
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


def decode(data: bytes, path: Path) -> str:
    # dnsmasq writes host names as the client sent them (after its own checks): never
    # fail on a stray byte, show it escaped.
    return data.decode("utf-8", "backslashreplace")


def holders(found: LeaseFile, now: datetime) -> dict[Address, str | None]:
    """Address -> MAC of the leases active at ``now``."""
    return {lease.ip: lease.mac for lease in found.leases if lease.is_active(now)}
