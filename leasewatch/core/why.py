"""``leasewatch why IP|MAC``: the verdict on one lease, and every fact behind it.

Pure: the CLI hands in the analysis, the reaper's plan, the audit records and the MAC's
sightings; this module only picks out what concerns the lease and words it. The verdict is
the one the orphan rules (``core.orphans.Judge``) gave in the analysis, never re-derived.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from leasewatch.core.orphans import Judge
from leasewatch.model import (
    Address,
    Analysis,
    AuditRecord,
    Finding,
    Lease,
    MacSource,
    Reason,
    Release,
    Subnet,
    Verdict,
    describe,
    format_duration,
)
from leasewatch.sightings import VmSighting

_SOURCE = {
    MacSource.HARDWARE: "the server (hardware address: trusted)",
    MacSource.DUID: "the DUID (weak: a clone keeps its template's DUID)",
}


@dataclass(frozen=True, slots=True)
class Why:
    """One active lease's verdict with its evidence."""

    finding: Finding
    inventories: tuple[tuple[str, str], ...]  # (source, what it says about this MAC)
    missing_since: datetime | None
    grace_left: timedelta | None
    protections: tuple[str, ...]
    reaper: str | None  # what the reaper's plan says, for orphans
    last_release: AuditRecord | None
    vm: VmSighting | None
    now: datetime

    def lines(self) -> list[str]:
        """The explanation as lines a person reads top to bottom."""
        f, lease = self.finding, self.finding.lease
        out = [
            f"{lease.label} {lease.mac or '(no MAC)'} {lease.hostname or ''}".rstrip()
            + f" on {lease.server}, network {f.network or '(outside every range)'}",
            f"verdict: {f.verdict.value.upper()}: {f.reason} [{f.code.value}]",
            f"lease: starts {_at(lease.starts)}, ends {_at(lease.ends)}",
        ]
        if lease.duid is not None:
            source = "" if lease.mac is None else f", MAC from {_SOURCE[lease.mac_source]}"
            out.append(f"DHCPv6 client: DUID {lease.duid}, IAID {lease.iaid}{source}")
        for source, says in self.inventories:
            out.append(f"inventory {source}: {says}")
        if not self.inventories:
            out.append("inventory: none configured")
        if self.vm is not None:
            out.append(
                f"seen alive: first {_at(self.vm.first_seen)}, last {_at(self.vm.last_seen)}"
            )
        if self.missing_since is not None:
            out.append(
                f"missing since {_at(self.missing_since)} "
                f"({format_duration(self.now - self.missing_since)})"
            )
        if self.grace_left is not None:
            out.append(
                "grace: over"
                if self.grace_left <= timedelta(0)
                else f"grace left: {format_duration(self.grace_left)}"
            )
        out.extend(f"protected: {p}" for p in self.protections)
        if self.reaper is not None:
            out.append(f"reaper: {self.reaper}")
        r = self.last_release
        if r is not None:
            out.append(
                f"last release attempt: {_at(r.at)} {r.outcome.value}"
                + (f" ({r.detail})" if r.detail else "")
                + f", {r.reason}"
            )
        else:
            out.append("last release attempt: none on record")
        return out


