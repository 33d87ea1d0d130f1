"""deploy/: the same checks `make check-deploy` runs, and proof that they catch mistakes."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy import check


def test_example_config_loads() -> None:
    """The example leasewatch.toml loads with leasewatch's own loader."""
    assert check.check_config()


def test_unit_is_hardened_and_verifies() -> None:
    """The unit carries the hardening and passes systemd-analyze verify (when installed)."""
    assert check.check_unit()


def test_rules_are_valid_and_pass_their_unit_tests() -> None:
    """The alert rules name exported metrics, pass promtool check, and promtool's unit tests
    (deploy/prometheus-rules.test.yml: every alert, before and after its ``for``)."""
    promtool = check.find_promtool()
    assert promtool is not None, "promtool missing: make test unpacks it (make promtool)"
    notes = check.check_rules(promtool=promtool)
    assert notes[0].endswith("metric names all exported")
    assert notes[1:] == [
        "promtool check rules: SUCCESS: 9 rules found",
        "promtool test rules: SUCCESS",
    ]


def test_rule_unit_tests_catch_a_changed_threshold(tmp_path: Path) -> None:
    """promtool's unit tests fail when a rule stops matching them (here: critical at 0.99)."""
    rules = (check.HERE / "prometheus-rules.yml").read_text()
    (tmp_path / "prometheus-rules.yml").write_text(rules.replace(">= 0.9\n", ">= 0.99\n"))
    tests = tmp_path / "prometheus-rules.test.yml"
    tests.write_text((check.HERE / "prometheus-rules.test.yml").read_text())
    promtool = check.find_promtool()
    assert promtool is not None, "promtool missing: make test unpacks it (make promtool)"
    with pytest.raises(check.CheckError, match="LeasewatchPoolCritical"):
        check.check_rules(tmp_path / "prometheus-rules.yml", promtool, tests)


def test_dashboard_is_valid() -> None:
    """The Grafana dashboard is well formed and queries only exported metrics."""
    assert check.check_dashboard()


def test_cron_line_is_valid() -> None:
    """The cron file has a valid schedule, a user and a scan --textfile job."""
    assert check.check_cron()


def test_unit_check_catches_missing_hardening(tmp_path: Path) -> None:
    """A unit without ProtectSystem=strict fails the check, naming the key."""
    unit = tmp_path / "leasewatch.service"
    text = (check.HERE / "leasewatch.service").read_text()
    unit.write_text(text.replace("ProtectSystem=strict\n", ""))
    with pytest.raises(check.CheckError, match="ProtectSystem=strict"):
        check.check_unit(unit)


def test_unit_check_catches_what_systemd_rejects(tmp_path: Path) -> None:
    """A misspelt key is reported by systemd-analyze verify (or the local syntax check)."""
    unit = tmp_path / "leasewatch.service"
    text = (check.HERE / "leasewatch.service").read_text()
    unit.write_text(text.replace("PrivateDevices=yes", "PrivateDevicez=yes"))
    with pytest.raises(check.CheckError, match="PrivateDevicez"):
        check.check_unit(unit)


def test_rules_check_catches_unknown_metric(tmp_path: Path) -> None:
    """A rule on a metric leasewatch does not export (a Kea-style _total gauge) fails."""
    rules = tmp_path / "rules.yml"
    text = (check.HERE / "prometheus-rules.yml").read_text()
    rules.write_text(text.replace("leasewatch_source_up", "leasewatch_addresses_total"))
    with pytest.raises(check.CheckError, match="leasewatch_addresses_total"):
        check.check_rules(rules)


def test_dashboard_check_catches_overflowing_panel(tmp_path: Path) -> None:
    """A panel placed beyond Grafana's 24 columns fails the check."""
    board = tmp_path / "board.json"
    text = (check.HERE / "grafana-dashboard.json").read_text()
    board.write_text(text.replace('"w": 24', '"w": 25', 1))
    with pytest.raises(check.CheckError, match="within 24 columns"):
        check.check_dashboard(board)


def test_exported_metrics_follow_conventions() -> None:
    """Only counters end in _total, and the port of Stork and kea-exporter is not ours."""
    names = check.exported_metrics()
    assert "leasewatch_scans_total" in names
    assert "leasewatch_network_utilization" in names
    assert "9547" not in (check.HERE / "leasewatch.toml").read_text().replace("9547 belongs", "")
