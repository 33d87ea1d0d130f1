"""dnsmasq: its lease file or libvirt's view of it, and the ``dhcp-range`` lines of its config.

Three ways to read one dnsmasq server's leases, chosen by the server's config:

- ``leases``: dnsmasq's own ``--dhcp-leasefile`` (``dnsmasq_leases``: its lines, IPv6 ones
  included, and reads that never take a half-written file for truth).
- ``status``: the JSON array libvirt's leases helper (``libvirt_leaseshelper``, run by
  dnsmasq as ``--dhcp-script`` next to ``--leasefile-ro``) keeps in
  ``/var/lib/libvirt/dnsmasq/<bridge>.status``: on a libvirt host dnsmasq has no lease file.
- ``libvirt_network``: libvirt's API (``virNetworkGetDHCPLeases``, what ``virsh
  net-dhcp-leases`` prints), with the ranges and reservations from the network's XML.

Ranges and reservations come from dnsmasq's config (``dnsmasq_conf``) or the network's XML
(``dnsmasq_libvirt``, with the status file and the API).

DHCPv6 counts as DHCPv4 does: the v6 lines (after the ``duid`` line) are leases in
address pools made from the IPv6 ``dhcp-range`` lines (or the network XML's IPv6 ranges);
the MAC inside a client's DUID is weak evidence unless libvirt recorded the one dnsmasq
learnt (``V6Lease.lease``).
"""

from __future__ import annotations

from pathlib import Path

from leasewatch.config import ServerConfig
from leasewatch.errors import LeasesError
from leasewatch.leases.dnsmasq_conf import (
    INFINITE,
    DhcpRange,
    parse_dhcp_host,
    parse_dhcp_range,
    read_conf,
    v4_range,
    v6_range,
)
from leasewatch.leases.dnsmasq_leases import (
    LeaseFile,
    V6Lease,
    decode,
    holders,
    parse_lease_file,
    read_settled,
)
from leasewatch.leases.dnsmasq_libvirt import (
    LibvirtNetwork,
    leases_from_api,
    libvirt_leases,
    parse_network_xml,
    parse_status,
)
from leasewatch.leases.interface import LeaseSource
from leasewatch.model import FixedHost, LeaseList, Range, ServerSnapshot


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
        if config.libvirt_network is not None:
            self.network, found = libvirt_leases(
                self.name, config.uri or "qemu:///system", config.libvirt_network
            )
            ranges.extend(self.network.ranges)
            hosts.extend(self.network.hosts)
        else:
            assert config.dnsmasq_conf is not None  # config.py requires it
            conf = read_conf(config.dnsmasq_conf)
            for where, item in conf.ranges:
                pool = v4_range(item)  # None for static, proxy and IPv6 ranges
                why = ""
                if pool is None and item.v6:
                    pool, why = v6_range(item)
                if pool is not None:
                    ranges.append(pool)
                elif why:
                    warnings.append(f"{where}: dhcp-range {item.start}: {why}")
            hosts.extend(conf.hosts)
            found = self.read_leases()
        warnings.extend(found.warnings)
        return ServerSnapshot(
            server=self.name,
            kind="dnsmasq",
            ranges=tuple(ranges),
            leases=LeaseList(found.all_leases(self.name)),
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
        found = parse(decode(self._settled(path), path), str(path), self.name)
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


__all__ = [
    "INFINITE",
    "DhcpRange",
    "DnsmasqLeaseSource",
    "LeaseFile",
    "LibvirtNetwork",
    "V6Lease",
    "bridge_of_status",
    "holders",
    "leases_from_api",
    "parse_dhcp_host",
    "parse_dhcp_range",
    "parse_lease_file",
    "parse_network_xml",
    "parse_status",
    "read_conf",
    "read_settled",
    "v4_range",
]
