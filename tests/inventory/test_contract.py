"""The contract every inventory adapter keeps: healthy, empty, failed, timeout, malformed.

Each kind runs against its real component (a process, a file, libvirt's test driver) or a
wire-level fake (XAPI, PVE); see conftest.py for what each scenario sets up.
"""

from __future__ import annotations

import time
from collections.abc import Set as AbstractSet

import pytest

from leasewatch.config import INVENTORY_KINDS
from leasewatch.inventory.interface import InventorySource
from leasewatch.inventory.kinds import ADAPTERS, build
from tests.inventory.inventory_lab import EXPECTED, SECRET, TIMEOUT, WRONG_SECRET, Scenario

KINDS = pytest.mark.parametrize("kind", INVENTORY_KINDS)


def test_every_kind_has_an_adapter() -> None:
    """Every kind the config accepts maps to an adapter, and the map has no strays."""
    assert set(ADAPTERS) == set(INVENTORY_KINDS)
    for adapter in ADAPTERS.values():
        assert isinstance(adapter, type) and issubclass(adapter, InventorySource)


@KINDS
def test_healthy(kind: str, lab: Scenario) -> None:
    """A good answer gives the live MACs, normalized, and a healthy snapshot."""
    source = build(lab(kind, "healthy"))
    snap = source.fetch()
    assert (snap.healthy, snap.reason) == (True, None)
    assert snap.macs == EXPECTED
    assert snap.kind == kind and snap.source == source.name
    assert snap.duration >= 0


@KINDS
def test_empty(kind: str, lab: Scenario) -> None:
    """No live VMs is a healthy, empty answer (core decides whether that is suspicious)."""
    snap = build(lab(kind, "empty")).fetch()
    assert (snap.healthy, snap.macs) == (True, frozenset())


@KINDS
def test_failed(kind: str, lab: Scenario) -> None:
    """A refused login, a failing command or an unreachable host: unhealthy, one line."""
    source = build(lab(kind, "failed"))
    snap = source.fetch()
    _assert_unhealthy(snap.healthy, snap.reason, snap.macs, source.name)


@KINDS
def test_timeout(kind: str, lab: Scenario) -> None:
    """A source that never answers is cut off at its timeout and reported unhealthy."""
    source = build(lab(kind, "timeout"))
    started = time.monotonic()
    snap = source.fetch()
    elapsed = time.monotonic() - started
    _assert_unhealthy(snap.healthy, snap.reason, snap.macs, source.name)
    assert snap.reason is not None and "timed out" in snap.reason
    assert elapsed < TIMEOUT + 2.0


@KINDS
def test_malformed(kind: str, lab: Scenario) -> None:
    """An answer that cannot be read makes the source unhealthy, never a partial list."""
    source = build(lab(kind, "malformed"))
    snap = source.fetch()
    _assert_unhealthy(snap.healthy, snap.reason, snap.macs, source.name)


@KINDS
@pytest.mark.parametrize("scenario", ["failed", "timeout", "malformed"])
def test_no_secret_in_reason(kind: str, scenario: str, lab: Scenario) -> None:
    """No password or token, right or wrong, ever appears in a reason or a repr."""
    config = lab(kind, scenario)
    snap = build(config).fetch()
    for text in (snap.reason or "", repr(snap), repr(config)):
        assert SECRET not in text
        assert WRONG_SECRET not in text


def _assert_unhealthy(healthy: bool, reason: str | None, macs: AbstractSet[str], name: str) -> None:
    assert not healthy
    assert macs == frozenset()
    assert reason is not None
    # the snapshot names its source; the reason does not say it again ("hv: inventory hv:")
    assert not reason.startswith(f"inventory {name}")
    assert "\n" not in reason and "Traceback" not in reason
    assert len(reason) < 300
