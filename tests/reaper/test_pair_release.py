"""Tests for a pair's release: once through one member, or on every member (the members'
backends are scripted: the composition is under test; tests/lab proves it on real servers)."""

from __future__ import annotations

from datetime import UTC, datetime
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from leasewatch.config import ServerConfig
from leasewatch.errors import ReleaseError
from leasewatch.leases.isc import IscLeaseSource
from leasewatch.model import (
    BindingState,
    Lease,
    MemberHealth,
    Outcome,
    Pair,
    PairMode,
    ReleaseOnPair,
)
from leasewatch.reaper.interface import ReleaseBackend
from leasewatch.reaper.pair import PairReleaseBackend, journals_confirm

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
LEASE = Lease(IPv4Address("198.18.1.10"), BindingState.ACTIVE, mac="52:54:00:00:00:99",
              server="a+b")  # fmt: skip


class Answers(ReleaseBackend):
    """A member that answers as told (an Outcome) or cannot be reached (None)."""

    def __init__(self, outcome: Outcome | None) -> None:
        self.outcome = outcome
        self.asked: list[str] = []
        self.closed = False

    def release(self, lease: Lease) -> tuple[Outcome, str]:
        self.asked.append(lease.server)
        if self.outcome is None:
            raise ReleaseError(f"{lease.server}: connection refused")
        return self.outcome, "done"

    def close(self) -> None:
        self.closed = True


def pair(release: ReleaseOnPair) -> Pair:
    """A pair of members a and b."""
    mode = PairMode.FAILOVER if release is ReleaseOnPair.ONCE else PairMode.HOT_STANDBY
    return Pair("a+b", "isc", "fo", mode, (MemberHealth("a", "primary"),
                MemberHealth("b", "secondary")), release=release)  # fmt: skip


def test_once_goes_to_the_first_member_that_answers() -> None:
    """dhcpd passes a release on: asked once, on the first member; one unreachable passes
    the release to the next; the detail names the member."""
    a, b = Answers(None), Answers(Outcome.RELEASED)
    backend = PairReleaseBackend(pair(ReleaseOnPair.ONCE), {"a": a, "b": b})
    assert backend.release(LEASE) == (Outcome.RELEASED, "on b: done")
    assert (a.asked, b.asked) == (["a"], ["b"])
    backend.close()
    assert a.closed and b.closed


def test_once_with_every_member_unreachable_raises() -> None:
    """No member answers: the executor's failure (the pair is skipped for this run)."""
    backend = PairReleaseBackend(pair(ReleaseOnPair.ONCE), {"a": Answers(None)})
    with pytest.raises(ReleaseError, match="a: connection refused"):
        backend.release(LEASE)


def test_once_confirms_a_release() -> None:
    """A release that went is confirmed (dhcpd: both journals re-read) before it is recorded."""
    seen: list[str] = []

    def confirm(lease: Lease, outcome: Outcome, detail: str) -> tuple[Outcome, str]:
        seen.append(detail)
        return Outcome.PARTIAL, f"{detail}; still active on b"

    backend = PairReleaseBackend(pair(ReleaseOnPair.ONCE), {"a": Answers(Outcome.RELEASED)},
                                 confirm)  # fmt: skip
    assert backend.release(LEASE) == (Outcome.PARTIAL, "on a: done; still active on b")
    assert seen == ["on a: done"]


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (Outcome.RELEASED, Outcome.RELEASED, Outcome.RELEASED),
        (Outcome.RELEASED, Outcome.NOT_FOUND, Outcome.RELEASED),
        (Outcome.NOT_FOUND, Outcome.NOT_FOUND, Outcome.NOT_FOUND),
        (Outcome.RELEASED, None, Outcome.PARTIAL),
        (Outcome.CHANGED, Outcome.NOT_FOUND, Outcome.CHANGED),
        (Outcome.NOT_FOUND, None, Outcome.FAILED),
    ],
)
def test_every_member_must_free_it(a: Outcome, b: Outcome | None, expected: Outcome) -> None:
    """Released only when every member freed it or never had it; freed on some only is
    partial, never released; the detail says each member's answer."""
    backend = PairReleaseBackend(pair(ReleaseOnPair.EVERY), {"a": Answers(a), "b": Answers(b)})
    outcome, detail = backend.release(LEASE)
    assert outcome is expected
    assert detail.startswith(f"a: {a.value} (done); b: ")


def test_every_member_unreachable_raises_and_a_member_without_backend_is_partial() -> None:
    """All unreachable: the executor's failure. A member leasewatch cannot release on
    makes the release partial."""
    both = PairReleaseBackend(pair(ReleaseOnPair.EVERY), {"a": Answers(None), "b": Answers(None)})
    with pytest.raises(ReleaseError, match="pair a\\+b: a: failed"):
        both.release(LEASE)
    half = PairReleaseBackend(pair(ReleaseOnPair.EVERY), {"a": Answers(Outcome.RELEASED)})
    assert half.release(LEASE) == (
        Outcome.PARTIAL, "a: released (done); b: refused (no release backend)"
    )  # fmt: skip


def journal(path: Path, state: str) -> None:
    """A one-lease journal: 198.18.1.10 for LEASE's MAC in ``state``, ending in a day."""
    path.write_text(
        "lease 198.18.1.10 {\n  starts 3 2026/11/25 10:00:00;\n  ends 4 2099/11/26 10:00:00;\n"
        f"  binding state {state};\n  hardware ethernet 52:54:00:00:00:99;\n}}\n"
    )


def test_a_release_is_confirmed_only_when_both_journals_show_it_gone(tmp_path: Path) -> None:
    """Free in both journals: released; still active in one after the wait: partial, naming
    that journal (real journals, read by the ISC reader)."""
    conf = tmp_path / "dhcpd.conf"
    conf.write_text("subnet 198.18.1.0 netmask 255.255.255.0 { range 198.18.1.10 198.18.1.20; }\n")
    readers = {}
    for name in ("a", "b"):
        journal(tmp_path / f"{name}.leases", "free")
        source = IscLeaseSource(ServerConfig(name, "isc", leases=tmp_path / f"{name}.leases",
                                             dhcpd_conf=conf))  # fmt: skip
        readers[name] = source.read
    confirm = journals_confirm(readers, wait=0.0)
    assert confirm(LEASE, Outcome.RELEASED, "on a: ok") == (
        Outcome.RELEASED, "on a: ok; freed in the journals of a, b",
    )  # fmt: skip
    journal(tmp_path / "b.leases", "active")
    assert confirm(LEASE, Outcome.RELEASED, "on a: ok") == (
        Outcome.PARTIAL, "on a: ok; after 0s still active in b's journal",
    )  # fmt: skip


class Interrupted(Answers):
    """A member that would release, but whose own failover state is no longer normal."""

    def pair_state(self, relationship: str) -> tuple[str, bool] | None:
        return "communications-interrupted", False


def test_once_asks_the_state_again_and_refuses_when_not_normal() -> None:
    """The plan saw the pair normal; the member says otherwise now: refused, nothing sent."""
    member = Interrupted(Outcome.RELEASED)
    backend = PairReleaseBackend(pair(ReleaseOnPair.ONCE), {"a": member})
    assert backend.release(LEASE) == (
        Outcome.REFUSED, "failover state communications-interrupted on a",
    )  # fmt: skip
    assert member.asked == []
