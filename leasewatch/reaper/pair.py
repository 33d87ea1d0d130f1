"""Releasing a pair's lease: once (dhcpd failover passes it on) or on every member (Kea HA,
declared partners: each keeps its own leases).

The executor sees one backend per pair (its audit record is one per lease, named by the
pair); the detail says what each member answered. A lease freed on some members only is
``Outcome.PARTIAL``, never released: the next scan finds it again and retries.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from leasewatch.errors import LeasesError, ReleaseError
from leasewatch.model import Lease, Outcome, Pair, ReleaseOnPair, ServerSnapshot
from leasewatch.reaper.interface import ReleaseBackend

# Asked after a release went once, to see it on every member (dhcpd: both journals show
# the address no longer active): the outcome to record and its detail.
Confirm = Callable[[Lease, Outcome, str], tuple[Outcome, str]]

# what a member's answer means for the pair: freed, or nothing to free there
_DONE = frozenset({Outcome.RELEASED, Outcome.NOT_FOUND})


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
        if self.pair.release is ReleaseOnPair.ONCE:
            return self._once(lease)
        return self._every(lease)

    def _once(self, lease: Lease) -> tuple[Outcome, str]:
        """On the first member that answers; a member that cannot be reached passes the
        release to the next one (the server passes it on to its partner)."""
        errors = []
        for server, backend in self.members.items():
            try:
                # the plan saw the pair normal; asked again right before the release
                state = backend.pair_state(self.pair.relationship)
                if state is not None and not state[1]:
                    return Outcome.REFUSED, f"failover state {state[0]} on {server}"
                outcome, detail = backend.release(dataclasses.replace(lease, server=server))
            except ReleaseError as exc:
                errors.append(str(exc))
                continue
            said = f"on {server}: {detail}" if detail else f"on {server}"
            if self.confirm is not None and outcome is Outcome.RELEASED:
                return self.confirm(lease, outcome, said)
            return outcome, said
        raise ReleaseError("; ".join(errors) or f"pair {self.pair.name}: no member to release on")

    def _every(self, lease: Lease) -> tuple[Outcome, str]:
        """On each member; the pair's outcome is released only when every member freed it
        (or never had it) and one at least freed it."""
        said: dict[str, tuple[Outcome, str]] = {}
        for server in self.pair.servers:
            backend = self.members.get(server)
            if backend is None:
                said[server] = Outcome.REFUSED, "no release backend"
                continue
            try:
                said[server] = backend.release(dataclasses.replace(lease, server=server))
            except ReleaseError as exc:
                said[server] = Outcome.FAILED, str(exc)
        detail = "; ".join(
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
        if outcomes == {Outcome.FAILED}:
            raise ReleaseError(f"pair {self.pair.name}: {detail}")
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
