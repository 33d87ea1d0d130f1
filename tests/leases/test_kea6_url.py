"""Kea DHCPv6 over ``control_url`` against the documented answers of kea-ctrl-agent 2.6 and
kea-dhcp6 3.0's own HTTP socket (a loopback fake; Kea 2.2 runs live in
tests/lab/test_kea6_url_lab.py): the service chosen per server, every command sent to it."""

from __future__ import annotations

from datetime import UTC, datetime
from ipaddress import IPv6Address
from typing import Any

import pytest

from leasewatch.config import ServerConfig
from leasewatch.errors import LeasesError
from leasewatch.leases.kea import KeaLeaseSource
from leasewatch.model import BindingState, Lease, Outcome, PoolKind
from leasewatch.reaper.kea import KeaReleaseBackend
from tests.leases.kea_http_fake import FakeKea, serving
from tests.leases.test_kea_contract import DHCP4, leases_3_0, with_ha

CLTT = 1_790_000_000
DHCP6: dict[str, Any] = {
    "subnet6": [
        {
            "id": 1,
            "subnet": "2001:db8:1::/64",
            "pools": [{"pool": "2001:db8:1::100-2001:db8:1::1ff"}],
            "pd-pools": [{"prefix": "2001:db8:8000::", "prefix-len": 48, "delegated-len": 56}],
        }
    ]
}
MAC_A = "52:54:00:00:06:0a"
DUID_A = "00:03:00:01:52:54:00:00:06:0a"


def leases6() -> list[dict[str, Any]]:
    """An address and a delegated prefix as Lease6::toElement writes them (3.0: pool-id)."""
    common = {
        "subnet-id": 1,
        "cltt": CLTT,
        "valid-lft": 3600,
        "preferred-lft": 1800,
        "fqdn-fwd": False,
        "fqdn-rev": False,
        "hostname": "",
        "state": 0,
        "pool-id": 0,
    }
    return [
        {**common, "ip-address": "2001:db8:1::100", "type": "IA_NA", "prefix-len": 128,
         "duid": DUID_A, "iaid": 1, "hw-address": MAC_A, "hostname": "vm-a"},
        {**common, "ip-address": "2001:db8:8000:100::", "type": "IA_PD", "prefix-len": 56,
         "duid": DUID_A, "iaid": 2, "hw-address": MAC_A},
    ]  # fmt: skip


def fake(release: str, sockets: tuple[str, ...] = ("dhcp6",)) -> FakeKea:
    """A fake Kea holding both daemons' configs and leases (the agent forwards to ``sockets``)."""
    return FakeKea(release, DHCP4, leases_3_0(), dhcp6=DHCP6, leases6=leases6(), sockets=sockets)


def read(served: FakeKea, service: str | None = None, name: str = "kea6") -> Any:
    """The server by the fake's URL (with ``service`` when given), as ``report`` reads it."""
    config = ServerConfig(
        name=name, kind="kea", control_url=served.url, service=service, page_size=1
    )
    return KeaLeaseSource(config).read()


def sent(served: FakeKea) -> list[tuple[str, Any]]:
    """Each request's command and service, in order."""
    return [(body["command"], body.get("service")) for body in served.requests]


@pytest.mark.parametrize("release", ["2.6-agent", "3.0-dhcp6"])
def test_a_dhcp6_url_is_read_as_dhcp6_and_asked_for_dhcp6(release: str) -> None:
    """An agent forwarding to kea-dhcp6 only, or kea-dhcp6's own socket: pools, PD pools and
    both leases read, every command after the first naming dhcp6."""
    with serving(fake(release)) as served:
        snapshot = read(served)
    assert [(r.label, r.kind, r.size) for r in snapshot.ranges] == [
        ("2001:db8:1::100-2001:db8:1::1ff", PoolKind.ADDRESS, 256),
        ("2001:db8:8000::/48 /56", PoolKind.PREFIX, 256),
    ]
    assert sorted(lease.label for lease in snapshot.leases) == [
        "2001:db8:1::100",
        "2001:db8:8000:100::/56",
    ]
    first: list[tuple[str, Any]] = [("config-get", None)]
    if release == "2.6-agent":
        first.append(("config-get", ["dhcp6"]))
    assert sent(served) == [*first, *[("lease6-get-page", ["dhcp6"])] * 3]


def test_an_agent_in_front_of_both_daemons_wants_a_service() -> None:
    """Both control sockets and no service: one line naming the URL and the key to set."""
    with (
        serving(fake("2.6-agent", ("dhcp4", "dhcp6"))) as served,
        pytest.raises(LeasesError) as caught,
    ):
        read(served)
    assert str(caught.value) == (
        f"kea server 'kea6': config-get: control URL {served.url} is a kea-ctrl-agent in front "
        'of both kea-dhcp4 and kea-dhcp6: set service = "dhcp4" or "dhcp6" (one [[servers]] '
        "entry for each)"
    )


