"""The reaper's safety rules, pure: which orphans may be released this run, and why not.

Dry run is the default and is not decided here: the plan says what *may* go; the executor
(``reaper.execute``) releases only when told to apply. Every rule that keeps a lease says so
in words that end up in the report and the audit log.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

from leasewatch.config import ReaperConfig
from leasewatch.model import Action, Analysis, Finding, PoolHold, Release, format_duration

# Reasons that are worth an audit record when applying (an operator asked for them);
# waiting out the grace period is not.
LIMIT_REASONS = ("protected", "max_per_run")

POOL_REASONS = {
    PoolHold.TAKEN: "MAC taken from the pool (leasewatch mac take): its VM may still be booting",
    PoolHold.KEPT: (
        "MAC pool: lease kept for the next leasewatch mac take (the VM gets this address back)"
    ),
}


def plan(
    analysis: Analysis,
    policy: ReaperConfig,
    now: datetime,
    releasable_servers: Collection[str],
    pool: Mapping[str, PoolHold] | None = None,
) -> tuple[Release, ...]:
    """Decide, for every orphan, release or keep. Oldest-missing orphans go first.

    ``pool`` (leasewatch.macpool) names the orphans' MACs that are in the MAC pool: kept.
    """
    incomplete = {s.server for s in analysis.servers if not s.complete}
    ordered: Sequence[Finding] = sorted(
        analysis.orphans,
        key=lambda f: (f.missing_since or now, f.lease.server, int(f.lease.ip)),
    )
    out: list[Release] = []
    budget = policy.max_per_run
    for finding in ordered:
        reason = _keep_reason(finding, policy, now, incomplete, releasable_servers, pool=pool or {})
        if reason is None and budget <= 0:
            reason = f"max_per_run ({policy.max_per_run}) reached for this run"
        if reason is None:
            budget -= 1
            out.append(Release(finding, Action.RELEASE, _release_reason(finding, now)))
        else:
            out.append(Release(finding, Action.KEEP, reason))
    return tuple(out)


def _keep_reason(
    finding: Finding,
    policy: ReaperConfig,
    now: datetime,
    incomplete: Collection[str],
    releasable_servers: Collection[str],
    *,
    pool: Mapping[str, PoolHold],
) -> str | None:
    lease = finding.lease
    if lease.server in incomplete:
        return "leases file ended mid-block: not reaping on data that may be half-written"
    if lease.server not in releasable_servers:
        return "no release backend configured for this server (omapi / Kea API)"
    if lease.mac in policy.protect_macs:
        return "protected MAC ([reaper] protect)"
    for net in policy.protect_networks:
        if lease.ip in net:
            return f"protected network {net} ([reaper] protect)"
    hold = pool.get(lease.mac) if lease.mac is not None else None
    if hold is not None:
        return POOL_REASONS[hold]
    grace = policy.grace
    if lease.starts is not None and now - lease.starts < grace:
        return f"lease is younger than grace ({format_duration(grace)})"
    since = finding.missing_since or now
    if now - since < grace:
        return f"missing for {format_duration(now - since)}, grace is {format_duration(grace)}"
    return None


def _release_reason(finding: Finding, now: datetime) -> str:
    since = finding.missing_since or now
    return f"{finding.reason}; missing for {format_duration(now - since)}"
