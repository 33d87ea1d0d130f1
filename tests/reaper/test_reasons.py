"""Reasons are data: rewording every message changes none of the reaper's decisions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address, IPv4Network

import pytest

from leasewatch import model
from leasewatch.config import ReaperConfig
from leasewatch.core.analysis import analyse
from leasewatch.core.orphans import Judge
from leasewatch.model import (
    Action,
    Address,
    Analysis,
    BindingState,
    Finding,
    FixedHost,
    InventorySnapshot,
    Lease,
    LeaseList,
    Outcome,
    PoolHold,
    Range,
    Reason,
    ServerSnapshot,
    Verdict,
)
from leasewatch.reaper.execute import execute
from leasewatch.reaper.interface import ReleaseBackend
from leasewatch.reaper.plan import plan, plan_requested
from leasewatch.state import State

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
NET = IPv4Network("198.18.1.0/24")
POOL = Range(IPv4Address("198.18.1.10"), IPv4Address("198.18.1.99"), NET, "lab")
OTHER = Range(
    IPv4Address("198.18.2.10"), IPv4Address("198.18.2.99"), IPv4Network("198.18.2.0/24"), "other"
)
ALIVE = "52:54:00:00:01:01"


def mac(i: int) -> str:
    """A distinct MAC per index."""
    return f"52:54:00:00:00:{i:02x}"


def lease(ip: str, hw: str | None, server: str, *, young: bool = False) -> Lease:
    """An active lease on ``server``."""
    return Lease(
        IPv4Address(ip),
        BindingState.ACTIVE,
        mac=hw,
        starts=NOW - (timedelta(minutes=1) if young else timedelta(days=1)),
        ends=NOW + timedelta(days=1),
        server=server,
    )


class Recorder(ReleaseBackend):
    """A backend that releases whatever it is asked to (the executor is under test)."""

    def __init__(self) -> None:
        self.released: list[Address] = []

    def release(self, lease: Lease) -> tuple[Outcome, str]:
        self.released.append(lease.ip)
        return Outcome.RELEASED, "ends set to now"


def scenario() -> Analysis:
    """Every verdict and every keep rule at once: live, fixed, no MAC, outside every range,
    unwatched, an unhealthy inventory's network, orphans protected, young, in grace, past
    grace beyond the budget, and on a server whose leases file ended mid-block."""
    main = ServerSnapshot(
        server="a",
        kind="isc",
        ranges=(POOL, OTHER),
        leases=LeaseList(
            [
                lease("198.18.1.10", ALIVE, "a"),
                lease("198.18.1.11", mac(11), "a"),  # fixed host
                lease("198.18.1.12", None, "a"),
                lease("198.18.1.13", mac(13), "a"),  # protected MAC
                lease("198.18.1.14", mac(14), "a"),  # protected network
                lease("198.18.1.15", mac(15), "a", young=True),
                lease("198.18.1.16", mac(16), "a"),  # in grace
                *(lease(f"198.18.1.{i}", mac(i), "a") for i in range(20, 25)),  # past grace
                lease("198.18.1.25", mac(25), "a"),  # its MAC taken from the pool
                lease("198.18.1.26", mac(26), "a"),  # its MAC back in the pool
                lease("198.18.1.27", mac(27), "a"),  # taken, as the analysis knows it
                lease("198.18.2.10", mac(40), "a"),  # unhealthy inventory's network
                lease("198.18.9.9", mac(50), "a"),  # in no range
            ]
        ),
        fixed=(FixedHost("printer", mac(11), None),),
    )
    truncated = ServerSnapshot(
        server="b",
        kind="isc",
        ranges=(POOL,),
        leases=LeaseList([lease("198.18.1.30", mac(30), "b")]),
        complete=False,
    )
    inventories = [
        InventorySnapshot("hv", "file", frozenset({ALIVE}), networks=("lab",)),
        InventorySnapshot("everywhere", "file", frozenset({ALIVE})),
        InventorySnapshot("broken", "command", healthy=False, reason="exit 1", networks=("other",)),
    ]
    missing = {
        mac(i): NOW - timedelta(hours=2) for i in (13, 14, 15, 20, 21, 22, 23, 24, 25, 26, 30)
    }
    missing[mac(16)] = NOW - timedelta(minutes=5)
    # mac(25) is taken for the plan only (an analysis that did not know it: the plan's
    # second guard); mac(27) is taken as the state file says, so the analysis judges it live
    return analyse(
        [main, truncated], inventories, now=NOW, first_missing=missing, pool_taken={mac(27)}
    )


POLICY = ReaperConfig(
    grace=timedelta(minutes=30),
    max_per_run=3,
    protect_macs=frozenset({mac(13)}),
    protect_networks=(IPv4Network("198.18.1.14/32"),),
)


def every_finding(analysis: Analysis) -> list[Finding]:
    """Every active lease's finding, live ones included (judged as ``why`` and release do)."""
    fixed = [h for s in analysis.servers for h in s.fixed]
    judge = Judge(analysis.inventories, fixed, {}, NOW, analysis.pool_taken)
    judged = {(f.lease.server, f.lease.ip): f for f in (*analysis.orphans, *analysis.unknown)}
    out = []
    for snap in analysis.servers:
        for one in snap.leases:
            network = analysis.network_of(snap.server, one.ip)
            out.append(judged.get((snap.server, one.ip)) or judge.judge(one, network))
    return out


Decision = tuple[str, object, object, object]


