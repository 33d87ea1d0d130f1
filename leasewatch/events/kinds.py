"""The explicit map from an inventory ``kind`` to its event streams, and the one way to build
them. ``command`` and ``file`` have none: they are read on the schedule only (a test checks
that the map names exactly the kinds whose config accepts ``events``).
"""

from __future__ import annotations

from collections.abc import Callable

from leasewatch.config import Config, InventoryConfig
from leasewatch.events.interface import EventStream, Listener
from leasewatch.events.libvirt import LibvirtStream
from leasewatch.events.proxmox import ProxmoxStream
from leasewatch.events.xenapi import XenAPIStream

Build = Callable[[InventoryConfig, Listener], list[EventStream]]


def _libvirt(config: InventoryConfig, listener: Listener) -> list[EventStream]:
    """One connection per URI: a fleet entry's hosts each stream on their own."""
    if len(config.uri) == 1:
        return [LibvirtStream(config, listener, uri=config.uri[0])]
    return [
        LibvirtStream(config, listener, uri=uri, stream=f"{config.name}[{uri}]")
        for uri in config.uri
    ]


def _xenapi(config: InventoryConfig, listener: Listener) -> list[EventStream]:
    return [XenAPIStream(config, listener)]


def _proxmox(config: InventoryConfig, listener: Listener) -> list[EventStream]:
    return [ProxmoxStream(config, listener)]


STREAMS: dict[str, Build] = {
    "libvirt": _libvirt,
    "xenapi": _xenapi,
    "proxmox": _proxmox,
}


def build(config: Config, listener: Listener) -> list[EventStream]:
    """Every stream the config asks for: none with ``[daemon] events = false``, none for an
    inventory with ``events = false`` or a kind that has no stream."""
    if not config.daemon.events:
        return []
    out: list[EventStream] = []
    for inventory in config.inventory:
        make = STREAMS.get(inventory.kind)
        if make is not None and inventory.events:
            out.extend(make(inventory, listener))
    return out
