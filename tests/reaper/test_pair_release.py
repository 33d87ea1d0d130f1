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
from leasewatch.reaper.interface import Held, ReleaseBackend
from leasewatch.reaper.pair import PairReleaseBackend, journals_confirm

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
LEASE = Lease(IPv4Address("198.18.1.10"), BindingState.ACTIVE, mac="52:54:00:00:00:99",
              server="a+b")  # fmt: skip


class Answers(ReleaseBackend):
    """A member that holds the lease as told (``held``) and releases with ``outcome``; None
    as the outcome: it cannot be reached (neither asked nor released on)."""

    def __init__(self, outcome: Outcome | None, held: Held | None = Held.SAME) -> None:
        self.outcome = outcome
        self.held = held
        self.looked: list[str] = []
        self.asked: list[str] = []
        self.closed = False

    def lookup(self, lease: Lease) -> tuple[Held, str] | None:
        self.looked.append(lease.server)
        if self.outcome is None:
            raise ReleaseError(f"{lease.server}: connection refused")
        return None if self.held is None else (self.held, "looked")

    def release(self, lease: Lease) -> tuple[Outcome, str]:
        self.asked.append(lease.server)
        if self.outcome is None:
            raise ReleaseError(f"{lease.server}: connection refused")
        return self.outcome, "done"

    def close(self) -> None:
        self.closed = True


class LostAfterCheck(Answers):
    """A member that answers the check, then cannot be reached for the release."""

    def release(self, lease: Lease) -> tuple[Outcome, str]:
        self.asked.append(lease.server)
        raise ReleaseError(f"{lease.server}: connection refused")


def pair(release: ReleaseOnPair) -> Pair:
    """A pair of members a and b."""
    mode = PairMode.FAILOVER if release is ReleaseOnPair.ONCE else PairMode.HOT_STANDBY
    return Pair("a+b", "isc", "fo", mode, (MemberHealth("a", "primary"),
                MemberHealth("b", "secondary")), release=release)  # fmt: skip


CHECKED = "check: a: holds it (looked); b: holds it (looked)"


def test_once_asks_both_then_releases_on_the_first() -> None:
    """dhcpd passes a release on: both members are asked first, the release goes once, on
    the first; the detail gives both answers and the release's."""
    a, b = Answers(Outcome.RELEASED), Answers(Outcome.RELEASED)
    backend = PairReleaseBackend(pair(ReleaseOnPair.ONCE), {"a": a, "b": b})
    assert backend.release(LEASE) == (Outcome.RELEASED, f"{CHECKED}; release on a: released (done)")
    assert (a.looked, b.looked, a.asked, b.asked) == (["a"], ["b"], ["a"], [])
    backend.close()
    assert a.closed and b.closed


def test_once_goes_to_a_member_that_holds_it() -> None:
    """The first member has nothing active there (a release already reached it): the
    release goes to the member that still holds it."""
    a, b = Answers(Outcome.RELEASED, Held.NONE), Answers(Outcome.RELEASED)
    backend = PairReleaseBackend(pair(ReleaseOnPair.ONCE), {"a": a, "b": b})
    outcome, detail = backend.release(LEASE)
    assert (outcome, a.asked, b.asked) == (Outcome.RELEASED, [], ["b"])
    assert (
        detail == "check: a: no lease (looked); b: holds it (looked); release on b: released (done)"
    )


@pytest.mark.parametrize("release", list(ReleaseOnPair))
def test_a_member_unreachable_at_the_check_releases_on_none(release: ReleaseOnPair) -> None:
    """One member cannot be asked: nothing is released on the other either; the executor's
    failure (the pair is skipped for this run), naming each member's answer."""
    a, b = Answers(Outcome.RELEASED), Answers(None)
    backend = PairReleaseBackend(pair(release), {"a": a, "b": b})
    with pytest.raises(ReleaseError, match="pair a\\+b: nothing released: check: a: holds it "
                       "\\(looked\\); b: unreachable \\(b: connection refused\\)"):  # fmt: skip
        backend.release(LEASE)
    assert a.asked == [] and b.asked == []


@pytest.mark.parametrize("release", list(ReleaseOnPair))
def test_a_member_that_says_another_client_holds_it_releases_on_none(
    release: ReleaseOnPair,
) -> None:
    """The address changed hands on the second member: the first, which still holds it for
    the gone VM, is not released on either (changed, both answers shown)."""
    a, b = Answers(Outcome.RELEASED), Answers(Outcome.RELEASED, Held.OTHER)
    backend = PairReleaseBackend(pair(release), {"a": a, "b": b})
    assert backend.release(LEASE) == (
        Outcome.CHANGED, "nothing released: check: a: holds it (looked); b: changed (looked)",
    )  # fmt: skip
    assert a.asked == [] and b.asked == []


