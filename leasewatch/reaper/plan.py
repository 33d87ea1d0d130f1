"""The reaper's safety rules, pure: which leases may be released this run, and why not.

Dry run is the default and is not decided here: the plan says what *may* go; the executor
(``reaper.execute``) releases only when told to apply. Every rule that keeps a lease gives
a ``Reason`` (``leasewatch.model``): the executor, the audit and ``why`` decide on it, and
its words end up in the report and the audit log.

Two callers, one set of rules: ``plan`` for a scan's orphans (grace and ``max_per_run``
apply), ``plan_requested`` for ``leasewatch release``, a teardown hook that says the VM is
gone (no grace, no budget, but the same judge's verdict, protections and backends).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime

from leasewatch.config import ReaperConfig
from leasewatch.model import (
    Action,
    Analysis,
    Facts,
    Finding,
    Pair,
    PoolHold,
    Reason,
    Release,
    ReleaseOnPair,
    ServerSnapshot,
    Verdict,
    format_duration,
)

# Keeps worth an audit record when applying (an operator asked for them); waiting out the
# grace period is not.
AUDITED_KEEPS = frozenset(
    {Reason.KEEP_PROTECTED_MAC, Reason.KEEP_PROTECTED_NETWORK, Reason.KEEP_BUDGET}
)

Keep = tuple[Reason, Facts]

# the MAC pool (leasewatch.macpool) holds an orphan's MAC: kept. A taken MAC's lease is
# live in the analysis already (Reason.LIVE_POOL_TAKEN); TAKEN here is the second guard, for
# an analysis that was not told which MACs are taken
POOL_KEEPS = {PoolHold.TAKEN: Reason.KEEP_POOL_TAKEN, PoolHold.KEPT: Reason.KEEP_POOL_KEPT}


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
    incomplete = _incomplete(analysis)
    releasable_servers = releasable(analysis.pairs, releasable_servers)
    paused = pair_holds(analysis.pairs)
    report_only = report_only_servers(analysis.servers)
    held = pool or {}
    ordered: Sequence[Finding] = sorted(
        analysis.orphans,
        key=lambda f: (f.missing_since or now, f.lease.server, int(f.lease.ip)),
    )
    out: list[Release] = []
    budget = policy.max_per_run
    for finding in ordered:
        keep = (
            _protected(finding, policy, incomplete, releasable_servers, report_only)
            or paused.get(finding.lease.server)
            or _pooled(finding, held)
            or _waiting(finding, policy, now)
        )
        if keep is None and budget <= 0:
            keep = Reason.KEEP_BUDGET, (("max_per_run", str(policy.max_per_run)),)
        if keep is None:
            budget -= 1
            missing = format_duration(now - (finding.missing_since or now))
            facts = (("finding", finding.reason), ("missing", missing))
            out.append(Release(finding, Action.RELEASE, Reason.RELEASE_ORPHAN, facts))
        else:
            out.append(Release(finding, Action.KEEP, *keep))
    return tuple(out)


def plan_requested(
    findings: Iterable[Finding],
    policy: ReaperConfig,
    releasable_servers: Collection[str],
    *,
    force: bool,
    pairs: Sequence[Pair] = (),
    report_only: Mapping[str, Reason] | None = None,
) -> tuple[Release, ...]:
    """``leasewatch release``: the named leases' verdicts (from the same judge as a scan)
    turned into a plan. A live or unknown lease goes only with ``force``; a fixed host, a
    lease outside every range, a protected one and one of a pair in doubt never go."""
    releasable_servers = releasable(pairs, releasable_servers)
    paused = pair_holds(pairs)
    out = []
    for finding in sorted(findings, key=lambda f: (f.lease.server, int(f.lease.ip))):
        keep = _never(finding) or (None if force else _unconfirmed(finding))
        # a leases file read mid-write does not stop the hook: the backend re-checks the
        # lease on the live server and releases it only if the MAC still holds it
        keep = keep or _protected(finding, policy, (), releasable_servers, report_only or {})
        keep = keep or paused.get(finding.lease.server)  # a pair in doubt: not even forced
        if keep is None:
            code = Reason.RELEASE_FORCED if force else Reason.RELEASE_REQUESTED
            out.append(Release(finding, Action.RELEASE, code))
        else:
            out.append(Release(finding, Action.KEEP, *keep))
    return tuple(out)


def releasable(pairs: Iterable[Pair], servers: Collection[str]) -> frozenset[str]:
    """The servers and pairs leasewatch can release on: a pair released once (dhcpd
    failover) needs one member that can, one released on every member needs them all."""
    out = set(servers)
    for pair in pairs:
        can = [server in servers for server in pair.servers]
        if any(can) if pair.release is ReleaseOnPair.ONCE else all(can):
            out.add(pair.name)
    return frozenset(out)


def pair_holds(pairs: Iterable[Pair]) -> dict[str, Keep]:
    """Why nothing of each pair in doubt may go (``Pair.hold``, decided in ``core.pairs``)."""
    return {p.name: (p.hold, p.facts) for p in pairs if p.hold is not None}


def _incomplete(analysis: Analysis) -> frozenset[str]:
    return frozenset(s.server for s in analysis.servers if not s.complete)


def report_only_servers(servers: Iterable[ServerSnapshot]) -> dict[str, Reason]:
    """Server -> why none of its leases can be released (``ServerSnapshot.report_only``)."""
    return {s.server: s.report_only for s in servers if s.report_only is not None}


def _never(finding: Finding) -> Keep | None:
    """What no one may release, not even with ``--force``."""
    if finding.code is Reason.FIXED_HOST:
        return Reason.KEEP_FIXED_HOST, ()
    if finding.code is Reason.NO_NETWORK:
        return Reason.KEEP_NO_NETWORK, ()
    return None


def _protected(
    finding: Finding,
    policy: ReaperConfig,
    incomplete: Collection[str],
    releasable_servers: Collection[str],
    report_only: Mapping[str, Reason],
) -> Keep | None:
    lease = finding.lease
    if lease.server in incomplete:
        return Reason.KEEP_TRUNCATED_FILE, ()
    if (why := report_only.get(lease.server)) is not None:
        return why, ()
    if lease.server not in releasable_servers:
        return Reason.KEEP_NO_BACKEND, ()
    if lease.mac in policy.protect_macs:
        return Reason.KEEP_PROTECTED_MAC, ()
    for net in policy.protect_networks:
        if lease.ip in net:
            return Reason.KEEP_PROTECTED_NETWORK, (("network", str(net)),)
    return None


def _pooled(finding: Finding, pool: Mapping[str, PoolHold]) -> Keep | None:
    hold = pool.get(finding.lease.mac) if finding.lease.mac is not None else None
    return None if hold is None else (POOL_KEEPS[hold], ())


def _waiting(finding: Finding, policy: ReaperConfig, now: datetime) -> Keep | None:
    grace = policy.grace
    lease = finding.lease
    if lease.starts is not None and now - lease.starts < grace:
        return Reason.KEEP_YOUNG, (("grace", format_duration(grace)),)
    since = finding.missing_since or now
    if now - since < grace:
        facts = (("missing", format_duration(now - since)), ("grace", format_duration(grace)))
        return Reason.KEEP_GRACE, facts
    return None


def _unconfirmed(finding: Finding) -> Keep | None:
    """Without ``--force``: a VM an inventory still lists, or one no trusted inventory can
    confirm gone, is kept. A lease no inventory watches is the hook's to release."""
    if finding.verdict is Verdict.ORPHAN or finding.code is Reason.UNWATCHED:
        return None
    facts = (("finding", finding.reason),)
    if finding.verdict is Verdict.LIVE:
        return Reason.KEEP_VM_EXISTS, facts
    return Reason.KEEP_UNCONFIRMED, facts
