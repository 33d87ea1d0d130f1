"""Kea high availability: the relationship a server is in, from its own ``config-get``.

The HA hook (``libdhcp_ha.so``) is configured in ``Dhcp4.hooks-libraries[].parameters`` (or
``Dhcp6``'s: the same hook serves kea-dhcp6, its peers answering for dhcp6):
``high-availability`` is a list of relationships (one in Kea 2.x; 3.0 allows several, the
"hub and spoke" setup), each with ``this-server-name``, ``mode`` and ``peers`` (``name``,
``url``, ``role``). Every member of a relationship lists the same peers, so the sorted peers
(name and URL) are the key both members compute alike. Kea ARM, "High Availability":
https://kea.readthedocs.io/en/kea-2.2.0/arm/hooks.html#libdhcp-ha-so-high-availability.

Why it matters: each peer keeps its own copy of every lease (memfile per server), so a pool
is counted once per relationship, and a release must reach every peer: the hook passes on
lease updates from DHCP traffic and expiry only, never an administrator's ``lease4-del``
(``ha_callouts.cc``), and ``ha-sync`` brings back a lease the partner still has.

The live word on whether the relationship is in sync is the server's own HA state, from
``ha-heartbeat`` (``ha_service.cc``: "hot-standby", "load-balancing", "passive-backup",
"backup" while all is well; "partner-down", "waiting", "syncing", "ready",
"communication-recovery", "terminated", "in-maintenance", "partner-in-maintenance" not).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

from leasewatch.errors import LeasesError
from leasewatch.leases.kea_api import RESULT_SUCCESS, KeaClient, short_json
from leasewatch.model import PairMember, PairMode

HA_LIBRARY = "libdhcp_ha.so"

MODES = {
    "hot-standby": PairMode.HOT_STANDBY,
    "load-balancing": PairMode.LOAD_BALANCING,
    "passive-backup": PairMode.PASSIVE_BACKUP,
}

# ha-heartbeat states in which the server and its partners are in sync
NORMAL_STATES = frozenset({"hot-standby", "load-balancing", "passive-backup", "backup"})


def ha_config(server: str, daemon: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The HA hook's relationship map out of ``config-get``'s Dhcp4 or Dhcp6, or None.

    Several relationships (Kea 3.0 hub and spoke) are refused: which pools each one shares
    is not in the HA config, so leasewatch could not count them once.
    """
    for hook in _maps(daemon.get("hooks-libraries")):
        if PurePosixPath(str(hook.get("library", ""))).name != HA_LIBRARY:
            continue
        params = hook.get("parameters")
        relationships = _maps(
            params.get("high-availability") if isinstance(params, Mapping) else None
        )
        if len(relationships) > 1:
            raise LeasesError(
                f"kea server {server!r}: config-get: {len(relationships)} HA relationships "
                "(hub and spoke): leasewatch reads a server in one relationship only"
            )
        return relationships[0] if relationships else None
    return None


def pairing(client: KeaClient, daemon: Mapping[str, Any]) -> PairMember | None:
    """The server's place in its HA relationship (None: in none), read from its ``Dhcp4`` or
    ``Dhcp6`` map and, over HTTP, ``ha-heartbeat`` from the same service (a v6
    relationship's state is kea-dhcp6's). Called before the leases are read: leases read
    after the live state are at least as new."""
    relationship = ha_config(client.server, daemon)
    if relationship is None:
        return None
    return member_of(client.server, relationship, live_state(client))


def member_of(server: str, relationship: Mapping[str, Any], state: str | None) -> PairMember:
    """This server's place in the relationship, with its live HA ``state`` (None: unknown)."""
    this = str(relationship.get("this-server-name", ""))
    mode_text = str(relationship.get("mode", ""))
    mode = MODES.get(mode_text)
    peers = _maps(relationship.get("peers"))
    names = [str(peer.get("name", "")) for peer in peers]
    if mode is None or not this or this not in names or len(peers) < 2:
        raise LeasesError(
            f"kea server {server!r}: config-get: HA relationship not understood (expected "
            f"this-server-name among peers, 2+ peers, mode one of {', '.join(MODES)}): "
            f"{short_json(dict(relationship))}"
        )
    role = next(str(p.get("role", "")) for p in peers if str(p.get("name", "")) == this)
    key = ",".join(sorted(f"{p.get('name', '')}={p.get('url', '')}" for p in peers))
    return PairMember(
        relationship=f"kea-ha:{key}",
        name="+".join(sorted(names)),
        mode=mode,
        role=role,
        state=state,
        normal=None if state is None else state in NORMAL_STATES,
        state_from="api" if state is not None else "",
        peers=tuple(name for name in names if name != this),
    )


def live_state(client: KeaClient) -> str | None:
    """The server's own HA state from ``ha-heartbeat``; None when it does not say.

    A refusal is an unknown state, not a failed read: the pair then holds its releases
    (``keep-pair-state-unknown``) while its pools are still reported.
    """
    try:
        answer = client.call("ha-heartbeat")
    except client.error:
        return None
    args = answer.arguments
    if answer.result != RESULT_SUCCESS or not isinstance(args, Mapping):
        return None
    state = args.get("state")
    return str(state) if isinstance(state, str) else None


def _maps(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []
