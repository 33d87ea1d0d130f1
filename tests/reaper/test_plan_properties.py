"""Properties of the reaper's plan over generated orphans (hypothesis): ordering, budget,
``max_per_run = 0``, the grace boundary and protections."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address, IPv4Network

from hypothesis import given, settings
from hypothesis import strategies as st

from leasewatch.config import ReaperConfig
from leasewatch.model import (
    Action,
    Analysis,
    BindingState,
    Finding,
    Lease,
    Reason,
    Release,
    ServerSnapshot,
    Verdict,
)
from leasewatch.reaper.plan import plan

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
BASE = int(IPv4Address("198.18.4.0"))
PROTECTED_NET = IPv4Network("198.18.4.0/28")  # offsets 0-15
PROTECTED_MAC = "52:54:00:ff:00:00"

# no example database on disk, no deadline: a slow CI machine must not fail a property
PROPERTIES = settings(database=None, deadline=None, max_examples=300)


@dataclass(frozen=True)
class Orphan:
    """One generated orphan: where it is, how long it has been missing, how old its lease."""

    offset: int  # from BASE
    missing: int  # seconds
    age: int | None  # seconds since the lease started; None: unknown
    protected_mac: bool


orphans_st = st.lists(
    st.builds(
        Orphan,
        offset=st.integers(0, 200),
        missing=st.integers(0, 7200),
        age=st.none() | st.integers(0, 7200),
        protected_mac=st.booleans(),
    ),
    max_size=25,
    unique_by=lambda o: o.offset,
)
policy_st = st.builds(
    ReaperConfig,
    grace=st.integers(0, 3600).map(lambda s: timedelta(seconds=s)),
    max_per_run=st.integers(0, 10),
    protect_macs=st.just(frozenset({PROTECTED_MAC})),
    protect_networks=st.just((PROTECTED_NET,)),
)


def finding(o: Orphan) -> Finding:
    """The analysis' finding for a generated orphan."""
    mac = (
        PROTECTED_MAC
        if o.protected_mac
        else f"52:54:00:00:{o.offset >> 8:02x}:{o.offset & 255:02x}"
    )
    lease = Lease(
        IPv4Address(BASE + o.offset),
        BindingState.ACTIVE,
        mac=mac,
        starts=None if o.age is None else NOW - timedelta(seconds=o.age),
        server="s",
    )
    since = NOW - timedelta(seconds=o.missing)
    facts = (("sources", "hv"),)
    return Finding(lease, Verdict.ORPHAN, Reason.ORPHAN_NOT_SEEN, "lab", since, facts)


def run(orphans: list[Orphan], policy: ReaperConfig) -> tuple[Release, ...]:
    """The plan for these orphans on one complete, releasable server."""
    analysis = Analysis(
        now=NOW,
        orphans=tuple(finding(o) for o in orphans),
        servers=(ServerSnapshot(server="s", kind="isc"),),
    )
    return plan(analysis, policy, NOW, ["s"])


def eligible(o: Orphan, policy: ReaperConfig) -> bool:
    """What the rules allow, the budget aside (written from the README, not the code)."""
    grace = policy.grace.total_seconds()
    protected = o.protected_mac or o.offset < 16
    young = o.age is not None and o.age < grace
    return not protected and not young and o.missing >= grace


@PROPERTIES
@given(orphans_st, policy_st)
def test_every_orphan_is_planned_once_oldest_missing_first(
    orphans: list[Orphan], policy: ReaperConfig
) -> None:
    """The plan lists every orphan exactly once, longest-missing first (then by address)."""
    result = run(orphans, policy)
    assert sorted(int(r.finding.lease.ip) for r in result) == sorted(
        BASE + o.offset for o in orphans
    )
    keys = [(r.finding.missing_since, int(r.finding.lease.ip)) for r in result]
    assert keys == sorted(keys)


@PROPERTIES
@given(orphans_st, policy_st)
def test_budget_releases_the_longest_missing_eligible(
    orphans: list[Orphan], policy: ReaperConfig
) -> None:
    """Exactly min(max_per_run, eligible) go, and they are the eligible ones missing longest;
    every other eligible orphan is kept for the budget."""
    result = run(orphans, policy)
    allowed = sorted(
        (o for o in orphans if eligible(o, policy)), key=lambda o: (-o.missing, o.offset)
    )
    go = [r for r in result if r.action is Action.RELEASE]
    assert len(go) == min(policy.max_per_run, len(allowed))
    assert [int(r.finding.lease.ip) - BASE for r in go] == [o.offset for o in allowed][: len(go)]
    over = {o.offset for o in allowed[len(go) :]}
    budget = {int(r.finding.lease.ip) - BASE for r in result if r.code is Reason.KEEP_BUDGET}
    assert budget == over


@PROPERTIES
@given(orphans_st, policy_st.map(lambda p: ReaperConfig(grace=p.grace, max_per_run=0)))
def test_max_per_run_zero_releases_nothing(orphans: list[Orphan], policy: ReaperConfig) -> None:
    """``max_per_run = 0``: nothing is released, whatever else holds."""
    assert all(r.action is Action.KEEP for r in run(orphans, policy))


@PROPERTIES
@given(orphans_st, policy_st)
def test_protected_never_go(orphans: list[Orphan], policy: ReaperConfig) -> None:
    """A protected MAC or an address in a protected network is kept, with that reason."""
    for r in run(orphans, policy):
        lease = r.finding.lease
        if lease.mac == PROTECTED_MAC:
            assert (r.action, r.code) == (Action.KEEP, Reason.KEEP_PROTECTED_MAC)
        elif lease.ip in PROTECTED_NET:
            assert (r.action, r.code) == (Action.KEEP, Reason.KEEP_PROTECTED_NETWORK)


@PROPERTIES
@given(st.integers(1, 86400), st.integers(-2, 2))
def test_grace_boundary(grace: int, delta: int) -> None:
    """Missing for exactly grace goes; a second less is kept for grace. The same boundary
    holds for the lease's age."""
    policy = ReaperConfig(grace=timedelta(seconds=grace))
    missing = Orphan(200, missing=max(grace + delta, 0), age=None, protected_mac=False)
    (r,) = run([missing], policy)
    assert (r.action is Action.RELEASE) == (grace + delta >= grace)
    if r.action is Action.KEEP:
        assert r.code is Reason.KEEP_GRACE
    young = Orphan(200, missing=grace, age=max(grace + delta, 0), protected_mac=False)
    (r,) = run([young], policy)
    assert (r.action is Action.RELEASE) == (grace + delta >= grace)
    if r.action is Action.KEEP:
        assert r.code is Reason.KEEP_YOUNG
