"""The orphan rules: which active leases belong to VMs that no longer exist.

An orphan is an active lease whose MAC no *healthy* inventory covering its network knows.
Anything we cannot judge with confidence is ``unknown``, and unknown is never reaped:

- an inventory that failed, timed out, listed nothing while active leases exist in its
  scope, or shrank by more than ``max_shrink`` since its last healthy scan is unhealthy;
- a lease in a network covered by an unhealthy inventory, by no inventory at all, or with no
  hardware address is unknown;
- a DHCPv6 lease is unknown unless it carries a MAC we trust: Kea's ``hw-address`` is
  trusted, a MAC leasewatch took out of the client's DUID is not (``MacSource``: a clone
  keeps its template's DUID, with the template's MAC inside) unless ``trust_duid_mac``;
  a DUID with no MAC is unknown (a v6 client is a DUID, not a MAC);
- a lease seen by any healthy inventory is live, whatever the others say;
- a lease in no known range (no network) is never an orphan, whatever the inventory says;
- a fixed-address host's lease is never an orphan;
- a lease whose MAC is taken from the MAC pool (``leasewatch mac take``) is live, not an
  orphan, while it is taken: its VM may still be booting (a returned MAC's lease is an
  orphan again, which the reaper's plan keeps for the next taker).

Each verdict carries a ``Reason`` (``leasewatch.model``): the reaper decides on it, never on
the words.

(Kubernetes IPAM garbage collectors warn that a node cut off from its API server would
have live addresses reclaimed and handed out twice: a broken inventory must stop the reaper.)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence, Set
from datetime import datetime

from leasewatch.macset import MacSet
from leasewatch.model import (
    Facts,
    Finding,
    FixedHost,
    InventorySnapshot,
    Lease,
    MacSource,
    Reason,
    Verdict,
)

Rule = tuple[Verdict, Reason, Facts]


def judge_inventories(
    inventories: Iterable[InventorySnapshot],
    active_by_network: Mapping[str | None, int],
    last_healthy_sizes: Mapping[str, int],
    max_shrink: float,
) -> tuple[InventorySnapshot, ...]:
    """Mark inventories that answered but cannot be trusted as unhealthy.

    ``active_by_network`` counts active leases per network (None: outside any range);
    ``last_healthy_sizes`` is each source's VM count at its last healthy scan.
    """
    judged = []
    for inv in inventories:
        if inv.healthy:
            in_scope = sum(
                n for net, n in active_by_network.items() if net is not None and inv.covers(net)
            )
            if not inv.networks:
                in_scope += active_by_network.get(None, 0)
            previous = last_healthy_sizes.get(inv.source)
            count = len(inv.macs)
            if count == 0 and in_scope > 0:
                inv = dataclasses.replace(
                    inv,
                    healthy=False,
                    reason=f"listed no VMs while {in_scope} active leases exist in its scope",
                    problem=Reason.UNKNOWN_INVENTORY_EMPTY,
                )
            elif previous and (previous - count) / previous > max_shrink:
                inv = dataclasses.replace(
                    inv,
                    healthy=False,
                    reason=(
                        f"shrank from {previous} to {count} VMs since its last healthy scan "
                        f"(more than max_shrink {max_shrink:.0%})"
                    ),
                    problem=Reason.UNKNOWN_INVENTORY_SHRUNK,
                )
        judged.append(inv)
    return tuple(judged)


class Judge:
    """Applies the orphan rules to one lease at a time; built once per scan.

    ``rule`` takes an int address and a MAC so the analysis can judge a million leases
    without building a ``Lease`` for the live ones; ``judge`` wraps it for one ``Lease``.
    """

    def __init__(
        self,
        inventories: Iterable[InventorySnapshot],
        fixed: Iterable[FixedHost],
        first_missing: Mapping[str, datetime],
        now: datetime,
        pool_taken: Set[str] = frozenset(),
        *,
        trust_duid_mac: bool = False,
    ) -> None:
        self.now = now
        self.pool_taken = pool_taken
        self.trust_duid_mac = trust_duid_mac
        self.inventories = tuple(inventories)
        self.fixed_macs = frozenset(h.mac for h in fixed if h.mac)
        self.fixed_ips = frozenset(int(h.ip) for h in fixed if h.ip)
        self.first_missing = first_missing
        self._covering: dict[str | None, tuple[InventorySnapshot, ...]] = {}
        self._live: dict[str | None, Set[str]] = {}
        self._unions: dict[tuple[int, ...], Set[str]] = {}

    def covering(self, network: str | None) -> tuple[InventorySnapshot, ...]:
        if network not in self._covering:
            self._covering[network] = covering(self.inventories, network)
        return self._covering[network]

    def live_macs(self, network: str | None) -> Set[str]:
        """The MACs a healthy inventory covering ``network`` lists: their leases are live.

        Networks covered by the same inventories share one set, and one inventory's set is
        used as it is: a 550,000-MAC union copied per network cost 300 MB (bench/).
        """
        if network not in self._live:
            healthy = tuple(inv for inv in self.covering(network) if inv.healthy)
            key = tuple(id(inv) for inv in healthy)
            if key not in self._unions:
                self._unions[key] = _union([inv.macs for inv in healthy])
            self._live[network] = self._unions[key]
        return self._live[network]

    def rule(
        self,
        ip: int,
        mac: str | None,
        network: str | None,
        *,
        mac_unreadable: bool = False,
        mac_source: MacSource = MacSource.HARDWARE,
        duid: bool = False,
    ) -> Rule:
        """The verdict on the active lease of ``ip`` held by ``mac``, why, and what it names.

        ``mac_source`` says where ``mac`` came from; ``duid``, that the client named itself by
        a DUID (DHCPv6).
        """
        if ip in self.fixed_ips or (mac is not None and mac in self.fixed_macs):
            return Verdict.LIVE, Reason.FIXED_HOST, ()
        if mac is None:
            if mac_unreadable:
                return Verdict.UNKNOWN, Reason.UNKNOWN_MAC_UNREADABLE, ()
            code = Reason.UNKNOWN_DUID_ONLY if duid else Reason.UNKNOWN_NO_MAC
            return Verdict.UNKNOWN, code, ()
        covering = self.covering(network)
        if not covering:
            if network is None:
                return Verdict.UNKNOWN, Reason.NO_NETWORK, ()
            return Verdict.UNKNOWN, Reason.UNWATCHED, (("network", network),)
        for inv in covering:
            if inv.healthy and mac in inv.macs:
                return Verdict.LIVE, Reason.LIVE_SEEN, (("source", inv.source),)
        # a weak MAC seen live keeps its lease (above); one not seen proves nothing
        if mac_source is MacSource.DUID and not self.trust_duid_mac:
            return Verdict.UNKNOWN, Reason.UNKNOWN_DUID_MAC, ()
        if network is None:
            return Verdict.UNKNOWN, Reason.NO_NETWORK, ()
        broken = [inv for inv in covering if not inv.healthy]
        if broken:
            names = ", ".join(f"{inv.source} ({inv.reason})" for inv in broken)
            code = broken[0].problem or Reason.UNKNOWN_INVENTORY_FAILED
            return Verdict.UNKNOWN, code, (("inventories", names),)
        if mac in self.pool_taken:
            return Verdict.LIVE, Reason.LIVE_POOL_TAKEN, ()
        sources = ", ".join(inv.source for inv in covering)
        return Verdict.ORPHAN, Reason.ORPHAN_NOT_SEEN, (("sources", sources),)

    def judge(self, lease: Lease, network: str | None) -> Finding:
        rule = self.rule(
            int(lease.ip),
            lease.mac,
            network,
            mac_unreadable=lease.mac_unreadable,
            mac_source=lease.mac_source,
            duid=lease.duid is not None,
        )
        return self.finding(lease, rule, network)

    def finding(self, lease: Lease, rule: Rule, network: str | None) -> Finding:
        verdict, code, facts = rule
        since = None
        if verdict is Verdict.ORPHAN and lease.mac is not None:
            since = self.first_missing.get(lease.mac, self.now)
        return Finding(lease, verdict, code, network, missing_since=since, facts=facts)


def covering(
    inventories: Iterable[InventorySnapshot], network: str | None
) -> tuple[InventorySnapshot, ...]:
    """The inventories that judge leases of ``network`` (None: outside every range, which
    only inventories scoped to no network see)."""
    return tuple(
        inv for inv in inventories if (not inv.networks if network is None else inv.covers(network))
    )


def _union(sets: Sequence[Set[str]]) -> Set[str]:
    if len(sets) == 1:
        return sets[0]
    if sets and all(isinstance(s, MacSet) for s in sets):
        return MacSet().union(*sets)
    return frozenset().union(*sets)


def next_missing(
    orphans: Iterable[Finding],
    unknown: Iterable[Finding],
    previous: Mapping[str, datetime],
    now: datetime,
) -> dict[str, datetime]:
    """Since when each MAC has been missing, carried across scans for the reaper's grace.

    An orphan keeps its first-missing time (or starts now). A lease we could not judge this
    time keeps what it had, without starting a clock: an inventory outage must neither reset
    nor advance grace. Everything else (seen again, lease gone) is forgotten.
    """
    out: dict[str, datetime] = {}
    for f in orphans:
        if f.lease.mac:
            out[f.lease.mac] = previous.get(f.lease.mac, now)
    for f in unknown:
        mac = f.lease.mac
        if mac and mac in previous and mac not in out:
            out[mac] = previous[mac]
    return out
