"""``leasewatch daemon`` with an event stream that cannot connect: the schedule goes on as
before, the stream is down and retried (a metric), and ``[daemon] events = false`` runs
none. A real daemon subprocess; the libvirt host is a closed loopback port."""

from __future__ import annotations

import base64
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.inventory.inventory_lab import SECRET, FakeXapi, _closed_port
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


def _xen_daemon(d: Path, fake: FakeXapi, grace: str) -> Running:
    """A daemon over dhcpd files (OMAPI named but closed: a dry run plans releases) and the
    fake XenServer pool, scanning an hour apart; started, first scan done, stream up."""
    (d / "dhcpd.conf").write_text(DHCPD_CONF)
    (d / "dhcpd.leases").write_text(LEASES)
    metrics_port = _free_port()
    config = d / "leasewatch.toml"
    key = base64.b64encode(b"leasewatch-test-key-0123456789ab").decode()
    config.write_text(
        f"""\
[[servers]]
name = "dhcp1"
kind = "isc"
leases = "{d}/dhcpd.leases"
dhcpd_conf = "{d}/dhcpd.conf"
omapi = {{ host = "127.0.0.1", port = {_closed_port()}, key_name = "k", key = "{key}" }}

[[inventory]]
name = "xen"
kind = "xenapi"
url = "{fake.url}"
username = "root"
password = "{SECRET}"

[reaper]
grace = "{grace}"
max_shrink = 1.0

[daemon]
every = "1h"
metrics = "127.0.0.1:{metrics_port}"

[state]
path = "{d}/state.db"
"""
    )
    running = launch(d, config, metrics_port)
    running.wait_for(
        "the first scan and a connected stream",
        lambda: (
            (running.value("leasewatch_scans_total") or 0) >= 1
            and running.value("leasewatch_event_stream_up", inventory="xen") == 1
        ),
        30.0,
    )
    return running


def _line(running: Running, what: str) -> str:
    """Wait (bounded) for the log line of ``what`` and return it."""
    running.wait_for(what, lambda: what in running.logs(), 15.0)
    return next(x for x in running.logs().splitlines() if what in x)


def test_a_xenapi_delete_is_planned_at_once_by_the_daemon(tmp_path: Path, xapi: FakeXapi) -> None:
    """Scans an hour apart; a VM.destroy on the (wire fake) pool: the daemon's event scan
    plans that VM's lease alone (a dry run here), within seconds."""
    running = _xen_daemon(tmp_path, xapi, "0s")
    try:
        xapi.delete_vm("OpaqueRef:vm-1")  # web01, 52:54:00:12:34:01 (198.18.1.100)
        line = _line(running, "event scan (xen) done")
        assert line.endswith("1 would be released (dry run)"), line
        assert "inventory xen: 1 MAC(s) gone since its last read" in running.logs()
        assert SECRET not in running.logs()
    finally:
        _stop(running)


def test_a_vm_kept_for_its_grace_is_looked_at_again_when_it_ends(
    tmp_path: Path, xapi: FakeXapi
) -> None:
    """grace = 2s: the event's scan keeps the lease (grace); the daemon looks again when
    the grace ends, an hour before the next scheduled scan, and plans its release."""
    running = _xen_daemon(tmp_path, xapi, "2s")
    try:
        xapi.delete_vm("OpaqueRef:vm-1")
        assert _line(running, "event scan (xen) done").endswith("0 would be released (dry run)")
        line = _line(running, "grace re-check (xen) done")
        assert line.endswith("1 would be released (dry run)"), line
        assert "grace re-check (xen) done" not in running.logs().split(line, 1)[1]  # once
    finally:
        _stop(running)


def test_a_reload_that_turns_events_off_stops_the_stream(tmp_path: Path) -> None:
    """SIGHUP with ``[daemon] events = false``: the stream stops and its series go."""
    running = _start(tmp_path, events=True)
    try:
        running.wait_for(
            "the stream's series",
            lambda: running.value("leasewatch_event_stream_up", inventory="kvm") == 0,
            30.0,
        )
        running.config.write_text(
            running.config.read_text().replace("events = true", "events = false")
        )
        running.proc.send_signal(signal.SIGHUP)
        running.wait_for(
            "the series gone",
            lambda: running.value("leasewatch_event_stream_up", inventory="kvm") is None,
            30.0,
        )
        assert "reloaded" in running.logs()
    finally:
        _stop(running)
