"""pytest fixtures for the real-server lab, loaded as a plugin by tests/conftest.py.

The ``lab`` marker (registered in pyproject.toml) is on every test that starts a real server
(dhcpd, dhclient, kea-dhcp4, kea-ctrl-agent, or anything else in a namespace of ours):

- a test that uses one of this plugin's server fixtures gets it at collection;
- any other test must carry it itself (``pytestmark = pytest.mark.lab`` or a decorator);
  ``lab_marker_is_honest`` fails a test that started something the lab cleans up
  (``CLEANUP``) without it, so ``-m lab`` / ``-m "not lab"`` select exactly.
"""

from __future__ import annotations

import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest

from lab.failover import FailoverLab
from lab.isc import IscLab
from lab.kea import KeaServer, running_kea
from lab.netns import CLEANUP

# The fixtures below that start a real server.
SERVER_FIXTURES = frozenset({"isc_lab", "small_isc_lab", "isc6_lab", "kea", "failover_lab"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``lab`` every test that uses a server fixture (directly or through another)."""
    for item in items:
        if SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.lab)


@pytest.fixture(autouse=True)
def lab_marker_is_honest(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test that started a lab server or namespace without the ``lab`` marker."""
    before = CLEANUP.pushes
    yield
    if CLEANUP.pushes > before and request.node.get_closest_marker("lab") is None:
        pytest.fail(
            f"{request.node.nodeid} started a real server (lab/) but is not marked lab: "
            "add `pytestmark = pytest.mark.lab` to its module or @pytest.mark.lab to it",
            pytrace=False,
        )


@pytest.fixture(scope="session", autouse=True)
def lab_backstop() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt (so fixtures unwind) and undo leftovers at the end."""

    def on_term(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        CLEANUP.run_all()


@pytest.fixture
def isc_lab() -> Iterator[IscLab]:
    """A real dhcpd (the seed's /27, 21-address pool, OMAPI) and an empty hypervisor."""
    lab = IscLab.start(pool_size=21)
    try:
        yield lab
    finally:
        lab.close()


@pytest.fixture
def small_isc_lab() -> Iterator[IscLab]:
    """The same lab with a 2-address pool, to run it dry quickly."""
    lab = IscLab.start(pool_size=2)
    try:
        yield lab
    finally:
        lab.close()


@pytest.fixture
def isc6_lab() -> Iterator[IscLab]:
    """A real dhcpd -6 (subnet6 2001:db8:1::/64: 16 addresses, a /120, a temporary /120, a
    PD pool of four /56) and an empty hypervisor for ``dhclient -6`` VMs."""
    lab = IscLab.start6()
    try:
        yield lab
    finally:
        lab.close()


@pytest.fixture
def failover_lab() -> Iterator[FailoverLab]:
    """Two real dhcpd in a failover pair (primary dhcp1, secondary dhcp2: the seed's /27,
    a 21-address pool in failover peer "lw", OMAPI each), normal, and an empty hypervisor."""
    lab = FailoverLab.start(pool_size=21)
    try:
        yield lab
    finally:
        lab.close()


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A short temporary directory: a UNIX socket path must fit in 107 bytes."""
    path = Path(tempfile.mkdtemp(prefix="lwkea-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def kea(short_tmp: Path) -> Iterator[KeaServer]:
    """A real kea-dhcp4 with lease_cmds and stat_cmds, serving no interface (API only)."""
    with running_kea(short_tmp / "kea") as server:
        yield server
