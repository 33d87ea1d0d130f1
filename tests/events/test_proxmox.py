"""The Proxmox event stream against the wire fake of the PVE API
(tests/inventory/inventory_lab.py): the task list polled, a finished destroy as a hint,
a running one or a start not, a refused token down and retried."""

from __future__ import annotations

import time

from leasewatch.events.interface import Backoff
from leasewatch.events.proxmox import ProxmoxStream
from tests.events.streams import WAIT, Heard, refused
from tests.inventory.inventory_lab import (
    WRONG_SECRET,
    FakePve,
    pve_config,
)


def _stream(fake: FakePve, heard: Heard, token: str | None = None) -> ProxmoxStream:
    config = pve_config(fake.port, **({"token": token} if token else {}))
    stream = ProxmoxStream(config, heard, backoff=Backoff(first=0.01, most=0.05))
    stream.every = 0.05  # seconds: poll quickly in the test
    return stream


def _polled_twice_more(fake: FakePve) -> None:
    """Wait (bounded) until the stream has read the task list twice more."""
    path = "/api2/json/cluster/tasks"
    target = fake.requests.count(path) + 2
    deadline = time.monotonic() + WAIT
    while fake.requests.count(path) < target and time.monotonic() < deadline:
        time.sleep(0.02)
    assert fake.requests.count(path) >= target


def test_a_finished_destroy_is_a_hint_a_running_one_or_a_start_is_not(pve: FakePve) -> None:
    """Connected: one change; a start and a destroy still running: nothing more (the poll
    after them is awaited); the destroy finished: one change."""
    pve.run_task("qmstart", 100)  # history before the stream starts: never a hint
    heard = Heard()
    stream = _stream(pve, heard)
    try:
        stream.start()
        heard.wait_for(changes=1, states=1)
        pve.run_task("qmstart", 100)
        running = pve.run_task("vzdestroy", 200, "pve2", done=False)
        _polled_twice_more(pve)
        assert len(heard.changes) == 1
        pve.finish(running)
        heard.wait_for(changes=2)
    finally:
        stream.stop()
    assert set(heard.changes) == {("pve-lab", "pve-lab")}
    assert heard.states == [(True, "connected")]


def test_a_refused_token_is_down_and_retried_without_the_secret(pve: FakePve) -> None:
    """A wrong token: down with the API's words, retried; the secret never shown."""
    heard = Heard()
    reason = refused(_stream(pve, heard, token=WRONG_SECRET), heard, WRONG_SECRET)
    assert "authentication failed for token" in reason, reason
