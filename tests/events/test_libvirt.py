"""The libvirt event stream against the real library: the built-in test driver in-process
(events shared by every connection to ``test:///default``), and a host that is not there.
The real libvirtd, killed and restarted, is in tests/lab/test_events_story.py."""

from __future__ import annotations

import secrets

import libvirt

from leasewatch.config import InventoryConfig
from leasewatch.events.interface import Backoff
from leasewatch.events.libvirt import LibvirtStream
from tests.events.streams import Heard
from tests.inventory.inventory_lab import _closed_port, libvirt_domain


def _config(uri: str) -> InventoryConfig:
    return InventoryConfig(name="kvm", kind="libvirt", uri=(uri,), timeout=5.0)


def test_lifecycle_events_of_another_connection_are_changes() -> None:
    """Connected: up, and one change (events may have been missed); then define, undefine:
    one change each, named by the inventory entry."""
    heard = Heard()
    uri = "test:///default"
    holder = libvirt.open(uri)  # the test driver keeps its domains while one client stays
    stream = LibvirtStream(_config(uri), heard, uri=uri)
    try:
        stream.start()
        heard.wait_for(changes=1, states=1)
        assert heard.states == [(True, "connected")]
        name = f"lw-{secrets.token_hex(3)}"
        domain = holder.defineXML(libvirt_domain(name, ["52:54:00:ee:00:01"], running=False))
        heard.wait_for(changes=2)
        domain.undefine()
        heard.wait_for(changes=3)
    finally:
        stream.stop()
        holder.close()
    assert set(heard.changes) == {("kvm", "kvm")}
    assert heard.states == [(True, "connected")]  # a stop is not a loss


def test_a_host_that_is_not_there_is_down_and_retried() -> None:
    """A refused connection: down with the URI and libvirt's reason, then tried again."""
    heard = Heard()
    uri = f"qemu+tcp://127.0.0.1:{_closed_port()}/system"
    stream = LibvirtStream(_config(uri), heard, uri=uri, backoff=Backoff(first=0.01, most=0.01))
    try:
        stream.start()
        heard.wait_for(states=2)
    finally:
        stream.stop()
    assert not stream._thread or not stream._thread.is_alive()
    up, reason = heard.states[0]
    assert not up and reason.startswith(f"cannot connect to {uri}: "), reason
    assert heard.changes == []
