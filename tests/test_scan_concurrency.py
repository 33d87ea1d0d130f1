"""The scanner reads its servers at once (issue 22): twenty slow servers in the time of one,
and a hung one abandoned at its deadline without delaying the rest."""

from __future__ import annotations

import dataclasses
import sys
import threading
import time
from pathlib import Path

import pytest

from leasewatch import scan
from leasewatch.config import Config, InventoryConfig, ServerConfig
from leasewatch.leases.interface import LeaseSource
from leasewatch.model import ServerSnapshot
from leasewatch.scan import Scanner


class SlowServer(LeaseSource):
    """A server that answers after ``seconds`` (a Kea paging over a slow link), noting when
    each read started and ended. Only the delay is made up: the scanner under test is real."""

    delays: dict[str, float] = {}
    spans: dict[str, tuple[float, float]] = {}
    lock = threading.Lock()

    def __init__(self, config: ServerConfig) -> None:
        self.name = config.name
        self.seconds = self.delays[config.name]

    def read(self) -> ServerSnapshot:
        start = time.monotonic()
        time.sleep(self.seconds)
        with self.lock:
            self.spans[self.name] = (start, time.monotonic())
        return ServerSnapshot(server=self.name, kind="kea")


def _config(tmp_path: Path, delays: list[float], timeout: float = 10.0) -> Config:
    SlowServer.spans.clear()
    SlowServer.delays = {f"dhcp{n}": d for n, d in enumerate(delays)}
    return Config(
        path=tmp_path / "leasewatch.toml",
        servers=tuple(
            ServerConfig(f"dhcp{n}", "kea", control_socket=tmp_path / "sock", timeout=timeout)
            for n in range(len(delays))
        ),
    )


def test_twenty_slow_servers_are_read_at_once(tmp_path: Path) -> None:
    """Twenty servers that take a second each all read together: each starts before any ends."""
    scanner = Scanner(_config(tmp_path, [1.0] * 20), lease_source=SlowServer)
    started = time.monotonic()
    snaps = scanner.read_servers()
    took = time.monotonic() - started
    assert [s.server for s in snaps] == [f"dhcp{n}" for n in range(20)]
    assert all(s.error is None for s in snaps)
    spans = SlowServer.spans.values()
    assert max(s for s, _ in spans) < min(e for _, e in spans)
    assert took < 15  # generous: one after another they take 20 s


def test_a_hung_server_is_an_error_at_its_deadline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server still reading at its deadline becomes an error snapshot, the others answer,
    and the next scan reads it with a fresh source (the abandoned read may still run)."""
    monkeypatch.setattr(scan, "SERVER_READ_FLOOR", 0.0)  # whole reads get just `timeout`
    config = _config(tmp_path, [3.0, 0.01, 0.01], timeout=0.5)
    scanner = Scanner(config, lease_source=SlowServer)
    hung = scanner.lease_sources[0]
    snaps = scanner.read_servers()
    assert snaps[0].error == "server dhcp0: no answer within 0.5s"
    assert [s.error for s in snaps[1:]] == [None, None]
    assert {"dhcp1", "dhcp2"} <= set(SlowServer.spans)
    assert "dhcp0" not in SlowServer.spans  # it was still sleeping when the scan went on
    assert scanner.lease_sources[0] is not hung


def _stamping_inventory(directory: Path, name: str, seconds: float, timeout: float) -> str:
    """A command inventory (a real process) that notes its start and end on the same
    monotonic clock as SlowServer, sleeping ``seconds`` between; its argv's program."""
    script = directory / f"{name}.py"
    script.write_text(
        "import sys, time\n"
        f"open({str(directory / (name + '.start'))!r}, 'w').write(repr(time.monotonic()))\n"
        f"time.sleep({seconds})\n"
        f"open({str(directory / (name + '.end'))!r}, 'w').write(repr(time.monotonic()))\n"
        "print('52:54:00:00:00:01')\n"
    )
    return str(script)


def _with_inventories(
    config: Config, directory: Path, plan: dict[str, tuple[float, float]]
) -> Config:
    inventories = tuple(
        InventoryConfig(
            name=name,
            kind="command",
            command=(sys.executable, _stamping_inventory(directory, name, seconds, timeout)),
            timeout=timeout,
        )
        for name, (seconds, timeout) in plan.items()
    )
    return dataclasses.replace(config, inventory=inventories)


def test_servers_and_inventories_are_read_at_once(tmp_path: Path) -> None:
    """A scan reads its inventories while it reads its servers: the inventory's run
    overlaps the server's read, so a scan waits for its slowest source only."""
    config = _with_inventories(_config(tmp_path, [1.0]), tmp_path, {"hv": (1.0, 30.0)})
    servers, inventories = Scanner(config, lease_source=SlowServer).read_sources()
    assert [s.error for s in servers] == [None]
    assert [(i.source, i.healthy) for i in inventories] == [("hv", True)]
    server_start, server_end = SlowServer.spans["dhcp0"]
    inv_start = float((tmp_path / "hv.start").read_text())
    inv_end = float((tmp_path / "hv.end").read_text())
    assert inv_start < server_end and server_start < inv_end


def test_a_hung_server_and_a_hung_inventory_delay_nobody(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In one read, a server and an inventory that never answer are an error and unhealthy
    at their own deadlines, while the server and inventory beside them answer."""
    monkeypatch.setattr(scan, "SERVER_READ_FLOOR", 0.0)
    config = _config(tmp_path, [5.0, 0.01], timeout=0.5)
    config = _with_inventories(config, tmp_path, {"hung": (45.0, 1.0), "hv": (0.01, 30.0)})
    servers, inventories = Scanner(config, lease_source=SlowServer).read_sources()
    assert [s.error for s in servers] == ["server dhcp0: no answer within 0.5s", None]
    assert [(i.source, i.healthy) for i in inventories] == [("hung", False), ("hv", True)]
    assert "timed out after 1s" in (inventories[0].reason or "")
    assert not (tmp_path / "hung.end").exists()  # still asleep when the read went on
