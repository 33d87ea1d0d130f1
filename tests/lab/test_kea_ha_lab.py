"""The Kea HA lab itself: two real kea-dhcp4 2.2 in hot-standby, and what HA does with a delete.

Measured here: an administrator's lease4-del on one peer stays on the other and comes back
after ``ha-sync`` or a restart (so a release must reach every peer); and the HA dedicated
listener runs any command unauthenticated (so it must stay on the pair's own network).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from lab.kea_ha import KeaHaLab

pytestmark = pytest.mark.lab


@pytest.fixture
def ha_lab() -> Iterator[KeaHaLab]:
    """server1 (primary) and server2 (standby) serving a 4-address pool."""
    lab = KeaHaLab.start(pool_size=4)
    try:
        yield lab
    finally:
        lab.close()


def test_a_delete_on_one_peer_comes_back(ha_lab: KeaHaLab) -> None:
    """Kea 2.2's HA: lease4-del on server1 stays on server2, and returns after a sync or restart."""
    lab = ha_lab
    [vm] = lab.boot(1)
    ip = str(vm.ip)
    assert lab.lease(0, ip) is not None and lab.lease(1, ip) is not None
    assert lab.kea(0).command("lease4-del", {"ip-address": ip})["result"] == 0
    assert lab.lease(0, ip) is None and lab.lease(1, ip) is not None
    lab.sync(0)
    assert lab.lease(0, ip) is not None  # back from server2
    assert lab.kea(0).command("lease4-del", {"ip-address": ip})["result"] == 0
    lab.restart(0)
    assert lab.lease(0, ip) is not None  # back again: the restart syncs from server2


def test_the_dedicated_listener_answers_without_authentication(ha_lab: KeaHaLab) -> None:
    """The HA listener runs any command for anyone who reaches it: keep it on the pair's net."""
    lab = ha_lab
    body = json.dumps({"command": "lease4-get-all"}).encode()
    ns = lab.namespaces[1]
    url = lab.urls[0]
    code = (
        "import sys, urllib.request; r = urllib.request.urlopen(urllib.request.Request("
        f"{url!r}, data={body!r}, headers={{'Content-Type': 'application/json'}}), timeout=5); "
        "sys.stdout.write(r.read().decode())"
    )
    answer = json.loads(ns.run("python3", "-c", code))  # from server2's namespace
    assert answer[0]["result"] in (0, 3)  # leases (or none): no credentials were asked for
