"""The XenAPI event stream against the wire fake of XAPI (tests/inventory/inventory_lab.py):
``event.from`` long polls, ``del`` and power-state changes as hints, EVENTS_LOST, a refused
login, a pool member that names its master."""

from __future__ import annotations

from leasewatch.events.interface import Backoff
from leasewatch.events.xenapi import XenAPIStream
from tests.events.streams import WAIT, Heard, refused
from tests.inventory.inventory_lab import WRONG_SECRET, FakeXapi, standard_pool, xen_config


def _stream(fake: FakeXapi, heard: Heard, password: str | None = None) -> XenAPIStream:
    config = xen_config(fake.url, **({"password": password} if password else {}))
    stream = XenAPIStream(config, heard, backoff=Backoff(first=0.01, most=0.05))
    stream.poll = 0.5  # seconds: a short long poll, so stop() ends the thread soon
    return stream


def test_deletes_and_power_changes_are_hints_other_changes_are_not(xapi: FakeXapi) -> None:
    """Connected: one change; a description edit: none; a power change: one; a VM.destroy
    (its VIF and VM ``del`` in one batch or two): at least one more."""
    heard = Heard()
    stream = _stream(xapi, heard)
    try:
        stream.start()
        heard.wait_for(changes=1, states=1)
        xapi.touch_vm("OpaqueRef:vm-1")
        xapi.set_power("OpaqueRef:vm-1", "Halted")
        heard.wait_for(changes=2)
        assert len(heard.changes) == 2  # the description edit said nothing
        xapi.delete_vm("OpaqueRef:vm-2")
        heard.wait_for(changes=3)
    finally:
        stream.stop()
    assert set(heard.changes) == {("xen-lab", "xen-lab")}
    assert heard.states == [(True, "connected")]
    assert "event.from" in xapi.calls
    assert not xapi.sessions  # logged out at the end


def test_events_lost_starts_over_and_rereads(xapi: FakeXapi) -> None:
    """EVENTS_LOST: the stream asks again from the empty token and says "re-read"."""
    heard = Heard()
    stream = _stream(xapi, heard)
    try:
        stream.start()
        heard.wait_for(changes=1, states=1)
        xapi.lose_events()
        heard.wait_for(changes=2)
    finally:
        stream.stop()
    assert heard.states == [(True, "connected")]  # still the same connection


def test_a_refused_login_is_down_and_retried_without_the_password(xapi: FakeXapi) -> None:
    """A wrong password: down with the pool's words, retried; the secret never shown."""
    heard = Heard()
    reason = refused(_stream(xapi, heard, password=WRONG_SECRET), heard, WRONG_SECRET)
    assert "login refused for root" in reason, reason


def test_a_pool_member_sends_the_stream_to_its_master(xapi: FakeXapi) -> None:
    """HOST_IS_SLAVE names the master: the stream follows it, as the inventory does."""
    member = FakeXapi(standard_pool(), host="127.0.0.2", port=xapi.port)
    member.mode, member.master = "slave", "127.0.0.1"
    heard = Heard()
    stream = XenAPIStream(xen_config(member.url), heard, backoff=Backoff(first=0.01, most=0.05))
    stream.poll = 0.5
    try:
        stream.start()
        heard.wait_for(changes=1, states=1)
    finally:
        stream.stop()
        member.close()
    assert heard.states == [(True, "connected")]
    assert member.calls == ["session.login_with_password"]
    assert "event.from" in xapi.calls


def test_stop_ends_a_stream_blocked_in_a_long_poll_at_once(xapi: FakeXapi) -> None:
    """A stop while ``event.from`` waits (here up to an hour) cuts its connection: the
    thread has ended when ``stop()`` returns, and the session was still logged out."""
    heard = Heard()
    stream = XenAPIStream(xen_config(xapi.url), heard, backoff=Backoff(first=0.01, most=0.05))
    stream.poll = 3600.0  # the pool would answer only after an hour without news
    try:
        stream.start()
        heard.wait_for(changes=1, states=1)
        xapi.wait_for_poll()
    finally:
        stream.stop(timeout=WAIT)  # a bound for a hung thread, far below the poll
    assert not stream.running
    assert heard.states == [(True, "connected")]  # a stop, not a lost connection
    assert xapi.calls[-1] == "session.logout"
    assert not xapi.sessions
