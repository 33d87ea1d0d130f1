"""``leasewatch mac take|give|list`` and the scan's part: functions that return values.

The CLI reads the servers and inventories (``Scanner.analyse``) and hands the analysis in;
nothing here prints or reads a clock.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from leasewatch.config import Config, MacPoolConfig
from leasewatch.errors import ConfigError, MacPoolError
from leasewatch.macpool import choose, store
from leasewatch.macpool import pool as pool_module
from leasewatch.model import Analysis, InventorySnapshot, PoolHold, normalize_mac
from leasewatch.printable import printable
from leasewatch.state import State

log = logging.getLogger(__name__)


def require(config: Config) -> MacPoolConfig:
    """The ``[macpool]`` table, or a config error saying it is missing."""
    if config.macpool is None:
        raise ConfigError(f"{config.path}: no [macpool] table: set prefix, range or macs first")
    return config.macpool


def view(config: Config, state: State, analysis: Analysis) -> choose.View:
    """What the pool knows now: leases of pool MACs, live ones, never-to-give ones."""
    mp = require(config)
    leases = choose.pool_leases(
        mp.pool, analysis.servers, state.lease_sightings(), mp.networks, analysis.now
    )
    fixed = {h.mac for s in analysis.servers for h in s.fixed if h.mac}
    blocked = config.reaper.protect_macs | fixed
    return choose.build_view(
        mp.pool, leases, analysis.inventories, blocked, mp.networks, returned=store.returned(state)
    )


def take(config: Config, state: State, analysis: Analysis, vm: str | None) -> choose.Choice:
    """Hand out one MAC (recorded as taken), or raise ``MacPoolError`` when none is left."""
    seen = view(config, state, analysis)
    choice = store.take(state, lambda held: choose.choose(seen, held, vm), analysis.now)
    if choice is None:
        taken = len(store.taken(state))
        raise MacPoolError(
            f"MAC pool exhausted: {seen.pool.describe()} ({seen.pool.size} MACs) has "
            f"{taken} taken, {len(seen.live)} live in an inventory"
            + (f", {len(seen.blocked)} protected or fixed" if seen.blocked else "")
            + ": give some back (leasewatch mac give MAC) or widen [macpool]"
        )
    return choice


@dataclass(frozen=True, slots=True)
class Given:
    """What ``give`` did: ``was`` is the row it removed (None: the MAC was already free)."""

    mac: str
    was: choose.Taken | None


def give(config: Config, state: State, text: str, now: datetime) -> Given:
    """Return a MAC to the pool; returning a free one is not an error. Either way the
    pool notes that no VM of ours holds it (see ``choose.choose``)."""
    mp = require(config)
    mac = normalize_mac(text)
    if mac is None:
        raise MacPoolError(f"{text!r} is not a MAC address")
    was = store.give(state, mac, now, in_pool=mac in mp.pool)
    if was is None and mac not in mp.pool:
        raise MacPoolError(f"{mac} is not in the MAC pool ({mp.pool.describe()})")
    return Given(mac, was)


def listing(config: Config, state: State, analysis: Analysis) -> list[choose.Entry]:
    """Every taken, live or leased pool MAC."""
    seen = view(config, state, analysis)
    last_seen = {s.mac: s.last_seen for s in state.vm_sightings() if s.mac in seen.pool}
    return choose.entries(seen, store.taken(state), last_seen, analysis.now)


def _returns(
    mp: MacPoolConfig, rows: list[choose.Taken], analysis: Analysis, grace: timedelta
) -> choose.Returns:
    return choose.returns(
        rows, analysis.inventories, mp.networks, hold=mp.hold, grace=grace, now=analysis.now
    )


def settle(config: Config, state: State, analysis: Analysis, grace: timedelta) -> choose.Returns:
    """The scan's part: note which taken MACs an inventory lists, return the gone ones."""
    mp = config.macpool
    if mp is None:
        return choose.Returns()
    done = store.settle(state, lambda rows: _returns(mp, rows, analysis, grace), analysis.now)
    for t in done.returned:
        why = "its VM is gone" if t.seen_at is not None else "never seen in an inventory"
        vm = printable(t.vm) if t.vm else "an unnamed VM"  # a name is any text
        log.info("MAC pool: %s returned (%s; taken for %s)", t.mac, why, vm)
    return done


def taken(
    config: Config,
    state: State,
    inventories: Sequence[InventorySnapshot],
    now: datetime,
    grace: timedelta,
) -> frozenset[str]:
    """The pool MACs handed out and not returned, for the analysis: their leases are live
    (``Reason.LIVE_POOL_TAKEN``). A MAC this scan's ``settle`` returns is left out, so its
    lease is an orphan the plan keeps for the next taker in the very scan that returns it
    (``inventories`` are the ones read, before the analysis judges them: one it distrusts
    makes the lease unknown anyway). Empty without ``[macpool]``."""
    mp = config.macpool
    if mp is None:
        return frozenset()
    rows = [t for t in store.taken(state) if t.mac in mp.pool]
    going = choose.returns(rows, inventories, mp.networks, hold=mp.hold, grace=grace, now=now)
    return frozenset(t.mac for t in rows) - {t.mac for t in going.returned}


def holds(
    config: Config, state: State, analysis: Analysis, grace: timedelta
) -> dict[str, PoolHold]:
    """For the reaper's plan: the orphans whose MACs are in the pool, taken or kept. A MAC
    this scan's ``settle`` will return counts as kept already (the plan comes first)."""
    mp = config.macpool
    if mp is None:
        return {}
    rows = store.taken(state)
    going = {t.mac for t in _returns(mp, rows, analysis, grace).returned}
    taken = {t.mac for t in rows} - going
    return choose.holds(mp.pool, (f.lease.mac for f in analysis.orphans), taken)


def check(
    config: Config, inventories: Sequence[InventorySnapshot], taken: Collection[str]
) -> list[str]:
    """``check-config``'s warnings about the pool: vendor OUIs, overlaps with ``protect``
    and with MACs live VMs use that leasewatch did not hand out (not in ``taken``)."""
    mp = config.macpool
    if mp is None:
        return []
    out = [f"[macpool]: {w}" for w in pool_module.warnings(mp.pool)]
    protected = sorted(m for m in config.reaper.protect_macs if m in mp.pool)
    if protected:
        out.append(
            f"[macpool] overlaps [reaper] protect: {_some(protected)}: "
            "mac take never hands these out"
        )
    for inv in inventories:
        if not inv.healthy:
            out.append(f"[macpool]: cannot compare with inventory {inv.source}: {inv.reason}")
            continue
        inside = sorted(m for m in inv.macs if m in mp.pool and m not in taken)
        if inside:
            out.append(
                f"[macpool] overlaps MACs inventory {inv.source} lists: {_some(inside)}: "
                "mac take skips them while they are live, but whatever made them may pick "
                "more there"
            )
    return out


def _some(macs: Iterable[str], shown: int = 3) -> str:
    items = list(macs)
    more = f" and {len(items) - shown} more" if len(items) > shown else ""
    return ", ".join(items[:shown]) + more
