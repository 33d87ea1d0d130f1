"""Which lease source reads which server kind: an explicit map, no plugin discovery."""

from __future__ import annotations

from collections.abc import Callable

from leasewatch.config import ServerConfig
from leasewatch.leases.interface import LeaseSource


def _isc(config: ServerConfig) -> LeaseSource:
    from leasewatch.leases.isc import IscLeaseSource

    return IscLeaseSource(config)


def _kea(config: ServerConfig) -> LeaseSource:
    from leasewatch.leases.kea import KeaLeaseSource

    return KeaLeaseSource(config)


def _dnsmasq(config: ServerConfig) -> LeaseSource:
    from leasewatch.leases.dnsmasq import DnsmasqLeaseSource

    return DnsmasqLeaseSource(config)


SOURCES: dict[str, Callable[[ServerConfig], LeaseSource]] = {
    "isc": _isc,
    "kea": _kea,
    "dnsmasq": _dnsmasq,
}


def build(config: ServerConfig) -> LeaseSource:
    """The lease source for one configured server."""
    return SOURCES[config.kind](config)
