"""The XenAPI adapter against a fake XAPI speaking the real XML-RPC wire protocol."""

from __future__ import annotations

import socket
import sys

import pytest

from leasewatch.errors import InventoryError
from leasewatch.inventory.kinds import build
from leasewatch.inventory.xenapi import XenAPISource
from tests.inventory.inventory_lab import (
    SECRET,
    WRONG_SECRET,
    Cert,
    FakeXapi,
    XapiPool,
    standard_pool,
    vm_record,
    xen_config,
)


def test_skips_templates_snapshots_and_dom0(xapi: FakeXapi) -> None:
    """Only real VMs count: the template's, snapshot's and dom0's MACs are not live."""
    macs = XenAPISource(xen_config(xapi.url)).macs()
    assert macs == {"52:54:00:12:34:01", "bc:24:11:0a:0b:0c"}
    assert "aa:00:00:00:00:02" not in macs  # the snapshot of a deleted VM


def test_halted_vm_with_detached_vif_counts(xapi: FakeXapi) -> None:
    """A halted VM's VIF is not attached, yet the VM will boot again and keeps its lease."""
    vif = next(v for v in xapi.pool.vifs.values() if v["VM"] == "OpaqueRef:vm-2")
    assert vif["currently_attached"] is False
    assert "bc:24:11:0a:0b:0c" in XenAPISource(xen_config(xapi.url)).macs()


def test_snapshot_flag_alone_is_skipped() -> None:
    """A record flagged only is_a_snapshot (not template) is still not a live VM."""
    pool = XapiPool()
    pool.add("OpaqueRef:s", vm_record("s", "snap", [], snapshot=True), ["aa:00:00:00:00:03"])
    fake = FakeXapi(pool)
    try:
        assert XenAPISource(xen_config(fake.url)).macs() == frozenset()
    finally:
        fake.close()


def test_logs_out_after_reading(xapi: FakeXapi) -> None:
    """Every login is followed by a logout so sessions do not pile up on the pool."""
    XenAPISource(xen_config(xapi.url)).macs()
    assert xapi.calls == [
        "session.login_with_password",
        "VM.get_all_records",
        "VIF.get_all_records",
        "session.logout",
    ]
    assert xapi.sessions == set()


def test_host_is_slave_redirects_to_master() -> None:
    """A pool member answers HOST_IS_SLAVE with the master's address; we follow it once."""
    master = FakeXapi(standard_pool(), host="127.0.0.1")
    slave = None
    try:
        slave = FakeXapi(XapiPool(), host="127.0.0.2", port=master.port)
        slave.mode, slave.master = "slave", "127.0.0.1"
        macs = XenAPISource(xen_config(slave.url)).macs()
        assert macs == {"52:54:00:12:34:01", "bc:24:11:0a:0b:0c"}
        assert slave.calls == ["session.login_with_password"]
        assert "VIF.get_all_records" in master.calls
    finally:
        if slave is not None:
            slave.close()
        master.close()


def test_redirect_loop_is_an_error() -> None:
    """A 'master' that calls itself a slave too is reported, not followed forever."""
    first = FakeXapi(XapiPool(), host="127.0.0.1")
    second = None
    try:
        second = FakeXapi(XapiPool(), host="127.0.0.2", port=first.port)
        first.mode, first.master = "slave", "127.0.0.2"
        second.mode, second.master = "slave", "127.0.0.1"
        with pytest.raises(
            InventoryError,
            match=r"127\.0\.0\.1:\d+ is a pool member too \(master at 127\.0\.0\.2\)",
        ):
            XenAPISource(xen_config(second.url)).macs()
    finally:
        if second is not None:
            second.close()
        first.close()


def test_authentication_failure_names_user_not_password(xapi: FakeXapi) -> None:
    """SESSION_AUTHENTICATION_FAILED becomes one line naming the user, never the password."""
    with pytest.raises(InventoryError) as info:
        XenAPISource(xen_config(xapi.url, password=WRONG_SECRET)).macs()
    message = str(info.value)
    assert message == (
        f"inventory xen-lab: 127.0.0.1:{xapi.port}: login refused for root (wrong password?)"
    )
    assert WRONG_SECRET not in message and SECRET not in message


def test_answer_without_envelope_is_malformed(xapi: FakeXapi) -> None:
    """XML-RPC without XAPI's Status/Value envelope is a malformed answer, not a crash."""
    xapi.mode = "no_status"
    with pytest.raises(InventoryError, match="malformed answer"):
        XenAPISource(xen_config(xapi.url)).macs()


def test_bad_vif_mac_names_the_vif(xapi: FakeXapi) -> None:
    """A VIF whose MAC cannot be read fails the source and names the VIF."""
    ref = next(r for r, v in xapi.pool.vifs.items() if v["VM"] == "OpaqueRef:vm-1")
    xapi.pool.vifs[ref]["MAC"] = "52:54:00:12:34"
    with pytest.raises(InventoryError, match=rf"VIF '{ref}': expected a MAC, got '52:54:00:12:34'"):
        XenAPISource(xen_config(xapi.url)).macs()


def test_vm_record_missing_flags_is_malformed(xapi: FakeXapi) -> None:
    """A VM record without is_a_template cannot be judged, so the source fails."""
    del xapi.pool.vms["OpaqueRef:vm-1"]["is_a_template"]
    with pytest.raises(InventoryError, match="malformed VM record 'OpaqueRef:vm-1'"):
        XenAPISource(xen_config(xapi.url)).macs()


def test_connection_refused() -> None:
    """Nobody listening: one line saying the host cannot be reached."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    snap = build(xen_config(f"http://127.0.0.1:{port}")).fetch()
    assert snap.reason == f"127.0.0.1:{port}: cannot connect: Connection refused"


def test_https_self_signed_needs_verify_ssl_false(pve_cert: Cert) -> None:
    """Against a self-signed XAPI certificate, verification fails clearly unless turned off."""
    fake = FakeXapi(standard_pool(), cert=pve_cert)
    try:
        with pytest.raises(InventoryError, match=r"certificate not trusted: self.signed"):
            XenAPISource(xen_config(fake.url)).macs()
        loose = XenAPISource(xen_config(fake.url, verify_ssl=False))
        assert loose.macs() == {"52:54:00:12:34:01", "bc:24:11:0a:0b:0c"}
    finally:
        fake.close()


def test_missing_sdk_names_the_extra(monkeypatch: pytest.MonkeyPatch, xapi: FakeXapi) -> None:
    """Without the XenAPI package the error says which extra to install."""
    monkeypatch.setitem(sys.modules, "XenAPI", None)
    snap = build(xen_config(xapi.url)).fetch()
    assert snap.reason == ("the XenAPI module is missing: pip install 'leasewatch[xen]'")