def explain(
    analysis: Analysis,
    *,
    ip: Address | None = None,
    mac: str | None = None,
    duid: str | None = None,
    grace: timedelta,
    protect_macs: Iterable[str] = (),
    protect_networks: Iterable[Subnet] = (),
    plan: Sequence[Release] = (),
    audit: Sequence[AuditRecord] = (),
    vms: Iterable[VmSighting] = (),
) -> list[Why]:
    """Explain every active lease matching ``ip``, ``mac`` or ``duid`` (several servers may
    hold one; a DHCPv6 client may hold addresses and prefixes)."""
    now = analysis.now
    judged = {(f.lease.server, f.lease.ip): f for f in (*analysis.orphans, *analysis.unknown)}
    fixed = [h for s in analysis.servers for h in s.fixed]
    judge = Judge(
        analysis.inventories,
        fixed,
        {},
        now,
        analysis.pool_taken,
        trust_duid_mac=analysis.trust_duid_mac,
    )
    protect_macs = frozenset(protect_macs)
    protect_networks = tuple(protect_networks)
    planned = {(r.finding.lease.server, r.finding.lease.ip): r for r in plan}
    report_only = {s.server: s.report_only for s in analysis.servers if s.report_only}
    vm_by_mac = {v.mac: v for v in vms}
    out = []
    wanted = None if ip is None else int(ip)
    for snap in analysis.servers:
        for lease in snap.leases.find_active(now, ip=wanted, mac=mac, duid=duid):
            key = (snap.server, lease.ip)
            finding = judged.get(key) or judge.judge(
                _named(lease, snap.server), analysis.network_of(snap.server, lease.ip)
            )
            out.append(
                _why(
                    finding,
                    now=now,
                    grace=grace,
                    protect_macs=protect_macs,
                    protect_networks=protect_networks,
                    release=planned.get(key),
                    audit=audit,
                    vm_by_mac=vm_by_mac,
                    analysis=analysis,
                    report_only=report_only.get(snap.server),
                )
            )
    return out


def _why(
    f: Finding,
    *,
    now: datetime,
    grace: timedelta,
    protect_macs: frozenset[str],
    protect_networks: tuple[Subnet, ...],
    release: Release | None,
    audit: Sequence[AuditRecord],
    vm_by_mac: dict[str, VmSighting],
    analysis: Analysis,
    report_only: Reason | None = None,
) -> Why:
    lease = f.lease
    inventories = []
    for inv in analysis.inventories:
        if f.network is None and inv.networks:
            says = "covers only " + ", ".join(inv.networks)
        elif f.network is not None and not inv.covers(f.network):
            says = f"does not cover {f.network}"
        elif not inv.healthy:
            says = f"unhealthy ({inv.reason}): cannot tell"
        elif lease.mac is not None and lease.mac in inv.macs:
            says = f"lists the MAC ({len(inv.macs)} VMs)"
        else:
            says = f"does not list the MAC ({len(inv.macs)} VMs)"
        inventories.append((inv.source, says))
    protections = []
    if f.code is Reason.FIXED_HOST:
        protections.append("fixed-address host (never released)")
    if lease.mac is not None and lease.mac in protect_macs:
        protections.append("MAC listed in [reaper] protect")
    protections += [f"network {n} in [reaper] protect" for n in protect_networks if lease.ip in n]
    grace_left = None
    if f.verdict is Verdict.ORPHAN and f.missing_since is not None:
        grace_left = grace - (now - f.missing_since)
    reaper = None
    if release is not None:
        reaper = f"{release.action.value}: {release.reason} [{release.code.value}]"
    elif report_only is not None:  # whatever the verdict: the server cannot release it
        reaper = f"keep: {describe(report_only)} [{report_only.value}]"
    elif f.verdict is Verdict.UNKNOWN:
        reaper = "never releases a lease it cannot judge"
    last = None
    for r in audit:
        ours = r.server == lease.server and (r.ip == lease.ip or bool(r.mac and r.mac == lease.mac))
        if ours and (last is None or r.at >= last.at):
            last = r
    return Why(
        finding=f,
        inventories=tuple(inventories),
        missing_since=f.missing_since,
        grace_left=grace_left,
        protections=tuple(protections),
        reaper=reaper,
        last_release=last,
        vm=vm_by_mac.get(lease.mac) if lease.mac else None,
        now=now,
    )


def _named(lease: Lease, server: str) -> Lease:
    return lease if lease.server == server else replace(lease, server=server)


def _at(t: datetime | None) -> str:
    return "never" if t is None else t.strftime("%Y-%m-%d %H:%M:%S")
