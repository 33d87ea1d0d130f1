"""The Proxmox VE adapter against a fake PVE API over HTTPS with the documented JSON."""

from __future__ import annotations

import socket
import sys

import pytest

from leasewatch.errors import InventoryError
from leasewatch.inventory.kinds import build
from leasewatch.inventory.proxmox import ProxmoxSource
from tests.inventory.inventory_lab import (
    PVE_TOKEN_NAME,
    PVE_USER,
    SECRET,
    WRONG_SECRET,
    Cert,
    FakePve,
    pve_config,
)


def test_qemu_and_lxc_macs_templates_skipped(pve: FakePve) -> None:
    """qemu's model=MAC and lxc's hwaddr= are read; a template's MAC is not live."""
    macs = ProxmoxSource(pve_config(pve.port)).macs()
    assert macs == {"52:54:00:12:34:01", "bc:24:11:0a:0b:0c"}
    assert not any("/9000/" in path for path in pve.requests)  # template config never read


def test_sends_the_api_token_header(pve: FakePve) -> None:
    """The token goes in PVE's Authorization header form, on the resources query."""
    ProxmoxSource(pve_config(pve.port)).macs()
    assert pve.requests[0] == "/api2/json/cluster/resources?type=vm"
    assert set(pve.auth_headers) == {f"PVEAPIToken={PVE_USER}!{PVE_TOKEN_NAME}={SECRET}"}


@pytest.mark.parametrize(
    ("line", "mac"),
    [
        ("virtio=BC:24:11:AA:00:01,bridge=vmbr0,firewall=1", "bc:24:11:aa:00:01"),
        ("e1000=BC:24:11:AA:00:02,bridge=vmbr1", "bc:24:11:aa:00:02"),
        ("vmxnet3=bc:24:11:aa:00:03,bridge=vmbr0,tag=20", "bc:24:11:aa:00:03"),
        ("rtl8139=BC:24:11:AA:00:04,bridge=vmbr0,link_down=1", "bc:24:11:aa:00:04"),
        ("e1000e=BC:24:11:AA:00:05,bridge=vmbr0", "bc:24:11:aa:00:05"),
        ("model=virtio,macaddr=BC:24:11:AA:00:06,bridge=vmbr0", "bc:24:11:aa:00:06"),
        ("newnic=BC:24:11:AA:00:07,bridge=vmbr0", "bc:24:11:aa:00:07"),
    ],
)
def test_qemu_mac_is_the_model_keys_value(pve_cert: Cert, line: str, mac: str) -> None:
    """Whatever NIC model key a qemu netN line uses, its value is the MAC."""
    cluster = {
        "resources": [{"id": "qemu/101", "type": "qemu", "node": "n1", "vmid": 101, "template": 0}],
        "configs": {"/nodes/n1/qemu/101/config": {"net3": line, "name": "x"}},
    }
    fake = FakePve(pve_cert, cluster)
    try:
        assert ProxmoxSource(pve_config(fake.port)).macs() == {mac}
    finally:
        fake.close()


def test_net_line_without_mac_names_guest_and_key(pve: FakePve) -> None:
    """A netN line with no readable MAC fails the source, naming the config path and key."""
    pve.cluster["configs"]["/nodes/pve2/lxc/200/config"]["net1"] = "name=eth1,bridge=vmbr0"
    with pytest.raises(
        InventoryError, match=r"/nodes/pve2/lxc/200/config net1: no MAC address in 'name=eth1"
    ):
        ProxmoxSource(pve_config(pve.port)).macs()


def test_refused_token_is_an_auth_failure_without_secret(pve: FakePve) -> None:
    """HTTP 401 (a refused token) names the token id, never its value."""
    with pytest.raises(InventoryError) as info:
        ProxmoxSource(pve_config(pve.port, token=WRONG_SECRET)).macs()
    message = str(info.value)
    assert message == (
        f"inventory pve-lab: 127.0.0.1:{pve.port}: authentication failed for token "
        f"{PVE_USER}!{PVE_TOKEN_NAME}"
    )
    assert WRONG_SECRET not in message and SECRET not in message


def test_missing_config_endpoint_is_an_http_error(pve: FakePve) -> None:
    """A guest whose config cannot be read (HTTP 5xx) fails the whole source."""
    del pve.cluster["configs"]["/nodes/pve1/qemu/100/config"]
    with pytest.raises(InventoryError, match=r"HTTP 501"):
        ProxmoxSource(pve_config(pve.port)).macs()


def test_resources_not_a_list_is_malformed(pve: FakePve) -> None:
    """``data`` of the wrong shape is a malformed answer, not an empty inventory."""
    pve.cluster["resources_data"] = {"qemu/100": {"node": "pve1"}}
    with pytest.raises(InventoryError, match=r"malformed answer from /cluster/resources"):
        ProxmoxSource(pve_config(pve.port)).macs()


def test_verify_ssl_against_self_signed_is_a_clear_tls_error(pve: FakePve) -> None:
    """verify_ssl = true (the default) refuses the self-signed cert and says what to do."""
    snap = build(pve_config(pve.port, verify_ssl=True)).fetch()
    assert not snap.healthy
    assert snap.reason is not None
    assert snap.reason.startswith(f"127.0.0.1:{pve.port}: certificate not trusted: ")
    assert "set tls_ca to the CA that signed it, or verify_ssl = false" in snap.reason
    assert pve.requests == []


def test_connection_refused() -> None:
    """Nobody listening: one line saying the host cannot be reached."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    snap = build(pve_config(port)).fetch()
    assert snap.reason == f"127.0.0.1:{port}: cannot connect: Connection refused"


def test_missing_sdk_names_the_extra(monkeypatch: pytest.MonkeyPatch, pve: FakePve) -> None:
    """Without proxmoxer the error says which extra to install."""
    monkeypatch.setitem(sys.modules, "proxmoxer", None)
    snap = build(pve_config(pve.port)).fetch()
    assert snap.reason == ("the proxmoxer module is missing: pip install 'leasewatch[proxmox]'")
