"""Inventory from libvirt (libvirt-python): every defined domain's interface MACs.

A shut-off domain counts as alive by default: it will boot again and want its lease back.
``listAllDomains()`` is used because ``listDomainsID()`` only sees running domains.
"""

from __future__ import annotations

import contextlib
import copy
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from functools import partial
from types import ModuleType
from typing import Any

from leasewatch.config import InventoryConfig
from leasewatch.inventory._common import fail, import_sdk, one_line, shown, with_deadline
from leasewatch.inventory.interface import InventorySource
from leasewatch.model import normalize_mac


def _quiet(libvirt: ModuleType) -> None:
    """Stop libvirt printing every error to stderr itself; we raise them as one line instead.

    libvirt's default handler writes "libvirt: ... error" lines on its own
    (https://libvirt.org/errors.html). Setting the (process-wide) handler again is harmless.
    """
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)


class LibvirtSource(InventorySource):
    """Lists the MACs of the domains on one or more libvirt URIs."""

    def __init__(self, config: InventoryConfig) -> None:
        super().__init__(config.name, config.kind, config.networks)
        if not config.uri:
            raise fail(config.name, "uri is missing")
        self.uris = config.uri
        self.include_inactive = config.include_inactive
        self.timeout = config.timeout

    def parts(self) -> Sequence[LibvirtSource]:
        """One source per URI, named ``name[uri]``: a fleet of KVM hosts is read at once, and
        a host that is down or hung is unhealthy on its own (``InventorySource.combine``)."""
        if len(self.uris) < 2:
            return (self,)
        out = []
        for uri in self.uris:
            part = copy.copy(self)
            part.name, part.uris = f"{self.name}[{uri}]", (uri,)
            out.append(part)
        return out

    def macs(self) -> frozenset[str]:
        libvirt = import_sdk("libvirt", "libvirt", self.name)
        _quiet(libvirt)
        found: set[str] = set()
        for uri in self.uris:
            # libvirt has no client-side timeout for opening a connection or for an RPC
            # call, so each URI gets a deadline of its own in a helper thread.
            found |= with_deadline(
                self.name, self.timeout, f"libvirt {uri}", partial(self._one, libvirt, uri)
            )
        return frozenset(found)

    def _one(self, libvirt: ModuleType, uri: str) -> frozenset[str]:
        try:
            conn = libvirt.openReadOnly(uri)
        except libvirt.libvirtError as exc:
            raise fail(self.name, f"cannot connect to {uri}: {_message(exc)}") from exc
        try:
            flags = 0 if self.include_inactive else libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE
            found: set[str] = set()
            for domain in conn.listAllDomains(flags):
                try:
                    xml = domain.XMLDesc(0)
                except libvirt.libvirtError as exc:
                    # a domain undefined between the listing and this call is simply gone
                    if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                        continue
                    raise
                found |= self._domain_macs(uri, domain.name(), xml)
            return frozenset(found)
        except libvirt.libvirtError as exc:
            raise fail(self.name, f"{uri}: {_message(exc)}") from exc
        finally:
            with contextlib.suppress(libvirt.libvirtError):
                conn.close()

    def _domain_macs(self, uri: str, domain: str, xml: str) -> set[str]:
        try:
            root = ET.fromstring(xml)
        except ET.ParseError as exc:
            raise fail(self.name, f"{uri}: domain {domain}: unreadable XML: {exc}") from exc
        found: set[str] = set()
        for element in root.findall("./devices/interface/mac"):
            address = element.get("address", "")
            mac = normalize_mac(address)
            if mac is None:
                raise fail(
                    self.name, f"{uri}: domain {domain}: expected a MAC, got {shown(address)}"
                )
            found.add(mac)
        return found


def _message(exc: Any) -> str:
    text = exc.get_error_message() if hasattr(exc, "get_error_message") else None
    return one_line(str(text or exc))
