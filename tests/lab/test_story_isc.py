"""The seed's story end to end against real dhcpd and dhclients, through the real CLI."""

from __future__ import annotations

import io
import struct
from collections.abc import Sequence
from ipaddress import IPv4Address

import pypureomapi
import pytest
from rich.console import Console

from lab.demo import run
from lab.isc import IscLab
from leasewatch.cli import Env, main

pytestmark = pytest.mark.lab


def test_story_reaps_exactly_the_destroyed_vms_and_new_vms_boot() -> None:
    """Pool dry; one scan --apply frees the 15 orphans; 3 new VMs get them; 6 live VMs kept."""
    out = io.StringIO()
    story = run(
        "isc", Console(file=out, width=120), pool_act=False
    )  # tests/lab/test_macpool_story.py
    assert story.wrong() == []


def _state(lab: IscLab, ip: IPv4Address) -> int:
    """The binding state dhcpd holds for ``ip`` (2 = active), read over OMAPI."""
    conn = pypureomapi.Omapi(
        lab.omapi_host, lab.omapi_port, lab.key_name.encode(), lab.key.encode(), timeout=5
    )
    try:
        message = pypureomapi.OmapiMessage.open(b"lease")
        message.obj.append((b"ip-address", ip.packed))
        state: int = struct.unpack("!I", dict(conn.query_server(message).obj)[b"state"])[0]
    finally:
        conn.close()
    return state


@pytest.mark.parametrize(
    "inventory",
    [["/bin/false"], ["/bin/true"], ["/nonexistent/inventory-command"]],
    ids=["failing", "empty", "missing"],
)
def test_unhealthy_inventory_releases_nothing_and_opens_no_omapi(
    small_isc_lab: IscLab, inventory: Sequence[str]
) -> None:
    """A failing, empty or missing inventory command: scan --apply releases nothing, no OMAPI."""
    lab = small_isc_lab
    gone, alive = lab.boot(2)
    lab.destroy(gone)
    config = lab.workdir / "leasewatch.toml"
    config.write_text(lab.leasewatch_toml(lab.workdir / "state.db", inventory=inventory))
    assert lab.forwarder is not None
    before = lab.forwarder.accepted
    out, err = io.StringIO(), io.StringIO()
    main(["-c", str(config), "scan", "--apply"], Env(stdout=out, stderr=err, color=False))
    assert lab.forwarder.accepted == before, out.getvalue() + err.getvalue()
    for vm in (gone, alive):
        assert vm.ip is not None and _state(lab, vm.ip) == 2
