"""Tests for churn and lease-time advice, on the recorded scenario in tests/history_scenario."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from leasewatch.core.advice import advise, percentile, recommend
from leasewatch.state import State
from tests import history_scenario as sc

MIN = timedelta(minutes=1)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The scenario's 73 scans, recorded once into a state file."""
    path = tmp_path_factory.mktemp("advice") / "state.db"
    sc.record(path)
    return path


def test_sightings_hold_the_scenario(recorded: Path) -> None:
    """Every VM and lease was recorded; orphans carry the first scan that missed their VM."""
    state = State.open(recorded)
    try:
        vms = {v.mac: v for v in state.vm_sightings()}
        leases = {s.mac: s for s in state.lease_sightings()}
        assert state.tracking_since() == sc.T0
    finally:
        state.close()
    assert set(vms) == {vm.mac for vm in sc.VMS}
    v5 = sc.SHORT[4]  # born 5 h, lives 100 min, renewed once at 90 min
    assert (vms[v5.mac].first_seen, vms[v5.mac].last_seen) == (v5.born, v5.dies)
    assert leases[v5.mac].starts == v5.born + 90 * MIN
    assert leases[v5.mac].ends == v5.born + 270 * MIN
    assert leases[v5.mac].orphaned_at == v5.dies + 10 * MIN
    assert leases[sc.LONG[0].mac].orphaned_at is None


def test_advice_matches_the_numbers_worked_by_hand(recorded: Path) -> None:
    """Lifetimes, outlived times, recommendation and the simulated savings, checked by hand.

    Lifetimes 20..120 min: median (60 + 80) / 2 = 70, p90 (nearest rank 6 of 6) = 120.
    Granted ends - first missing scan (death + 10 min): V1 180 - 30 = 150, V2 130, V3 110,
    V4 90, V5 270 - 110 = 160, V6 270 - 130 = 140: median (130 + 140) / 2 = 135, max 160.
    Recommendation: 70 / 4 = 17.5 min, rounded down to 15 min; max-lease-time 30 min.
    With 15 min each orphan frees [gone + 15, end): 135 + 115 + 95 + 75 + 145 + 125 = 690
    address-minutes = 11.5 address-hours, 690 / 720 = 0.958 on average over 12 h, at most two
    at once (V1 [105, 240) overlaps V2 [185, 300); no three overlap).
    """
    state = State.open(recorded)
    try:
        (advice,) = advise(
            state.lease_sightings(), state.vm_sightings(), now=sc.NOW,
            window=timedelta(hours=12), tracking_since=state.tracking_since(),
            kinds={"dhcp1": "isc"},
        )  # fmt: skip
    finally:
        state.close()
    assert (advice.server, advice.network) == ("dhcp1", "lab")
    assert (advice.vms, advice.older_vms, advice.orphans) == (6, 2, 6)
    assert advice.lifetime_median == 70 * MIN
    assert advice.lifetime_p90 == 120 * MIN
    assert advice.outlived_median == 135 * MIN
    assert advice.outlived_max == 160 * MIN
    assert advice.lease_time == timedelta(hours=3)
    assert advice.recommended == 15 * MIN
    assert advice.max_lease_time == 30 * MIN
    assert advice.address_hours == pytest.approx(11.5)
    assert advice.freed_mean == pytest.approx(690 / 720)
    assert advice.freed_peak == 2
    assert advice.settings() == ("default-lease-time 900;", "max-lease-time 1800;")
    assert advice.note.startswith("6 VMs came and went in the last 12h (2 older")


def test_too_few_vms_or_a_short_lease_already_give_no_recommendation(recorded: Path) -> None:
    """With a 3-hour window only V4..V6 are in it (too few); the rules and helpers hold."""
    state = State.open(recorded)
    try:
        (advice,) = advise(
            state.lease_sightings(), state.vm_sightings(), now=sc.NOW,
            window=timedelta(hours=3), tracking_since=state.tracking_since(),
        )  # fmt: skip
    finally:
        state.close()
    assert advice.recommended is None and advice.settings() == ()
    assert "too few VMs to advise" in advice.note
    assert recommend(timedelta(minutes=20)) == timedelta(minutes=10)  # the floor
    assert recommend(timedelta(days=30)) == timedelta(days=1)  # the ceiling
    assert recommend(timedelta(hours=5)) == timedelta(hours=1)
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0], 0.9) == 9.0
