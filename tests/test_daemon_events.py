"""``leasewatch daemon`` with an event stream that cannot connect: the schedule goes on as
before, the stream is down and retried (a metric), and ``[daemon] events = false`` runs
none. A real daemon subprocess; the libvirt host is a closed loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.inventory.inventory_lab import _closed_port
from tests.test_daemon import DHCPD_CONF, LEASES, Running, _free_port, _stop, launch


def _start(d: Path, events: bool) -> Running:
    (d / "dhcpd.conf").write_text(DHCPD_CONF)
    (d / "dhcpd.leases").write_text(LEASES)
    metrics_port = _free_port()
    config = d / "leasewatch.toml"
    config.write_text(
        f"""\
[[servers]]
name = "dhcp1"
kind = "isc"
leases = "{d}/dhcpd.leases"
dhcpd_conf = "{d}/dhcpd.conf"

[[inventory]]
name = "kvm"
kind = "libvirt"
uri = "qemu+tcp://127.0.0.1:{_closed_port()}/system"
timeout = 2

[daemon]
every = "1s"
metrics = "127.0.0.1:{metrics_port}"
events = {"true" if events else "false"}

[state]
path = "{d}/state.db"
"""
    )
    return launch(d, config, metrics_port)


@pytest.fixture(params=[True, False], ids=["events", "no-events"])
def daemon(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Running, bool]]:
    """A daemon scanning every second, with or without its event stream."""
    running = _start(tmp_path, bool(request.param))
    try:
        running.wait_for("the metrics endpoint", lambda: running.scrape() is not None)
        yield running, bool(request.param)
    finally:
        _stop(running)


def test_a_stream_that_cannot_connect_never_stops_the_schedule(
    daemon: tuple[Running, bool],
) -> None:
    """Scans go on every second; the stream is down, retried and counted (or absent)."""
    running, events = daemon
    running.wait_scans(3, timeout=30)
    up = running.value("leasewatch_event_stream_up", inventory="kvm")
    reconnects = running.value("leasewatch_event_stream_reconnects_total", inventory="kvm")
    if events:
        assert up == 0
        assert reconnects is not None and reconnects >= 1
        assert "event stream kvm down, reconnecting: cannot connect to qemu+tcp" in running.logs()
    else:
        assert up is None and reconnects is None
        assert "event stream" not in running.logs()
