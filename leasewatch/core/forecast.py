"""When will a network run dry? A straight line through its recent active-lease counts.

Pure: the caller hands in history rows and ``now``. The method, chosen to be explainable and
checkable by hand rather than clever:

- take the samples of one (server, network) inside ``[now - window, now]``;
- fit ``active = a + rate * t`` by ordinary least squares (t in hours);
- ``full_in = free_now / rate``, free counted as the table counts it (the analysis's, else
  the newest sample's), only when the rate is positive;
- judge the fit: fewer than ``MIN_SAMPLES`` samples, or samples spanning less than
  ``MIN_COVERAGE`` of the window, give no forecast; r² below ``NOISY_R2`` says the line
  explains little of the movement (confidence "low").

Least squares was preferred to a robust estimator (Theil-Sen, O(n²)) because the window can
hold thousands of scans, r² comes with it, and a reaper's release is a real drop the line
should see. A burst of releases lowers the rate, which is the truth about the pool.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from leasewatch.model import Analysis, figure

MIN_SAMPLES = 3
MIN_COVERAGE = 0.10  # of the window
NOISY_R2 = 0.5
HIGH_R2 = 0.8
HIGH_COVERAGE = 0.5
# Growth slower than this (leases per hour) is "not filling up": a line that flat would take
# more than a year to fill even a /16.
FLAT_RATE = 1e-6
HORIZON_YEARS = 100
HORIZON_HOURS = HORIZON_YEARS * 8766  # beyond this a forecast says "not within", not when


class Sample(Protocol):
    """One scan's counts for one network (``leasewatch.state.HistoryRow`` is one)."""

    @property
    def at(self) -> datetime: ...
    @property
    def server(self) -> str: ...
    @property
    def network(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def active(self) -> int: ...
    @property
    def free(self) -> int | None: ...  # None: not recorded (size - active stands in)


@dataclass(frozen=True, slots=True)
class Point:
    """A sample made from the current analysis (``report`` adds it to the stored history)."""

    at: datetime
    server: str
    network: str
    size: int
    active: int
    free: int | None = None


def free_in(s: Sample) -> int:
    """A sample's free addresses: as recorded, else (an old record) size - active."""
    return s.free if s.free is not None else max(s.size - s.active, 0)


def with_current(samples: Iterable[Sample], analysis: Analysis) -> list[Sample]:
    """The stored samples plus this analysis' counts as the newest sample (unless the
    history already holds this scan's, as after ``scan`` recorded it)."""
    rows = list(samples)
    recorded = {(s.server, s.network) for s in rows if s.at == analysis.now}
    now = [
        Point(analysis.now, n.server, n.name, n.size, n.active, n.free)
        for n in analysis.networks
        if (n.server, n.name) not in recorded
    ]
    return [*rows, *now]


def outlook_of(
    samples: Iterable[Sample], analysis: Analysis, window: timedelta
) -> dict[tuple[str, str], Forecast]:
    """A forecast for every network of ``analysis``: the trend from the history and this
    analysis, the free addresses as the analysis counts them (``NetworkUsage.free``: backup
    and abandoned addresses are not free, so "dry in" agrees with the table)."""
    rows = with_current(samples, analysis)
    free = {(n.server, n.name): n.free for n in analysis.networks}
    return {
        key: forecast(rows, server=key[0], network=key[1], now=analysis.now, window=window,
                      free=free[key])
        for key in sorted(free)
    }  # fmt: skip


@dataclass(frozen=True, slots=True)
class Forecast:
    """How fast a network fills, and when it will be full if the trend holds.

    ``confidence`` is ``high``, ``medium``, ``low`` or ``none`` (no forecast: too few data);
    ``full_in`` is None when there is no forecast or the network is not filling up.
    """

    network: str
    server: str
    rate_per_hour: float
    full_in: timedelta | None
    confidence: str
    note: str


Forecasts = Mapping[tuple[str, str], Forecast]


def forecast(
    samples: Iterable[Sample],
    *,
    server: str,
    network: str,
    now: datetime,
    window: timedelta,
    free: int | None = None,
) -> Forecast:
    """The forecast for one network from its samples (other networks' samples are ignored).

    ``free``: the addresses free now, as the analysis counts them; without it, the newest
    sample's (``free_in``).
    """
    start = now - window
    points = sorted(
        (
            s
            for s in samples
            if s.server == server and s.network == network and start <= s.at <= now
        ),
        key=lambda s: s.at,
    )
    span = (points[-1].at - points[0].at) if points else timedelta(0)
    coverage = span / window if window.total_seconds() > 0 else 0.0
    window_text = _human(window)
    if free == 0:
        return Forecast(network, server, 0.0, timedelta(0), "high", "no address is free")
    if len(points) < MIN_SAMPLES or span <= timedelta(0):
        return Forecast(
            network, server, 0.0, None, "none",
            f"too few data: {len(points)} scans in the last {window_text} "
            f"(need {MIN_SAMPLES})",
        )  # fmt: skip
    if coverage < MIN_COVERAGE:
        return Forecast(
            network, server, 0.0, None, "none",
            f"too few data: scans cover {_human(span)} of the {window_text} window "
            f"(need {MIN_COVERAGE:.0%})",
        )  # fmt: skip
    t0 = points[0].at
    xs = [(p.at - t0).total_seconds() / 3600 for p in points]
    ys = [float(p.active) for p in points]
    rate, r2 = _least_squares(xs, ys)
    facts = f"{len(points)} scans over {_human(span)}, r² {r2:.2f}"
    if r2 < NOISY_R2:
        confidence = "low"
        quality = f"noisy ({facts})"
    elif r2 >= HIGH_R2 and coverage >= HIGH_COVERAGE:
        confidence = "high"
        quality = facts
    else:
        confidence = "medium"
        quality = facts
    if rate <= FLAT_RATE:
        return Forecast(network, server, rate, None, confidence, f"not filling up; {quality}")
    if free is None:
        free = free_in(points[-1])
    hours = free / rate
    if hours > HORIZON_HOURS:
        # an IPv6 /64 never runs dry at any rate a VM fleet reaches (2^64 / 1,000 leases an
        # hour is two billion years), and a timedelta that long does not exist
        return Forecast(
            network, server, rate, None, confidence,
            f"+{rate:.2f} leases/h, not full within {HORIZON_YEARS} years; {quality}",
        )  # fmt: skip
    full_in = timedelta(hours=hours)
    return Forecast(
        network,
        server,
        rate,
        full_in,
        confidence,
        f"+{rate:.2f} leases/h, {figure(free)} free; {quality}",
    )


def _least_squares(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Slope and r² of the least-squares line through the points (xs not all equal)."""
    n = len(xs)
    mx = sum(xs) / n
    my = sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    syy = sum((y - my) ** 2 for y in ys)
    slope = sxy / sxx
    # A perfectly flat series is explained perfectly by a flat line.
    r2 = 1.0 if syy == 0 else (sxy * sxy) / (sxx * syy)
    return slope, r2


def forecasts(
    samples: Iterable[Sample], *, now: datetime, window: timedelta
) -> dict[tuple[str, str], Forecast]:
    """A forecast for every (server, network) that appears in the samples."""
    rows = list(samples)
    keys = sorted({(s.server, s.network) for s in rows})
    return {
        (server, network): forecast(rows, server=server, network=network, now=now, window=window)
        for server, network in keys
    }


def exhaustion_seconds(f: Forecast | None) -> float:
    """The value for the ``leasewatch_network_exhaustion_seconds`` gauge.

    Seconds until full; ``+Inf`` when not filling up; ``NaN`` when there is no forecast. An
    alert rule like ``leasewatch_network_exhaustion_seconds < 6 * 3600`` fires on neither.
    """
    if f is None or f.confidence == "none":
        return math.nan
    if f.full_in is None:
        return math.inf
    return f.full_in.total_seconds()


def due(f: Forecast, threshold: timedelta) -> bool:
    """Whether ``[alerts] on_forecast = threshold`` calls for an alert on this forecast.

    Only a trend we trust (medium or high confidence) may wake someone up.
    """
    return f.full_in is not None and f.full_in <= threshold and f.confidence in ("high", "medium")


def exhaustion_times(forecasts: Forecasts, now: datetime) -> dict[str, datetime]:
    """When each trusted, filling network runs dry, keyed ``"SERVER/NETWORK"``.

    The ``exhaustion`` argument of ``leasewatch.alerts.plan``: only medium or high
    confidence forecasts are handed on, so a noisy line never pages anyone.
    """
    return {
        f"{server}/{network}": now + f.full_in
        for (server, network), f in forecasts.items()
        if f.full_in is not None and f.confidence in ("high", "medium")
    }


def alert_text(f: Forecast) -> str:
    """The alert line: ``lab will be full in about 9 h (+2.1 leases/h, confidence high)``."""
    when = "now" if f.full_in is None or f.full_in <= timedelta(0) else f"in {about(f.full_in)}"
    return (
        f"{f.network} will be full {when} "
        f"(+{f.rate_per_hour:.1f} leases/h, confidence {f.confidence})"
        + (f" on {f.server}" if f.server else "")
    )


def about(delta: timedelta) -> str:
    """A rough duration for people: ``about 40 min``, ``about 9 h``, ``about 3 days``."""
    return f"about {_human(delta)}"


def _human(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    if seconds < 3600:
        return f"{max(round(seconds / 60), 1)} min"
    if seconds < 48 * 3600:
        return f"{round(seconds / 3600)} h"
    return f"{round(seconds / 86400)} days"


def dry_in(f: Forecast | None) -> str:
    """The report's short "dry in" cell: ``9 h``, ``full``, ``not filling``, ``?``."""
    if f is None or f.confidence == "none":
        return "?"
    if f.full_in is None:
        return "not filling"
    if f.full_in <= timedelta(0):
        return "full"
    text = _human(f.full_in)
    return f"~{text}" if f.confidence == "low" else text


def as_dict(f: Forecast) -> dict[str, object]:
    """The JSON report's ``forecast`` object for one network."""
    return {
        "rate_per_hour": round(f.rate_per_hour, 4),
        "full_in_seconds": round(f.full_in.total_seconds()) if f.full_in is not None else None,
        "confidence": f.confidence,
        "note": f.note,
    }
