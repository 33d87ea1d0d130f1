"""The Kea client against the documented HTTP answers of Kea 2.6 and 3.0 (a loopback fake).

Kea 2.2 runs live here (tests/leases/test_kea.py, test_kea_tls.py); these pin what later
releases answer, each answer's release and source named in tests/leases/kea_http_fake.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from ipaddress import IPv4Address
from typing import Any

import pytest

from leasewatch.config import Secret, ServerConfig
from leasewatch.errors import LeasesError, ReleaseError
from leasewatch.leases.kea import KeaLeaseSource
from leasewatch.model import BindingState, Lease
from leasewatch.reaper.kea import KeaReleaseBackend
from tests.leases.kea_http_fake import FakeKea, serving

CLTT = 1_790_000_000
DHCP4: dict[str, Any] = {
    "subnet4": [
        {"id": 1, "subnet": "198.18.4.0/24", "pools": [{"pool": "198.18.4.10-198.18.4.20"}]}
    ]
}


def leases_3_0() -> list[dict[str, Any]]:
    """Three leases as Kea 3.0's Lease4::toElement writes them: bound, released, declined."""
    common = {"subnet-id": 1, "cltt": CLTT, "valid-lft": 3600, "fqdn-fwd": False}
    return [
        {**common, "ip-address": "198.18.4.10", "hw-address": "52:54:00:00:04:0a",
         "pool-id": 0, "hostname": "vm-a", "state": 0, "fqdn-rev": False},
        {**common, "ip-address": "198.18.4.11", "hw-address": "52:54:00:00:04:0b",
         "hostname": "", "state": 3, "fqdn-rev": False},
        {**common, "ip-address": "198.18.4.12", "hw-address": "52:54:00:00:04:0c",
         "pool-id": 2, "hostname": "", "state": 1, "fqdn-rev": False},
    ]  # fmt: skip


@pytest.fixture(params=["2.6-agent", "3.0-dhcp4"])
def fake(request: pytest.FixtureRequest) -> Iterator[FakeKea]:
    """A fake Kea of one release, with basic auth on, serving on loopback."""
    with serving(
        FakeKea(request.param, DHCP4, leases_3_0(), user="leasewatch", password="pw-1")
    ) as served:
        yield served


def config(fake: FakeKea, password: str = "pw-1", **extra: Any) -> ServerConfig:
    """A [[servers]] entry for the fake, by control_url with basic auth."""
    return ServerConfig(
        name="kea9",
        kind="kea",
        control_url=fake.url,
        username="leasewatch",
        password=Secret(password),
        page_size=2,
        **extra,
    )


def test_each_release_answers_in_a_list_and_reads_the_same(fake: FakeKea) -> None:
    """2.6's agent and 3.0's own HTTP socket frame answers alike; pools and leases read."""
    snapshot = KeaLeaseSource(config(fake)).read()
    assert [(str(r.first), str(r.last)) for r in snapshot.ranges] == [
        ("198.18.4.10", "198.18.4.20")
    ]
    states = {str(lease.ip): lease.state for lease in snapshot.leases}
    assert states == {
        "198.18.4.10": BindingState.ACTIVE,
        "198.18.4.11": BindingState.RELEASED,
        "198.18.4.12": BindingState.DECLINED,
    }
    # the first config-get names no service: the agent answers its own config (its one
    # control socket is dhcp4's), the daemon its Dhcp4 map; every later command names dhcp4
    sent = [(body["command"], body.get("service")) for body in fake.requests]
    first = (
        [("config-get", None), ("config-get", ["dhcp4"])]
        if fake.release == "2.6-agent"
        else [("config-get", None)]
    )
    assert sent == [*first, *[("lease4-get-page", ["dhcp4"])] * 2]


def test_a_released_lease_of_kea_3_0_holds_no_address() -> None:
    """State 3 (released, Kea 3.0) counts as free: the census has only the bound lease."""
    with serving(FakeKea("3.0-dhcp4", DHCP4, leases_3_0())) as fake:
        snapshot = KeaLeaseSource(
            ServerConfig(name="kea9", kind="kea", control_url=fake.url)
        ).read()
    now = datetime.fromtimestamp(CLTT + 60, tz=UTC)
    active = [str(lease.ip) for lease in snapshot.leases if lease.is_active(now)]
    assert active == ["198.18.4.10"]


