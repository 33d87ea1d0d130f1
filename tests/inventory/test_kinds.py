"""Building adapters from config: the kind map, and configs loaded from TOML."""

from __future__ import annotations

from pathlib import Path

import pytest

from leasewatch import config
from leasewatch.errors import ConfigError, InventoryError
from leasewatch.inventory.command import CommandSource
from leasewatch.inventory.kinds import build
from leasewatch.inventory.proxmox import ProxmoxSource


def test_unknown_kind_is_an_inventory_error() -> None:
    """A kind with no adapter (the config loader normally stops it) is one clear line."""
    with pytest.raises(InventoryError, match=r"inventory x: unknown kind 'vmware'"):
        build(config.InventoryConfig(name="x", kind="vmware"))


def test_build_from_toml(tmp_path: Path) -> None:
    """A loaded [[inventory]] table builds its adapter with name, kind and networks intact."""
    token = tmp_path / "token"
    token.write_text("tok-value\n")
    path = tmp_path / "leasewatch.toml"
    path.write_text(
        f"""
[[servers]]
name = "dhcp1"
kind = "kea"
leases = "/var/lib/kea/kea-leases4.csv"

[[inventory]]
name = "scripts"
kind = "command"
command = ["printf", "52:54:00:00:00:01\\n"]
networks = ["lab"]

[[inventory]]
name = "pve"
kind = "proxmox"
host = "pve.example.net"
user = "leasewatch@pve"
token_name = "inventory"
token_value_file = "{token}"
"""
    )
    loaded = config.load(path, environ={})
    first, second = (build(c) for c in loaded.inventory)
    assert isinstance(first, CommandSource) and isinstance(second, ProxmoxSource)
    snap = first.fetch()
    assert (snap.source, snap.networks, snap.macs) == (
        "scripts",
        ("lab",),
        frozenset({"52:54:00:00:00:01"}),
    )
    assert second.port == 8006 and second.token_value.reveal() == "tok-value"


def test_a_fleet_entry_lists_its_hosts_in_uris(tmp_path: Path) -> None:
    """``uris = [...]`` gives one part per host, each keeping the entry's networks; an entry
    with neither uri nor uris is a config error naming the key."""
    path = tmp_path / "leasewatch.toml"
    path.write_text(
        """
[[servers]]
name = "dhcp1"
kind = "kea"
leases = "/var/lib/kea/kea-leases4.csv"

[[inventory]]
name = "kvm"
kind = "libvirt"
uris = ["qemu+ssh://root@kvm1/system", "qemu+tls://kvm2/system"]
networks = ["lab"]
"""
    )
    (entry,) = config.load(path, environ={}).inventory
    parts = build(entry).parts()
    assert [(p.name, p.networks) for p in parts] == [
        ("kvm[qemu+ssh://root@kvm1/system]", ("lab",)),
        ("kvm[qemu+tls://kvm2/system]", ("lab",)),
    ]
    path.write_text(path.read_text().replace("uris = ", "# uris = "))
    with pytest.raises(ConfigError, match=r"uri: missing; required for kind = 'libvirt'"):
        config.load(path, environ={})
