"""Kea HA detection from config-get's Dhcp4 map (the HA story runs it against live 2.2 peers).

The maps below follow the Kea ARM's HA examples (2.2 and 3.0 alike: ``high-availability`` is
a list of relationships, ``this-server-name``, ``mode``, ``peers`` with name/url/role); 3.0
also accepts a hook library by its bare file name.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from leasewatch.core.pairs import pair_up
from leasewatch.errors import LeasesError
from leasewatch.leases.kea_ha import ha_config, member_of
from leasewatch.model import PairMode, Reason, ServerSnapshot

PEERS = [
    {"name": "server1", "url": "http://198.18.7.1:8001/", "role": "primary"},
    {"name": "server2", "url": "http://198.18.7.2:8001/", "role": "secondary"},
    {"name": "server3", "url": "http://198.18.7.3:8001/", "role": "backup"},
]


def dhcp4(
    this: str, mode: str = "load-balancing", library: str = "libdhcp_ha.so"
) -> dict[str, Any]:
    """A Dhcp4 map with lease_cmds and the HA hook, as server ``this`` of the relationship."""
    relationship = {"this-server-name": this, "mode": mode, "peers": PEERS}
    return {
        "hooks-libraries": [
            {"library": "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_lease_cmds.so"},
            {"library": library, "parameters": {"high-availability": [relationship]}},
        ]
    }


def test_every_member_computes_the_same_relationship() -> None:
    """Three peers' configs: one key, each its own role, the others as its peers."""
    members = []
    for name in ("server1", "server2", "server3"):
        relationship = ha_config(name, dhcp4(name))
        assert relationship is not None
        members.append(member_of(name, relationship, "load-balancing"))
    assert len({m.relationship for m in members}) == 1
    assert [m.role for m in members] == ["primary", "secondary", "backup"]
    assert members[2].peers == ("server1", "server2")
    assert {m.mode for m in members} == {PairMode.LOAD_BALANCING}
    assert all(m.normal and m.state_from == "api" for m in members)


def test_a_full_library_path_is_recognised_too() -> None:
    """Kea 2.2 configs name the library by its full path."""
    path = "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_ha.so"
    assert ha_config("s", dhcp4("server1", library=path)) is not None


@pytest.mark.parametrize(
    ("state", "normal"),
    [
        ("hot-standby", True),
        ("passive-backup", True),
        ("backup", True),
        ("partner-down", False),
        ("waiting", False),
        ("syncing", False),
        ("communication-recovery", False),
        (None, None),
    ],
)
def test_the_live_state_says_whether_the_pair_is_in_sync(
    state: str | None, normal: bool | None
) -> None:
    """ha-heartbeat's state: in sync, not in sync, or unknown (no live word)."""
    relationship = ha_config("s", dhcp4("server1", mode="hot-standby"))
    assert relationship is not None
    assert member_of("s", relationship, state).normal is normal


def test_no_ha_hook_is_no_relationship() -> None:
    """A lone server: lease_cmds only."""
    assert ha_config("s", {"hooks-libraries": [{"library": "libdhcp_lease_cmds.so"}]}) is None


def test_hub_and_spoke_is_refused_on_one_line() -> None:
    """Kea 3.0's several relationships on one server: which pools each shares is unknown."""
    relationship = {"this-server-name": "server1", "mode": "hot-standby", "peers": PEERS[:2]}
    config = {
        "hooks-libraries": [
            {
                "library": "libdhcp_ha.so",
                "parameters": {"high-availability": [relationship, relationship]},
            }
        ]
    }
    with pytest.raises(LeasesError, match=r"'hub': config-get: 2 HA relationships"):
        ha_config("hub", config)


@pytest.mark.parametrize(
    "broken",
    [
        {"this-server-name": "server9", "mode": "hot-standby", "peers": PEERS},
        {"this-server-name": "server1", "mode": "active-active", "peers": PEERS},
        {"this-server-name": "server1", "mode": "hot-standby", "peers": PEERS[:1]},
    ],
)
def test_a_relationship_not_understood_is_an_error(broken: dict[str, Any]) -> None:
    """An unknown own name, mode, or a lone peer: one line, never a guess."""
    with pytest.raises(LeasesError, match=r"'s': config-get: HA relationship not understood"):
        member_of("s", broken, None)


def kea_snapshot(server: str, this: str) -> ServerSnapshot:
    """A readable Kea server in the three-peer relationship, as server ``this``, in sync."""
    relationship = ha_config(server, dhcp4(this))
    assert relationship is not None
    return ServerSnapshot(
        server=server, kind="kea", pairing=member_of(server, relationship, "load-balancing")
    )


def test_a_relationship_with_a_peer_leasewatch_does_not_read_holds_its_releases() -> None:
    """Two of three Kea peers configured: the third keeps its copy, so nothing goes."""
    now = datetime(2026, 11, 30, tzinfo=UTC)
    paired = pair_up([kea_snapshot("kea-a", "server1"), kea_snapshot("kea-b", "server2")], {}, now)
    [pair] = paired.pairs
    assert pair.servers == ("kea-a", "kea-b")
    assert pair.hold is Reason.KEEP_PAIR_PEER_MISSING
    assert pair.reason == (
        "pair kea-a+kea-b: 2 of its 3 peers read (a release must reach every peer: "
        "give each its [[servers]] entry)"
    )
    every = pair_up([kea_snapshot(f"kea-{n}", f"server{n}") for n in (1, 2, 3)], {}, now)
    assert [p.hold for p in every.pairs] == [None]