def test_a_3_0_daemon_without_agent_emulation_answers_a_bare_map() -> None:
    """With emulation off Kea 3.0 answers a map, not a list; the client reads either."""
    with serving(FakeKea("3.0-dhcp4", DHCP4, leases_3_0(), wrap_in_list=False)) as fake:
        snapshot = KeaLeaseSource(
            ServerConfig(name="kea9", kind="kea", control_url=fake.url)
        ).read()
    assert len(snapshot.leases) == 3


def test_a_wrong_password_is_one_unauthorized_line(fake: FakeKea) -> None:
    """HTTP 401 with Kea's {"result": 401} map: "unauthorized", the server, never the password."""
    with pytest.raises(LeasesError) as caught:
        KeaLeaseSource(config(fake, password="wrong-pw")).read()
    message = str(caught.value)
    assert message == (
        f"kea server 'kea9': config-get: unauthorized: control URL {fake.url} refused user "
        "'leasewatch' (401 Unauthorized)"
    )
    assert "wrong-pw" not in message and "pw-1" not in message


def test_a_forbidden_command_is_one_unauthorized_line_naming_it() -> None:
    """Kea 3.0's RBAC refusal (HTTP 403, {"result": 403, "text": "Forbidden"}) on lease4-del."""
    leases = leases_3_0()
    with serving(
        FakeKea(
            "3.0-dhcp4",
            DHCP4,
            leases,
            user="ro",
            password="pw",
            forbidden=frozenset({"lease4-get"}),
        )
    ) as fake:
        backend = KeaReleaseBackend(
            ServerConfig(
                name="kea9", kind="kea", control_url=fake.url, username="ro", password=Secret("pw")
            )
        )
        lease = Lease(
            ip=IPv4Address("198.18.4.10"), state=BindingState.ACTIVE, mac="52:54:00:00:04:0a"
        )
        with pytest.raises(ReleaseError) as caught:
            backend.release(lease)
        backend.close()
    assert str(caught.value) == (
        f"kea server 'kea9': lease4-get: unauthorized: control URL {fake.url} refused user "
        "'ro' (403 Forbidden)"
    )


def test_no_credentials_against_basic_auth_says_so(fake: FakeKea) -> None:
    """A server that wants basic auth, a config without a user: the line says no credentials."""
    with pytest.raises(LeasesError) as caught:
        KeaLeaseSource(ServerConfig(name="kea9", kind="kea", control_url=fake.url)).read()
    assert str(caught.value).endswith("refused a request without credentials (401 Unauthorized)")


def test_the_request_carries_only_keys_kea_3_0_accepts() -> None:
    """Kea 3.0 refuses unknown top-level keys; leasewatch sends command, arguments, service."""
    with serving(FakeKea("3.0-dhcp4", DHCP4, [])) as fake:
        snapshot = KeaLeaseSource(
            ServerConfig(name="kea9", kind="kea", control_url=fake.url)
        ).read()
    assert len(snapshot.leases) == 0
    assert {key for body in fake.requests for key in body} <= {"command", "arguments", "service"}


def with_ha(daemon: dict[str, Any], url1: str, url2: str) -> dict[str, Any]:
    """``daemon`` (a Dhcp4 or Dhcp6 map) with lease_cmds and the HA hook: server1 (primary,
    this server) and server2 (standby) in hot-standby."""
    relationship = {
        "this-server-name": "server1",
        "mode": "hot-standby",
        "peers": [
            {"name": "server1", "url": url1, "role": "primary"},
            {"name": "server2", "url": url2, "role": "standby"},
        ],
    }
    ha = {"library": "libdhcp_ha.so", "parameters": {"high-availability": [relationship]}}
    return {**daemon, "hooks-libraries": [{"library": "libdhcp_lease_cmds.so"}, ha]}


def test_an_ha_peer_that_refuses_ha_heartbeat_has_an_unknown_state() -> None:
    """The HA hook in config-get, ha-heartbeat not answered: the pairing is read, its state
    unknown (the pair then holds), the leases still read."""
    dhcp4 = with_ha(DHCP4, "http://198.18.4.1:8001/", "http://198.18.4.2:8001/")
    with serving(FakeKea("3.0-dhcp4", dhcp4, leases_3_0())) as fake:
        snapshot = KeaLeaseSource(
            ServerConfig(name="kea9", kind="kea", control_url=fake.url)
        ).read()
    assert snapshot.pairing is not None
    assert (snapshot.pairing.role, snapshot.pairing.state, snapshot.pairing.normal) == (
        "primary",
        None,
        None,
    )
    assert len(snapshot.leases) == 3