def test_one_agent_url_as_two_servers_by_service() -> None:
    """The same agent URL twice, service dhcp4 and dhcp6: each entry reads its own daemon."""
    with serving(fake("2.6-agent", ("dhcp4", "dhcp6"))) as served:
        v4 = read(served, "dhcp4", "kea4")
        to_v4 = sent(served)
        v6 = read(served, "dhcp6", "kea6")
    assert {lease.ip.version for lease in v4.leases} == {4}
    assert {lease.ip.version for lease in v6.leases} == {6}
    assert all(service == ["dhcp4"] for _, service in to_v4)
    assert all(service == ["dhcp6"] for _, service in sent(served)[len(to_v4) :])


def test_a_service_the_agent_has_no_socket_for_is_kea_s_error() -> None:
    """service = "dhcp6" at an agent forwarding to dhcp4 only: Kea's result 1, in one line."""
    with serving(fake("2.6-agent", ("dhcp4",))) as served, pytest.raises(LeasesError) as caught:
        read(served, "dhcp6")
    assert str(caught.value) == (
        "kea server 'kea6': config-get: Kea answered result 1: forwarding socket is not "
        "configured for the server type dhcp6"
    )


def test_a_service_that_is_not_the_daemon_at_the_url_is_an_error() -> None:
    """service = "dhcp6" but the URL is kea-dhcp4's own socket (3.0 ignores the service)."""
    with serving(fake("3.0-dhcp4")) as served, pytest.raises(LeasesError) as caught:
        read(served, "dhcp6")
    assert str(caught.value) == (
        f"kea server 'kea6': config-get: service = 'dhcp6', but control URL {served.url} is "
        "kea-dhcp4 (it answered a Dhcp4 config)"
    )


@pytest.mark.parametrize("release", ["2.6-agent", "3.0-dhcp6"])
def test_a_v6_release_goes_to_dhcp6(release: str) -> None:
    """lease6-get then lease6-del, both to dhcp6; the lease is gone from the daemon."""
    lease = Lease(
        ip=IPv6Address("2001:db8:1::100"),
        state=BindingState.ACTIVE,
        mac=MAC_A,
        duid=DUID_A,
        iaid=1,
        server="kea6",
    )
    with serving(fake(release, ("dhcp4", "dhcp6"))) as served:
        backend = KeaReleaseBackend(ServerConfig(name="kea6", kind="kea", control_url=served.url))
        try:
            outcome, detail = backend.release(lease)
        finally:
            backend.close()
    assert (outcome, detail) == (
        Outcome.RELEASED,
        f"lease6-del 2001:db8:1::100 ({MAC_A}): IPv6 lease deleted.",
    )
    assert sent(served) == [("lease6-get", ["dhcp6"]), ("lease6-del", ["dhcp6"])]
    assert [x["ip-address"] for x in served.leases6] == ["2001:db8:8000:100::"]


def test_a_v6_lease_at_a_dhcp4_service_is_refused() -> None:
    """A server whose service is dhcp4 never sends a v6 lease's deletion anywhere."""
    lease = Lease(ip=IPv6Address("2001:db8:1::100"), state=BindingState.ACTIVE, mac=MAC_A)
    backend = KeaReleaseBackend(
        ServerConfig(name="kea4", kind="kea", control_url="http://127.0.0.1:9/", service="dhcp4")
    )
    assert backend.release(lease) == (
        Outcome.REFUSED,
        "2001:db8:1::100 is an IPv6 lease, the server's service is dhcp4",
    )


def test_a_v6_ha_relationship_asks_dhcp6_for_its_state() -> None:
    """The HA hook in Dhcp6: the pairing is read, ha-heartbeat goes to dhcp6."""
    dhcp6 = with_ha(DHCP6, "http://[2001:db8:1::1]:8001/", "http://[2001:db8:1::2]:8001/")
    served_fake = FakeKea("3.0-dhcp6", DHCP4, [], dhcp6=dhcp6, leases6=leases6())
    with serving(served_fake) as served:
        snapshot = read(served)
    assert snapshot.pairing is not None and snapshot.pairing.role == "primary"
    assert ("ha-heartbeat", ["dhcp6"]) in sent(served)
    now = datetime.fromtimestamp(CLTT + 60, tz=UTC)
    assert len([lease for lease in snapshot.leases if lease.is_active(now)]) == 2
