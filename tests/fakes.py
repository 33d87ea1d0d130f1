"""pytest fixtures for the wire fakes of XenServer and Proxmox VE (tests/inventory/
inventory_lab.py), shared by the inventory, event stream and daemon tests; loaded as a
plugin by tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.inventory.inventory_lab import (
    Cert,
    FakePve,
    FakeXapi,
    make_cert,
    standard_cluster,
    standard_pool,
)


@pytest.fixture(scope="session")
def pve_cert(tmp_path_factory: pytest.TempPathFactory) -> Cert:
    """One self-signed certificate for every fake PVE server of the run."""
    return make_cert(tmp_path_factory.mktemp("pve-tls"))


@pytest.fixture
def xapi() -> Iterator[FakeXapi]:
    """A fake pool master with the standard pool (a running and a halted VM, a template, a
    snapshot, dom0) on loopback."""
    fake = FakeXapi(standard_pool())
    try:
        yield fake
    finally:
        fake.close()


@pytest.fixture
def pve(pve_cert: Cert) -> Iterator[FakePve]:
    """A fake PVE cluster with a qemu VM, a stopped container and a template."""
    fake = FakePve(pve_cert, standard_cluster())
    try:
        yield fake
    finally:
        fake.close()
