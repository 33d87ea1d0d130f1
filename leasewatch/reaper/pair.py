"""Releasing a pair's lease: asked of every member first, then freed once (dhcpd failover
passes it on) or on every member (Kea HA, declared partners: each keeps its own leases).

The check comes first, on every member, and nothing is released unless every member
agrees: each is asked its own live state in the relationship (normal, or the release
waits) and what it holds at the address now (``ReleaseBackend.lookup``: the same client's
active lease, none, or another's). Releasing on one member and only then finding that the
address changed hands on the next would leave the pair split: the first member's delete
cannot be taken back, and on Kea HA the other peer would give the lease back at the next
sync. A member that cannot be asked stops the release on all (tried again next scan).

The executor sees one backend per pair (its audit record is one per lease, named by the
pair); the detail gives each member's answer to the check and to the release. A lease
freed on some members only (a member lost between the check and the release) is
``Outcome.PARTIAL``, never released: the next scan finds it again and finishes it.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from leasewatch.errors import LeasesError, ReleaseError
from leasewatch.model import Lease, Outcome, Pair, PairMode, ReleaseOnPair, ServerSnapshot
from leasewatch.reaper.interface import Held, ReleaseBackend

# Asked after a release went once, to see it on every member (dhcpd: both journals show
# the address no longer active): the outcome to record and its detail.
Confirm = Callable[[Lease, Outcome, str], tuple[Outcome, str]]

# what a member's answer means for the pair: freed, or nothing to free there
_DONE = frozenset({Outcome.RELEASED, Outcome.NOT_FOUND})


@dataclass(frozen=True)
class _Answer:
    """One member's answer to the check: what it holds (None: it could not say), its live
    state when not normal, or why it could not be asked."""

    held: Held | None = None
    text: str = ""
    not_normal: str | None = None  # the state's name
    unreachable: bool = False

    def words(self) -> str:
        if self.unreachable:
            return f"unreachable ({self.text})"
        if self.not_normal is not None:
            return f"state {self.not_normal}"
        word = "not asked" if self.held is None else self.held.value
        return f"{word} ({self.text})" if self.text else word


class PairReleaseBackend(ReleaseBackend):
    """Releases a pair's lease through its members' own backends (``members``: those
    leasewatch can release on, in the pair's order)."""

    def __init__(
        self,
        pair: Pair,
        members: Mapping[str, ReleaseBackend],
        confirm: Confirm | None = None,
    ) -> None:
        self.pair = pair
        self.members = dict(members)
        self.confirm = confirm

    def release(self, lease: Lease) -> tuple[Outcome, str]:
        answers = {server: self._ask(server, lease) for server in self.pair.servers}
        asked = "check: " + "; ".join(f"{s}: {a.words()}" for s, a in answers.items())
        refused = self._verdict(answers, asked)
        if refused is not None:
            return refused
        if self.pair.release is ReleaseOnPair.ONCE:
            return self._once(lease, answers, asked)
        return self._every(lease, answers, asked)

    def _ask(self, server: str, lease: Lease) -> _Answer:
        """A member's live state in the relationship and what it holds at the address."""
        backend = self.members.get(server)
        if backend is None:
            return _Answer(text="no release backend")
        mine = dataclasses.replace(lease, server=server)
        try:
            looked = backend.lookup(mine)  # first: a Kea client learns the lease's daemon
            state = backend.pair_state(self.pair.relationship)
        except ReleaseError as exc:
            return _Answer(text=str(exc), unreachable=True)
        if state is not None and not state[1]:
            return _Answer(not_normal=state[0])
        if looked is None:
            return _Answer(text="its release re-checks")
        return _Answer(held=looked[0], text=looked[1])

    def _verdict(self, answers: Mapping[str, _Answer], asked: str) -> tuple[Outcome, str] | None:
        """Why the check releases on no member (None: every member agrees)."""
        failed = [s for s, a in answers.items() if a.unreachable]
        if failed:
            # the executor skips the pair's other leases for this run: the next scan retries
            raise ReleaseError(f"pair {self.pair.name}: nothing released: {asked}")
        for server, a in answers.items():
            if a.not_normal is not None:
                of = "failover" if self.pair.mode is PairMode.FAILOVER else "HA"
                return Outcome.REFUSED, f"{of} state {a.not_normal} on {server}; {asked}"
        if any(a.held is Held.OTHER for a in answers.values()):
            return Outcome.CHANGED, f"nothing released: {asked}"
        if self.pair.release is ReleaseOnPair.EVERY:
            # every peer keeps its own copy: one leasewatch cannot release on would give
            # the lease back to the others at the next sync
            missing = [s for s in answers if s not in self.members]
            if missing:
                return Outcome.REFUSED, f"no release backend on {', '.join(missing)}; {asked}"
        if all(a.held is Held.NONE for a in answers.values()):
            return Outcome.NOT_FOUND, asked
        return None

    def _once(
        self, lease: Lease, answers: Mapping[str, _Answer], asked: str
    ) -> tuple[Outcome, str]:
        """On one member that holds the lease (the server passes it on to its partner)."""
        holding = [s for s, a in answers.items() if s in self.members and a.held is not Held.NONE]
        if not holding:
            return Outcome.NOT_FOUND, f"{asked}; no member leasewatch releases on holds it"
        server = holding[0]
        try:
            outcome, detail = self.members[server].release(
                dataclasses.replace(lease, server=server)
            )
        except ReleaseError as exc:  # the executor skips the pair's other leases this run
            raise ReleaseError(
                f"pair {self.pair.name}: {asked}; release on {server}: {exc}"
            ) from None
        said = f"{asked}; release on {server}: {outcome.value}" + (f" ({detail})" if detail else "")
        if self.confirm is not None and outcome is Outcome.RELEASED:
            return self.confirm(lease, outcome, said)
        return outcome, said

    def _every(
        self, lease: Lease, answers: Mapping[str, _Answer], asked: str
    ) -> tuple[Outcome, str]:
        """On each member that holds it; the pair's outcome is released only when every
        member freed it (or never had it) and one at least freed it."""
        said: dict[str, tuple[Outcome, str]] = {}
        for server, answer in answers.items():
            if answer.held is Held.NONE:
                said[server] = Outcome.NOT_FOUND, ""  # nothing there: not asked to release
                continue
            try:
                said[server] = self.members[server].release(
                    dataclasses.replace(lease, server=server)
                )
            except ReleaseError as exc:
                said[server] = Outcome.FAILED, str(exc)
        detail = f"{asked}; release: " + "; ".join(
            f"{server}: {outcome.value}" + (f" ({text})" if text else "")
            for server, (outcome, text) in said.items()
        )
        outcomes = {outcome for outcome, _ in said.values()}
        if outcomes <= _DONE:
            done = Outcome.RELEASED if Outcome.RELEASED in outcomes else Outcome.NOT_FOUND
            return done, detail
        if Outcome.RELEASED in outcomes:
            return Outcome.PARTIAL, detail
        if Outcome.CHANGED in outcomes:
            return Outcome.CHANGED, detail
        return Outcome.FAILED, detail

    def close(self) -> None:
        for backend in self.members.values():
            backend.close()


def journals_confirm(
    readers: Mapping[str, Callable[[], ServerSnapshot]],
    wait: float = 10.0,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Confirm:
    """A release sent once (dhcpd failover) is recorded released only when every member's
    journal, read again, shows the address no longer active for the lease's MAC (measured:
    within 1-2 s); after ``wait`` seconds it is partial, naming the journals that still
    hold it. ``readers`` re-read each member (a kept lease source re-reads only what dhcpd
    appended)."""

    def confirm(lease: Lease, outcome: Outcome, detail: str) -> tuple[Outcome, str]:
        deadline = clock() + wait
        while True:
            still = []
            now = datetime.now(UTC)  # the journal's ends are the server's: wall clock
            for server, read in readers.items():
                try:
                    held = read().leases.get(int(lease.ip))
                except LeasesError as exc:
                    still.append(f"{server}: {exc}")
                    continue
                if held is not None and held.is_active(now) and held.mac == lease.mac:
                    still.append(f"still active in {server}'s journal")
            if not still:
                return outcome, f"{detail}; freed in the journals of {', '.join(readers)}"
            if clock() >= deadline:
                return Outcome.PARTIAL, f"{detail}; after {wait:g}s {'; '.join(still)}"
            sleep(0.2)

    return confirm
