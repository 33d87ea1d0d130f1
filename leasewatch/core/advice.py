"""Churn and lease-time advice: how long VMs live, how long their leases outlive them.

Pure. The sighting recorder (``leasewatch.sightings``) keeps, across scans, the first and
last time each MAC and each lease was seen, and since when a lease's MAC has been missing.
``advise`` reads the sightings back and, per network:

- VM lifetime = last scan that saw the MAC - first scan that saw it, for VMs that were born
  after tracking began (older ones are left out: their birth was not seen) and are gone (a
  lease of theirs was judged an orphan). Resolution: one scan interval.
- outlived = lease end as the server granted it - the first scan that found the VM gone.
- the lease time in use = median of ``ends - starts`` of the leases seen.
- the simulation: with a lease time L, a VM's last renewal happened before it died, so its
  lease would have ended by ``min(granted end, gone + L)``. Each orphaned lease would have
  been free during ``[that, granted end)``; summed over the window that gives the
  address-hours saved, and the largest number freed at one moment. This is the effect of the
  lease time alone, as if nothing had been reaped.
- the recommendation: a quarter of the median lifetime, rounded down to a usual value, at
  least ``FLOOR`` and at most a day. A lease outlives its VM by L/2 to L (clients renew at
  L/2), so a typical VM's address stays taken for at most a quarter more of its life.
  ``max-lease-time`` is twice that (ISC caps what a client may ask for with it).

It never edits a DHCP configuration: it prints the lines an operator may paste.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from leasewatch.model import format_duration

# the sightings moved to their own module; these names stay importable from here
from leasewatch.sightings import LeaseSighting as LeaseSighting  # noqa: PLC0414
from leasewatch.sightings import VmSighting as VmSighting  # noqa: PLC0414

MIN_VMS = 5
FLOOR = timedelta(minutes=10)
CEILING = timedelta(days=1)
LADDER = tuple(timedelta(minutes=m) for m in (10, 15, 20, 30, 60, 120, 240, 360, 480, 720, 1440))


@dataclass(frozen=True, slots=True)
class Advice:
    """The evidence and the recommendation for one network."""

    server: str
    network: str
    kind: str  # "isc", "kea", "dnsmasq" or "" (unknown): which settings to name
    window: timedelta
    vms: int  # VMs whose whole life was seen
    older_vms: int  # VMs born before tracking began, or still alive: not counted
    lifetime_median: timedelta | None
    lifetime_p90: timedelta | None
    orphans: int  # leases whose VM went away while they were active
    outlived_median: timedelta | None
    outlived_max: timedelta | None
    lease_time: timedelta | None  # in use now (median granted)
    recommended: timedelta | None
    max_lease_time: timedelta | None
    freed_peak: int  # addresses the recommendation would have freed at once, at most
    freed_mean: float  # on average over the window
    address_hours: float  # freed, summed over the window
    note: str

    def settings(self) -> tuple[str, ...]:
        """The configuration lines to use (never written anywhere by leasewatch)."""
        if self.recommended is None or self.max_lease_time is None:
            return ()
        lease = int(self.recommended.total_seconds())
        longest = int(self.max_lease_time.total_seconds())
        if self.kind == "kea":
            return (f'"valid-lifetime": {lease}', f'"max-valid-lifetime": {longest}')
        if self.kind == "dnsmasq":
            # dnsmasq has one lease time per range (its last field) and no maximum
            return (
                f"dhcp-range=<start>,<end>,<netmask>,{lease}",
                f"<lease expiry='{lease}' unit='seconds'/> (libvirt network <range>)",
            )
        isc = (f"default-lease-time {lease};", f"max-lease-time {longest};")
        if self.kind == "isc":
            return isc
        return (*isc, f'"valid-lifetime": {lease}')


def advise(
    leases: Iterable[LeaseSighting],
    vms: Iterable[VmSighting],
    *,
    now: datetime,
    window: timedelta,
    tracking_since: datetime | None,
    kinds: Mapping[str, str] | None = None,
) -> list[Advice]:
    """Advice for every (server, network) with leases seen in the window, sorted by name."""
    start = now - window
    vm_by_mac = {v.mac: v for v in vms}
    groups: dict[tuple[str, str], list[LeaseSighting]] = {}
    for lease in leases:
        if lease.network is not None and lease.last_seen >= start:
            groups.setdefault((lease.server, lease.network), []).append(lease)
    out = []
    for (server, network), group in sorted(groups.items()):
        out.append(
            _advise_network(
                server,
                network,
                group,
                vm_by_mac,
                now=now,
                window=window,
                tracking_since=tracking_since,
                kind=(kinds or {}).get(server, ""),
            )
        )
    return out


def _advise_network(
    server: str,
    network: str,
    leases: Sequence[LeaseSighting],
    vm_by_mac: Mapping[str, VmSighting],
    *,
    now: datetime,
    window: timedelta,
    tracking_since: datetime | None,
    kind: str,
) -> Advice:
    start = now - window
    gone_at: dict[str, datetime] = {}
    for lease in leases:
        if lease.orphaned_at is not None:
            seen = gone_at.get(lease.mac)
            gone_at[lease.mac] = min(seen, lease.orphaned_at) if seen else lease.orphaned_at
    lifetimes: list[float] = []
    older = 0
    for mac in sorted({lease.mac for lease in leases}):
        vm = vm_by_mac.get(mac)
        if vm is None:
            continue  # never listed by a healthy inventory (or forgotten by retention)
        born_seen = tracking_since is None or vm.first_seen > tracking_since
        if mac in gone_at and born_seen:
            lifetimes.append((vm.last_seen - vm.first_seen).total_seconds())
        else:
            older += 1
    # (gone, granted end) of every lease whose VM went away while it was active
    orphaned = [
        (lease.orphaned_at, lease.ends)
        for lease in leases
        if lease.orphaned_at is not None and lease.ends is not None
    ]
    outlived = [max((end - gone).total_seconds(), 0.0) for gone, end in orphaned]
    granted = [
        (lease.ends - lease.starts).total_seconds()
        for lease in leases
        if lease.ends is not None and lease.starts is not None
    ]
    lease_time = _td(statistics.median(granted)) if granted else None
    median = _td(statistics.median(lifetimes)) if lifetimes else None
    p90 = _td(percentile(lifetimes, 0.9)) if lifetimes else None
    recommended: timedelta | None = None
    notes: list[str] = []
    evidence = (
        f"{len(lifetimes)} VM{'' if len(lifetimes) == 1 else 's'} came and went in the last "
        + format_duration(window)
        + (f" ({older} older or still running not counted)" if older else "")
        + f", {len(orphaned)} lease{'' if len(orphaned) == 1 else 's'} outlived their VM"
    )
    if len(lifetimes) < MIN_VMS:
        notes.append(f"too few VMs to advise: {len(lifetimes)} (need {MIN_VMS})")
    else:
        assert median is not None
        recommended = recommend(median)
        if lease_time is not None and lease_time <= recommended:
            notes.append(f"keep the lease time in use ({format_duration(lease_time)})")
            recommended = None
    freed_peak, address_seconds = 0, 0.0
    if recommended is not None:
        freed = [
            (max(min(end, gone + recommended), start), min(end, now)) for gone, end in orphaned
        ]
        freed_peak, address_seconds = _sweep(freed)
    return Advice(
        server=server,
        network=network,
        kind=kind,
        window=window,
        vms=len(lifetimes),
        older_vms=older,
        lifetime_median=median,
        lifetime_p90=p90,
        orphans=len(orphaned),
        outlived_median=_td(statistics.median(outlived)) if outlived else None,
        outlived_max=_td(max(outlived)) if outlived else None,
        lease_time=lease_time,
        recommended=recommended,
        max_lease_time=2 * recommended if recommended is not None else None,
        freed_peak=freed_peak,
        freed_mean=address_seconds / window.total_seconds() if window else 0.0,
        address_hours=address_seconds / 3600,
        note="; ".join([evidence, *notes]),
    )


def as_dict(a: Advice) -> dict[str, object]:
    """``advise --format json``: durations in seconds, null when unknown."""

    def seconds(t: timedelta | None) -> int | None:
        return None if t is None else round(t.total_seconds())

    return {
        "server": a.server,
        "network": a.network,
        "window_seconds": seconds(a.window),
        "vms": a.vms,
        "older_vms": a.older_vms,
        "lifetime_median_seconds": seconds(a.lifetime_median),
        "lifetime_p90_seconds": seconds(a.lifetime_p90),
        "orphans": a.orphans,
        "outlived_median_seconds": seconds(a.outlived_median),
        "outlived_max_seconds": seconds(a.outlived_max),
        "lease_time_seconds": seconds(a.lease_time),
        "recommended_seconds": seconds(a.recommended),
        "max_lease_time_seconds": seconds(a.max_lease_time),
        "settings": list(a.settings()),
        "freed_peak": a.freed_peak,
        "freed_mean": round(a.freed_mean, 3),
        "address_hours": round(a.address_hours, 2),
        "note": a.note,
    }


def recommend(median_lifetime: timedelta) -> timedelta:
    """A quarter of the median VM lifetime, rounded down to a usual value in [FLOOR, CEILING]."""
    target = min(max(median_lifetime / 4, FLOOR), CEILING)
    return max(v for v in LADDER if v <= target)


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank percentile: the smallest value with at least ``q`` of them at or below."""
    ordered = sorted(values)
    rank = max(math.ceil(q * len(ordered)), 1)
    return ordered[rank - 1]


def _sweep(intervals: Iterable[tuple[datetime, datetime]]) -> tuple[int, float]:
    """The most intervals open at once, and their summed length in seconds."""
    events: list[tuple[datetime, int]] = []
    total = 0.0
    for begin, end in intervals:
        if begin < end:
            events += [(begin, 1), (end, -1)]
            total += (end - begin).total_seconds()
    peak = running = 0
    for _at, step in sorted(events):  # at equal times -1 sorts first: touching is not overlap
        running += step
        peak = max(peak, running)
    return peak, total


def _td(seconds: float) -> timedelta:
    return timedelta(seconds=round(seconds))
