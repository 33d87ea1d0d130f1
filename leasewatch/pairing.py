"""Servers that hold copies of the same pools: dhcpd failover pairs, Kea HA relationships, or
two ``[[servers]]`` entries an operator declared partners. Part of ``leasewatch.model``
(import them from there).

Each member stays its own ``[[servers]]`` entry. Its reader says which relationship it is in
(``ServerSnapshot.pairing``, a ``PairMember``); the core (``leasewatch.core.pairs``) joins
the members into one ``Pair`` whose pools are counted once, and decides in one place whether
anything of the pair may be released now (``Pair.hold``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from leasewatch.reasons import Facts, Reason, describe


class PairMode(enum.StrEnum):
    """How the members of a relationship share their pools."""

    FAILOVER = "failover"  # ISC dhcpd failover (dhcpd.conf ``failover peer``)
    HOT_STANDBY = "hot-standby"  # Kea HA
    LOAD_BALANCING = "load-balancing"  # Kea HA
    PASSIVE_BACKUP = "passive-backup"  # Kea HA
    DECLARED = "declared"  # ``partner = "<server>"`` in the config: nothing detected


class ReleaseOnPair(enum.StrEnum):
    """Where a release of a pair's lease must go (the reaper's pair backend reads this)."""

    ONCE = "once"  # dhcpd failover: the server passes it on to its partner (BNDUPD)
    EVERY = "every"  # Kea HA (and declared pairs): each peer keeps its own leases


@dataclass(frozen=True, slots=True)
class PairMember:
    """What one server's reader found of the relationship it is in.

    ``relationship`` is the key every member computes alike (two members with the same key
    are one pair); ``name`` is how the servers name it (dhcpd's failover peer name, Kea's
    HA peers). ``normal`` is the server's own *live* word that the relationship is in sync
    (dhcpd's OMAPI ``failover-state`` local-state, Kea's ``ha-heartbeat``); None when no
    live word was had (a journal's ``my state`` may be a dead server's last word: shown,
    never trusted).
    """

    relationship: str
    name: str
    mode: PairMode
    role: str  # "primary" | "secondary" | "standby" | "backup" | "partner"
    state: str | None = None  # as the server words it: dhcpd "normal", Kea "hot-standby"
    normal: bool | None = None
    state_from: str = ""  # "omapi", "journal", "api", "" (none)
    peers: tuple[str, ...] = ()  # how this server names its peers (addresses, names, URLs)


@dataclass(frozen=True, slots=True)
class MemberHealth:
    """One member of a pair as the report shows it."""

    server: str
    role: str
    state: str | None = None
    normal: bool | None = None
    state_from: str = ""
    error: str | None = None  # set when the member could not be read

    @property
    def readable(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class Pair:
    """A relationship between servers holding copies of the same pools, reported once.

    ``name`` is its members' ``[[servers]]`` names joined by ``+`` (the ``server`` of its
    pools, findings and audit records); ``hold`` says why nothing of it may be released now
    (None: it may, each lease by the usual rules).
    """

    name: str
    kind: str
    relationship: str
    mode: PairMode
    members: tuple[MemberHealth, ...]
    release: ReleaseOnPair = ReleaseOnPair.EVERY
    hold: Reason | None = None
    facts: Facts = ()
    # peers a member names that are no configured server's (shown; not a hold by itself)
    unconfigured: tuple[str, ...] = ()

    @property
    def reason(self) -> str | None:
        return None if self.hold is None else describe(self.hold, self.facts)

    @property
    def servers(self) -> tuple[str, ...]:
        return tuple(m.server for m in self.members)
