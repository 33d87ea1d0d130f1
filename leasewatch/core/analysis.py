"""One scan's conclusions from its inputs: ``analyse`` is pure (``now`` is an argument)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime

from leasewatch.core.orphans import Judge, judge_inventories
from leasewatch.core.usage import ThresholdsFor, count
from leasewatch.model import (
    Analysis,
    Finding,
    InventorySnapshot,
    Lease,
    NetworkUsage,
    ServerSnapshot,
    Thresholds,
    Verdict,
)


def analyse(
    servers: Sequence[ServerSnapshot],
    inventories: Sequence[InventorySnapshot],
    *,
    now: datetime,
    thresholds_for: ThresholdsFor = lambda _network: Thresholds(),
    first_missing: Mapping[str, datetime] | None = None,
    last_healthy_sizes: Mapping[str, int] | None = None,
    max_shrink: float = 0.5,
) -> Analysis:
    """Utilization per network and range, and the verdict on every active lease."""
    networks: list[NetworkUsage] = []
    active: list[tuple[Lease, str | None]] = []
    errors: list[str] = []
    warnings: list[str] = []
    for server in servers:
        if server.error is not None:
            errors.append(server.error)
            continue
        warnings.extend(server.warnings)
        server_networks, server_active = count(server, thresholds_for, now)
        networks.extend(server_networks)
        active.extend(server_active)

    per_network = Counter(network for _lease, network in active)
    judged = judge_inventories(inventories, per_network, last_healthy_sizes or {}, max_shrink)
    for inv in judged:
        if not inv.healthy:
            errors.append(f"inventory {inv.source}: {inv.reason}")

    judge = Judge(
        judged,
        fixed=[h for s in servers for h in s.fixed],
        first_missing=first_missing or {},
        now=now,
    )
    orphans: list[Finding] = []
    unknown: list[Finding] = []
    outside: list[Lease] = []
    live = 0
    for lease, network in active:
        if network is None:
            outside.append(lease)
        finding = judge.judge(lease, network)
        if finding.verdict is Verdict.ORPHAN:
            orphans.append(finding)
        elif finding.verdict is Verdict.UNKNOWN:
            unknown.append(finding)
        else:
            live += 1
    orphans.sort(key=lambda f: (f.lease.server, int(f.lease.ip)))
    unknown.sort(key=lambda f: (f.lease.server, int(f.lease.ip)))
    return Analysis(
        now=now,
        networks=tuple(networks),
        orphans=tuple(orphans),
        unknown=tuple(unknown),
        live=live,
        outside=tuple(outside),
        errors=tuple(errors),
        warnings=tuple(warnings),
        servers=tuple(servers),
        inventories=judged,
    )
