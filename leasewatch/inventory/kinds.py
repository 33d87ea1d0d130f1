"""The explicit map from an inventory ``kind`` to its adapter, and the one way to build one.

No plugin discovery: a new kind is a new module plus a line here (a test checks that every
kind the config accepts has an adapter). The adapters import their SDKs only when they run.
"""

from __future__ import annotations

from collections.abc import Callable

from leasewatch.config import InventoryConfig
from leasewatch.errors import InventoryError
from leasewatch.inventory.command import CommandSource
from leasewatch.inventory.file import FileSource
from leasewatch.inventory.interface import InventorySource
from leasewatch.inventory.libvirt import LibvirtSource
from leasewatch.inventory.proxmox import ProxmoxSource
from leasewatch.inventory.xenapi import XenAPISource

ADAPTERS: dict[str, Callable[[InventoryConfig], InventorySource]] = {
    "command": CommandSource,
    "file": FileSource,
    "libvirt": LibvirtSource,
    "xenapi": XenAPISource,
    "proxmox": ProxmoxSource,
}


def build(config: InventoryConfig) -> InventorySource:
    """The adapter for one ``[[inventory]]`` table; it does no I/O until ``fetch()``."""
    adapter = ADAPTERS.get(config.kind)
    if adapter is None:
        raise InventoryError(f"inventory {config.name}: unknown kind {config.kind!r}")
    return adapter(config)