def test_once_confirms_a_release() -> None:
    """A release that went is confirmed (dhcpd: both journals re-read) before it is recorded."""
    seen: list[str] = []

    def confirm(lease: Lease, outcome: Outcome, detail: str) -> tuple[Outcome, str]:
        seen.append(detail)
        return Outcome.PARTIAL, f"{detail}; still active on b"

    backend = PairReleaseBackend(pair(ReleaseOnPair.ONCE), {"a": Answers(Outcome.RELEASED)},
                                 confirm)  # fmt: skip
    said = (
        "check: a: holds it (looked); b: not asked (no release backend); "
        "release on a: released (done)"
    )
    assert backend.release(LEASE) == (Outcome.PARTIAL, f"{said}; still active on b")
    assert seen == [said]


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (Outcome.RELEASED, Outcome.RELEASED, Outcome.RELEASED),
        (Outcome.RELEASED, Outcome.NOT_FOUND, Outcome.RELEASED),
        (Outcome.NOT_FOUND, Outcome.NOT_FOUND, Outcome.NOT_FOUND),
        (Outcome.RELEASED, Outcome.CHANGED, Outcome.PARTIAL),
        (Outcome.CHANGED, Outcome.CHANGED, Outcome.CHANGED),
    ],
)
def test_every_member_must_free_it(a: Outcome, b: Outcome, expected: Outcome) -> None:
    """Both agreed at the check; released only when every member then freed it or had it no
    more; freed on some only (one renewed in between) is partial, never released; the
    detail says each member's answer to the check and to the release."""
    backend = PairReleaseBackend(pair(ReleaseOnPair.EVERY), {"a": Answers(a), "b": Answers(b)})
    outcome, detail = backend.release(LEASE)
    assert outcome is expected
    assert detail.startswith(f"{CHECKED}; release: a: {a.value} (done); b: {b.value} (done)")


def test_every_member_lost_after_the_check_is_partial() -> None:
    """A peer lost between the check and its delete: the other's delete stands, the pair's
    outcome is partial (the next scan finishes it)."""
    a, b = Answers(Outcome.RELEASED), LostAfterCheck(Outcome.RELEASED)
    outcome, detail = PairReleaseBackend(pair(ReleaseOnPair.EVERY), {"a": a, "b": b}).release(LEASE)
    assert outcome is Outcome.PARTIAL
    assert detail.endswith("release: a: released (done); b: failed (b: connection refused)")


def test_every_member_without_a_lease_there_is_not_asked_to_release() -> None:
    """A peer with no lease there (freed by an earlier partial run) is skipped; the other
    is released on: the pair's lease is released."""
    a, b = Answers(Outcome.RELEASED, Held.NONE), Answers(Outcome.RELEASED)
    outcome, detail = PairReleaseBackend(pair(ReleaseOnPair.EVERY), {"a": a, "b": b}).release(LEASE)
    assert (outcome, a.asked, b.asked) == (Outcome.RELEASED, [], ["b"])
    assert detail.endswith("release: a: not-found; b: released (done)")


def test_every_member_without_a_backend_releases_on_none() -> None:
    """A peer leasewatch cannot release on would give the lease back to the others: refused
    on all, nothing sent."""
    a = Answers(Outcome.RELEASED)
    half = PairReleaseBackend(pair(ReleaseOnPair.EVERY), {"a": a})
    assert half.release(LEASE) == (
        Outcome.REFUSED,
        "no release backend on b; check: a: holds it (looked); b: not asked (no release backend)",
    )  # fmt: skip
    assert a.asked == []


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


@pytest.mark.parametrize("release", list(ReleaseOnPair))
def test_the_state_is_asked_again_and_not_normal_releases_on_none(
    release: ReleaseOnPair,
) -> None:
    """The plan saw the pair normal; the second member says otherwise now: refused, nothing
    sent to either member."""
    a, b = Answers(Outcome.RELEASED), Interrupted(Outcome.RELEASED)
    backend = PairReleaseBackend(pair(release), {"a": a, "b": b})
    of = "failover" if release is ReleaseOnPair.ONCE else "HA"
    assert backend.release(LEASE) == (
        Outcome.REFUSED,
        f"{of} state communications-interrupted on b; check: a: holds it (looked); "
        "b: state communications-interrupted",
    )  # fmt: skip
    assert a.asked == b.asked == [] and b.looked == ["b"]
