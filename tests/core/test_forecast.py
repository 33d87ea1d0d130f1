"""Tests for the exhaustion forecast, against numbers worked out by hand in each test."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from leasewatch.core.forecast import (
    Forecast,
    about,
    alert_text,
    as_dict,
    dry_in,
    due,
    exhaustion_seconds,
    forecast,
    forecasts,
)
from leasewatch.state import HistoryRow

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
DAY = timedelta(hours=24)


def rows(
    actives: list[int],
    *,
    every: timedelta = timedelta(hours=1),
    size: int = 40,
    network: str = "lab",
    server: str = "dhcp1",
) -> list[HistoryRow]:
    """History rows for one network, the last one at NOW, ``every`` apart."""
    n = len(actives)
    return [
        HistoryRow(NOW - (n - 1 - i) * every, server, network, size, a, 0, 0)
        for i, a in enumerate(actives)
    ]  # fmt: skip


def test_steady_growth_over_half_the_window_is_high_confidence() -> None:
    """13 hourly scans growing by 2 an hour: rate 2/h, (40 - 34) / 2 = 3 h to full."""
    f = forecast(rows([10 + 2 * h for h in range(13)]), server="dhcp1", network="lab",
                 now=NOW, window=DAY)  # fmt: skip
    assert f.rate_per_hour == pytest.approx(2.0)
    assert f.full_in == timedelta(hours=3)
    assert f.confidence == "high"
    assert "13 scans over 12 h" in f.note
    assert dry_in(f) == "3 h"
    assert exhaustion_seconds(f) == pytest.approx(3 * 3600)


def test_short_span_is_medium_confidence() -> None:
    """4 hourly scans (3 h of a 24 h window, 12.5 %): rate 2/h, 24 free -> 12 h, medium."""
    f = forecast(rows([10, 12, 14, 16]), server="dhcp1", network="lab", now=NOW, window=DAY)
    assert f.rate_per_hour == pytest.approx(2.0)
    assert f.full_in == timedelta(hours=12)
    assert f.confidence == "medium"
    assert (
        alert_text(f)
        == "lab will be full in about 12 h (+2.0 leases/h, confidence medium) on dhcp1"
    )
    assert due(f, timedelta(hours=12)) and not due(f, timedelta(hours=11))


def test_noisy_series_is_low_confidence_and_never_alerts() -> None:
    """10,20,10,20,10,20: slope 15/17.5 = 0.857/h, r² = 15² / (17.5 * 150) = 0.086: low."""
    f = forecast(rows([10, 20, 10, 20, 10, 20]), server="dhcp1", network="lab", now=NOW,
                 window=timedelta(hours=10))  # fmt: skip
    assert f.rate_per_hour == pytest.approx(15 / 17.5)
    assert f.full_in == timedelta(hours=(40 - 20) / (15 / 17.5))
    assert f.confidence == "low"
    assert "noisy" in f.note and "r² 0.09" in f.note
    assert dry_in(f).startswith("~")
    assert not due(f, timedelta(days=365))


def test_shrinking_network_is_not_filling_up() -> None:
    """A falling count has no time to full; the gauge reads +Inf."""
    f = forecast(rows([20, 18, 16, 14]), server="dhcp1", network="lab", now=NOW,
                 window=timedelta(hours=6))  # fmt: skip
    assert f.rate_per_hour == pytest.approx(-2.0)
    assert f.full_in is None
    assert f.note.startswith("not filling up")
    assert dry_in(f) == "not filling"
    assert exhaustion_seconds(f) == math.inf


def test_too_few_scans_or_too_little_coverage_gives_no_forecast() -> None:
    """Two scans, or three within one hour of a day window (4 % < 10 %): confidence none."""
    two = forecast(rows([10, 12]), server="dhcp1", network="lab", now=NOW, window=DAY)
    assert (two.confidence, two.full_in) == ("none", None)
    assert "2 scans in the last 24 h" in two.note
    short = forecast(rows([10, 12, 14], every=timedelta(minutes=30)), server="dhcp1",
                     network="lab", now=NOW, window=DAY)  # fmt: skip
    assert short.confidence == "none"
    assert "cover 1 h of the 24 h window" in short.note
    assert math.isnan(exhaustion_seconds(short))
    assert dry_in(short) == "?"


def test_samples_outside_the_window_and_other_networks_are_ignored() -> None:
    """Old rows and other networks' rows do not bend the line."""
    history = rows([10 + 2 * h for h in range(13)]) + rows([0, 40, 0], network="other")
    history += [HistoryRow(NOW - timedelta(days=3), "dhcp1", "lab", 40, 39, 0, 0)]
    both = forecasts(history, now=NOW, window=DAY)
    assert set(both) == {("dhcp1", "lab"), ("dhcp1", "other")}
    assert both["dhcp1", "lab"].rate_per_hour == pytest.approx(2.0)


def test_full_network_and_wording() -> None:
    """A network already full says so; durations read as people say them."""
    f = forecast(rows([38, 39, 40, 41], size=40), server="dhcp1", network="lab", now=NOW,
                 window=timedelta(hours=4))  # fmt: skip
    assert f.full_in == timedelta(0)
    assert dry_in(f) == "full"
    assert alert_text(f).startswith("lab will be full now")
    assert about(timedelta(minutes=40)) == "about 40 min"
    assert about(timedelta(hours=9, minutes=10)) == "about 9 h"
    assert about(timedelta(days=3, hours=2)) == "about 3 days"
    assert as_dict(Forecast("lab", "dhcp1", 2.0, timedelta(hours=3), "high", "n")) == {
        "rate_per_hour": 2.0, "full_in_seconds": 10800, "confidence": "high", "note": "n",
    }  # fmt: skip


def test_the_history_keeps_free_as_the_table_counts_it() -> None:
    """A pool of 20, 6 abandoned: three hourly scans at 8, 9, 10 active are stored with
    free 4, and the forecast from the history alone says 4 h (free / 1 per hour), as the
    table's free column would, not (20 - 10) / 1 = 10 h."""
    from leasewatch.model import Analysis, Level, NetworkUsage
    from leasewatch.state import State

    state = State.memory()
    for hours, active in ((2, 8), (1, 9), (0, 10)):
        net = NetworkUsage("dhcp1", "campus", 20, active, 0, 6, Level.OK)
        state.add_history(Analysis(NOW - timedelta(hours=hours), networks=(net,)), [], DAY)
    stored = state.history()
    assert [r.free for r in stored] == [6, 5, 4]
    f = forecast(stored, server="dhcp1", network="campus", now=NOW, window=timedelta(hours=3))
    assert f.full_in == timedelta(hours=4)
    state.close()


def test_nothing_free_is_full_now() -> None:
    """A network with no free address is full, whatever the trend: "dry in" says `full`."""
    f = forecast(rows([40, 40]), server="dhcp1", network="lab", now=NOW, window=DAY, free=0)
    assert (f.full_in, f.confidence) == (timedelta(0), "high")


def test_a_slash_64_filling_up_is_not_full_within_the_horizon() -> None:
    """A /64 gaining leases never runs dry in any lifetime: no end date, no overflow."""
    f = forecast(rows([10 + 2 * h for h in range(13)], size=2**64), server="dhcp1",
                 network="lab", now=NOW, window=DAY)  # fmt: skip
    assert f.rate_per_hour == pytest.approx(2.0)
    assert f.full_in is None
    assert "not full within 100 years" in f.note
    assert not due(f, timedelta(days=3650))
