"""deploy/multisite/: the multi-site example passes promtool and amtool, and the checks
catch a site routed to another site's receiver, an unknown metric and a changed rule."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from deploy import check


def _tools() -> tuple[str, str]:
    promtool, amtool = check.find_promtool(), check.find_amtool()
    assert promtool is not None, "promtool missing: make test unpacks it (make promtool)"
    assert amtool is not None, "amtool missing: make test unpacks it (make promtool)"
    return promtool, amtool


def _copy(tmp_path: Path) -> Path:
    """The example in a temp dir, with the single-site rules where central loads them."""
    shutil.copy(check.HERE / "prometheus-rules.yml", tmp_path)
    return Path(shutil.copytree(check.HERE / "multisite", tmp_path / "multisite"))


def test_multisite_example_is_valid() -> None:
    """Both Prometheus configs and the site rules pass promtool (unit tests included), and
    the Alertmanager config passes amtool with every routing case and site."""
    promtool, amtool = _tools()
    assert check.check_multisite(promtool=promtool, amtool=amtool) == [
        "3 sites federated, metric names all exported",
        "promtool check config: SUCCESS",
        "promtool test rules: SUCCESS",
        "amtool check-config: SUCCESS; 6 routing cases and 3 sites reach their receivers",
    ]


def test_a_site_routed_to_another_sites_receiver_fails(tmp_path: Path) -> None:
    """ams1's alerts sent to fra1's receiver: its routing case fails and the site has no
    receiver of its own."""
    promtool, amtool = _tools()
    directory = _copy(tmp_path)
    config = directory / "alertmanager.yml"
    config.write_text(
        config.read_text().replace(
            "- matchers: ['site=\"ams1\"']\n      receiver: ams1-oncall",
            "- matchers: ['site=\"ams1\"']\n      receiver: fra1-oncall",
        )
    )
    with pytest.raises(check.CheckError) as caught:
        check.check_multisite(directory, promtool, amtool)
    assert any("reaches fra1-oncall, expected ams1-oncall" in p for p in caught.value.problems)
    assert any("site ams1 has no receiver of its own" in p for p in caught.value.problems)


def test_a_site_left_unrouted_fails(tmp_path: Path) -> None:
    """A site federated centrally with no route of its own lands on the default receiver:
    caught."""
    promtool, amtool = _tools()
    directory = _copy(tmp_path)
    central = directory / "central-prometheus.yml"
    central.write_text(
        central.read_text()
        + '      - targets: ["prometheus.sfo1.example.net:9090"]\n        labels: {site: sfo1}\n'
    )
    with pytest.raises(check.CheckError, match="site sfo1 has no receiver of its own"):
        check.check_multisite(directory, promtool, amtool)


def test_a_site_rule_on_an_unknown_metric_fails(tmp_path: Path) -> None:
    """A site rule over a metric leasewatch does not export is named."""
    directory = _copy(tmp_path)
    rules = directory / "sites-rules.yml"
    rules.write_text(rules.read_text().replace("(leasewatch_orphans)", "(leasewatch_orphan)"))
    with pytest.raises(check.CheckError, match=r"leasewatch_orphan$"):
        check.check_multisite(directory)


def test_site_rule_unit_tests_catch_a_changed_threshold(tmp_path: Path) -> None:
    """promtool's unit tests fail when the degraded-site threshold moves from a half."""
    promtool, amtool = _tools()
    directory = _copy(tmp_path)
    rules = directory / "sites-rules.yml"
    rules.write_text(rules.read_text().replace(">= 0.5\n", ">= 0.75\n"))
    with pytest.raises(check.CheckError, match="LeasewatchSiteDegraded"):
        check.check_multisite(directory, promtool, amtool)
