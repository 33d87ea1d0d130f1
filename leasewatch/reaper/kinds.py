"""Which release backend serves which server kind: an explicit map.

An ISC server can release only when it has an ``omapi`` table; a Kea server only through
its API (a memfile-only Kea server is report-only); a dnsmasq server when the interface to
send ``dhcp_release`` on is known.
"""

from __future__ import annotations

from collections.abc import Callable

from leasewatch.config import ServerConfig
from leasewatch.reaper.interface import ReleaseBackend


def _isc(config: ServerConfig) -> ReleaseBackend | None:
    if config.omapi is None:
        return None
    from leasewatch.reaper.omapi import OmapiReleaseBackend

    return OmapiReleaseBackend(config.name, config.omapi)


def _kea(config: ServerConfig) -> ReleaseBackend | None:
    if config.control_socket is None and config.control_url is None:
        return None
    from leasewatch.reaper.kea import KeaReleaseBackend

    return KeaReleaseBackend(config)


def _dnsmasq(config: ServerConfig) -> ReleaseBackend | None:
    from leasewatch.reaper.dnsmasq import DnsmasqReleaseBackend, can_release

    if not can_release(config):
        return None
    return DnsmasqReleaseBackend(config)


BACKENDS: dict[str, Callable[[ServerConfig], ReleaseBackend | None]] = {
    "isc": _isc,
    "kea": _kea,
    "dnsmasq": _dnsmasq,
}


def build(config: ServerConfig) -> ReleaseBackend | None:
    """The release backend for one server, or None when it is report-only."""
    return BACKENDS[config.kind](config)


def can_release(config: ServerConfig) -> bool:
    """Whether the server is configured for releases (no connection is opened)."""
    if config.kind == "isc":
        return config.omapi is not None
    if config.kind == "dnsmasq":
        from leasewatch.reaper.dnsmasq import can_release as dnsmasq_can_release

        return dnsmasq_can_release(config)
    return config.control_socket is not None or config.control_url is not None
