"""Read every inventory at once: each source (and each host of a many-host entry) in its own
thread, within its own deadline (``leasewatch.gather``); a hung one delays no other.

Fifty KVM hosts that take a second each answer in about a second, not fifty (issue 22).
"""

from __future__ import annotations

from collections.abc import Sequence

from leasewatch.gather import TimedOut, gather
from leasewatch.inventory._common import fail
from leasewatch.inventory.interface import InventorySource
from leasewatch.model import InventorySnapshot

# An adapter enforces its own timeout and says what hung; this deadline, a little later, is
# the backstop for a call that has none (an SDK blocked in a socket, a hung mount).
MARGIN = 1.0


def read_all(sources: Sequence[InventorySource]) -> list[InventorySnapshot]:
    """Every source's snapshots, in the order of ``sources``; never raises for a source."""
    parts = [(source, part) for source in sources for part in source.parts()]
    results = gather(
        [part.fetch for _, part in parts],
        [part.timeout + MARGIN for _, part in parts],
        name="leasewatch-inventory",
    )
    out: list[InventorySnapshot] = []
    for source in sources:
        mine = [
            _timed_out(part, r.after) if isinstance(r, TimedOut) else r
            for (owner, part), r in zip(parts, results, strict=True)
            if owner is source
        ]
        out.extend(source.combine(mine))
    return out


def _timed_out(part: InventorySource, after: float) -> InventorySnapshot:
    return InventorySnapshot(
        source=part.name,
        kind=part.kind,
        healthy=False,
        reason=str(fail(part.name, f"no answer within {after:g}s")),
        networks=part.networks,
        duration=after,
    )