def decisions() -> tuple[list[Decision], list[str]]:
    """What the reaper decides on the scenario (and every message it words on the way)."""
    analysis = scenario()
    out: list[Decision] = []
    words: list[str] = []
    findings = every_finding(analysis)
    out += [(str(f.lease.ip), "judged", f.verdict, f.code) for f in findings]
    words += [f.reason for f in findings]
    pool = {mac(25): PoolHold.TAKEN, mac(26): PoolHold.KEPT}
    releases = plan(analysis, POLICY, NOW, ["a", "b"], pool)
    out += [(str(r.finding.lease.ip), "plan", r.action, r.code) for r in releases]
    words += [r.reason for r in releases]
    state = State.memory()
    backend = Recorder()
    records = execute(releases, {"a": backend}, apply=True, clock=lambda: NOW, journal=state)
    out += [(str(r.ip), "audit", r.outcome, r.code) for r in (*records, *state.audit())]
    words += [r.reason for r in records]
    out += [(str(ip), "released", None, None) for ip in backend.released]
    for force in (False, True):
        requested = plan_requested(findings, POLICY, ["a"], force=force)
        out += [(str(r.finding.lease.ip), f"release {force}", r.action, r.code) for r in requested]
        words += [r.reason for r in requested]
    return out, words


def test_rewording_every_reason_changes_no_decision(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every entry of the one wording table replaced: the same verdicts, plan, outcomes and
    releases, and every message shows the new words."""
    before, words = decisions()
    assert all(not w.startswith("reworded") for w in words)
    for code in Reason:
        monkeypatch.setitem(model.REASON_TEXT, code, f"reworded {code.name.lower()}")
    after, reworded = decisions()
    assert after == before
    assert all(w.startswith("reworded") for w in reworded)


def test_scenario_covers_every_rule() -> None:
    """The scenario above exercises each verdict and keep rule (else the rewording proves
    little), and the plan releases only past-grace orphans within the budget."""
    made, _words = decisions()
    codes = {code for _ip, _what, _result, code in made}
    assert codes >= {
        Reason.LIVE_SEEN, Reason.FIXED_HOST, Reason.UNKNOWN_NO_MAC, Reason.NO_NETWORK,
        Reason.UNKNOWN_INVENTORY_FAILED, Reason.ORPHAN_NOT_SEEN, Reason.KEEP_PROTECTED_MAC,
        Reason.KEEP_PROTECTED_NETWORK, Reason.KEEP_YOUNG, Reason.KEEP_GRACE, Reason.KEEP_BUDGET,
        Reason.KEEP_TRUNCATED_FILE, Reason.RELEASE_ORPHAN, Reason.KEEP_FIXED_HOST,
        Reason.KEEP_NO_NETWORK, Reason.KEEP_VM_EXISTS, Reason.KEEP_UNCONFIRMED,
        Reason.RELEASE_REQUESTED, Reason.RELEASE_FORCED, Reason.KEEP_POOL_TAKEN,
        Reason.KEEP_POOL_KEPT, Reason.LIVE_POOL_TAKEN,
    }  # fmt: skip
    released = sorted(ip for ip, what, _r, _c in made if what == "released")
    assert released == ["198.18.1.20", "198.18.1.21", "198.18.1.22"]


def test_lease_in_no_range_is_never_released() -> None:
    """A lease outside every known range is unknown whatever a healthy inventory says: no
    plan releases it, and ``release --force`` refuses it."""
    analysis = scenario()
    (outside,) = [f for f in analysis.unknown if f.lease.ip == IPv4Address("198.18.9.9")]
    assert (outside.verdict, outside.code, outside.network) == (
        Verdict.UNKNOWN, Reason.NO_NETWORK, None,
    )  # fmt: skip
    assert all(r.finding.lease.ip != outside.lease.ip for r in plan(analysis, POLICY, NOW, ["a"]))
    (kept,) = plan_requested([outside], POLICY, ["a"], force=True)
    assert (kept.action, kept.code) == (Action.KEEP, Reason.KEEP_NO_NETWORK)


def test_unreadable_mac_is_unknown() -> None:
    """A lease whose hardware address the source could not read is unknown, never an orphan."""
    bad = Lease(IPv4Address("198.18.1.50"), BindingState.ACTIVE, server="a", mac_unreadable=True)
    snap = ServerSnapshot(server="a", kind="isc", ranges=(POOL,), leases=LeaseList([bad]))
    inventory = InventorySnapshot("hv", "file", frozenset({ALIVE}))
    result = analyse([snap], [inventory], now=NOW)
    assert [(f.verdict, f.code) for f in result.unknown] == [
        (Verdict.UNKNOWN, Reason.UNKNOWN_MAC_UNREADABLE)
    ]


def test_inventory_problems_are_codes() -> None:
    """An inventory that listed nothing, or shrank past max_shrink, makes its leases unknown
    with a code saying which."""
    snap = ServerSnapshot(
        server="a",
        kind="isc",
        ranges=(POOL,),
        leases=LeaseList([lease("198.18.1.10", mac(1), "a")]),
    )
    empty = analyse([snap], [InventorySnapshot("hv", "file", frozenset())], now=NOW)
    assert [f.code for f in empty.unknown] == [Reason.UNKNOWN_INVENTORY_EMPTY]
    shrunk = analyse(
        [snap],
        [InventorySnapshot("hv", "file", frozenset({ALIVE}))],
        now=NOW,
        last_healthy_sizes={"hv": 10},
        max_shrink=0.5,
    )
    assert [f.code for f in shrunk.unknown] == [Reason.UNKNOWN_INVENTORY_SHRUNK]
