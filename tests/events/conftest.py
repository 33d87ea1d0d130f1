"""Fixtures for the event stream tests (the fakes themselves live in tests/inventory)."""

from __future__ import annotations

import pytest

from tests.inventory.inventory_lab import Cert, make_cert


@pytest.fixture(scope="session")
def pve_cert(tmp_path_factory: pytest.TempPathFactory) -> Cert:
    """One self-signed certificate for every fake PVE server of the event tests."""
    return make_cert(tmp_path_factory.mktemp("pve-tls-events"))
