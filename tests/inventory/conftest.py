"""Fixtures for the inventory tests; the sources and fakes themselves live in inventory_lab."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from leasewatch.config import InventoryConfig
from tests.inventory.inventory_lab import Cert, Scenario, scenario_config


@pytest.fixture
def lab(tmp_path: Path, pve_cert: Cert) -> Iterator[Scenario]:
    """Build ``(kind, scenario) -> InventoryConfig``; every server it starts is stopped after."""
    with ExitStack() as stack:

        def make(kind: str, scenario: str) -> InventoryConfig:
            return scenario_config(kind, scenario, tmp_path, stack, pve_cert)

        yield make
