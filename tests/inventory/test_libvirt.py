"""The libvirt adapter against the real library and its built-in test driver (no daemon)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from leasewatch.config import InventoryConfig
from leasewatch.errors import InventoryError
from leasewatch.inventory.kinds import build
from leasewatch.inventory.libvirt import LibvirtSource
from tests.inventory.inventory_lab import libvirt_domain, libvirt_node


def _config(*uris: str, include_inactive: bool = True) -> InventoryConfig:
    return InventoryConfig(
        name="kvm", kind="libvirt", uri=uris, include_inactive=include_inactive, timeout=5.0
    )


@pytest.fixture
def node(tmp_path: Path) -> str:
    """A node with a running two-NIC domain and a shut-off one."""
    return libvirt_node(
        tmp_path / "node.xml",
        libvirt_domain("web01", ["52:54:00:AA:00:01", "52:54:00:aa:00:02"]),
        libvirt_domain("off01", ["52:54:00:bb:00:01"], running=False),
    )


def test_shut_off_domains_count_by_default(node: str) -> None:
    """Every defined domain is alive, running or shut off: it will boot again."""
    assert LibvirtSource(_config(node)).macs() == {
        "52:54:00:aa:00:01",
        "52:54:00:aa:00:02",
        "52:54:00:bb:00:01",
    }


def test_the_shut_off_domain_is_invisible_to_list_domains_id(node: str) -> None:
    """The fixture really has a shut-off domain: listDomainsID() misses it, so we don't use it."""
    import libvirt

    conn = libvirt.openReadOnly(node)
    try:
        names = {conn.lookupByID(i).name() for i in conn.listDomainsID()}
        assert names == {"web01"}
        assert {d.name() for d in conn.listAllDomains()} == {"web01", "off01"}
    finally:
        conn.close()


def test_include_inactive_false_counts_only_running(node: str) -> None:
    """include_inactive = false leaves shut-off domains out."""
    macs = LibvirtSource(_config(node, include_inactive=False)).macs()
    assert macs == {"52:54:00:aa:00:01", "52:54:00:aa:00:02"}


def test_several_uris_are_merged(node: str, tmp_path: Path) -> None:
    """MACs from every URI of the source are merged into one inventory."""
    other = libvirt_node(tmp_path / "other.xml", libvirt_domain("db01", ["52:54:00:cc:00:01"]))
    assert "52:54:00:cc:00:01" in LibvirtSource(_config(node, other)).macs()


def test_one_failing_uri_fails_the_source(node: str, tmp_path: Path) -> None:
    """A partial inventory would orphan the unreachable host's VMs: the whole source fails."""
    missing = f"test://{tmp_path / 'missing.xml'}"
    with pytest.raises(InventoryError, match=rf"inventory kvm: cannot connect to {missing}: "):
        LibvirtSource(_config(node, missing)).macs()


def test_libvirt_prints_nothing_itself(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """libvirt's default error handler is silenced: the reason is ours, one line, no stderr."""
    snap = build(_config("qemu+tcp://127.0.0.1:1/system")).fetch()
    assert snap.reason is not None and "Connection refused" in snap.reason
    assert "libvirt:" not in capfd.readouterr().err


def test_domain_without_interfaces(tmp_path: Path) -> None:
    """A domain with no NIC adds nothing and is not an error."""
    uri = libvirt_node(tmp_path / "n.xml", libvirt_domain("quiet", []))
    assert LibvirtSource(_config(uri)).macs() == frozenset()


def test_missing_sdk_names_the_extra(monkeypatch: pytest.MonkeyPatch, node: str) -> None:
    """Without libvirt-python the error says which extra to install."""
    monkeypatch.setitem(sys.modules, "libvirt", None)
    snap = build(_config(node)).fetch()
    assert snap.reason == ("the libvirt module is missing: pip install 'leasewatch[libvirt]'")
