"""The daemon's scan returns taken MACs whose VM is gone, and none while the inventory fails."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path

import pytest

from leasewatch.config import Config
from leasewatch.daemon import Daemon
from leasewatch.scan import Scanner
from tests.cli_helpers import NOW, run
from tests.macpool.pool_helpers import pool_config

OTHER = "02:00:00:00:00:01"


def tick(config: Path, minutes: int) -> None:
    """One daemon scan, ``minutes`` after NOW."""

    def scanner(c: Config) -> Scanner:
        return Scanner(c, clock=lambda: NOW + timedelta(minutes=minutes))

    Daemon(config, {}, scanner=scanner).scan_once()


def taken(config: Path, minutes: int) -> dict[str, str | None]:
    """mac -> vm of the taken MACs."""
    out = run(
        "-c", str(config), "mac", "list", "--format", "json", now=NOW + timedelta(minutes=minutes)
    )
    return {e["mac"]: e["vm"] for e in json.loads(out.out) if e["state"] == "taken"}


def test_tick_returns_gone_and_never_seen_macs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A MAC seen then gone returns after grace; one never seen after hold; a live one stays."""
    config = pool_config(tmp_path, live=[OTHER], more='hold = "10m"')
    config.write_text(config.read_text() + '\n[reaper]\ngrace = "5m"\n')
    gone, never, alive = (
        run("-c", str(config), "mac", "take", "--vm", vm).out.strip()
        for vm in ("gone", "never", "alive")
    )
    (tmp_path / "macs.txt").write_text(f"{OTHER}\n{gone}\n{alive}\n")
    tick(config, 1)  # gone and alive are seen
    (tmp_path / "macs.txt").write_text(f"{OTHER}\n{alive}\n")
    tick(config, 2)  # gone starts missing
    assert set(taken(config, 2)) == {gone, never, alive}
    logger = logging.getLogger("leasewatch")  # the CLI runs above stopped its propagation
    logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.INFO, logger="leasewatch"):
            tick(config, 11)  # gone: missing 9 minutes > grace; never: 11 minutes > hold
    finally:
        logger.removeHandler(caplog.handler)
    assert taken(config, 11) == {alive: "alive"}
    assert f"MAC pool: {gone} returned (its VM is gone; taken for gone)" in caplog.text
    assert f"MAC pool: {never} returned (never seen in an inventory" in caplog.text


def test_tick_with_a_failed_inventory_returns_nothing(tmp_path: Path) -> None:
    """The inventory file unreadable: a MAC long past hold stays taken."""
    config = pool_config(tmp_path, live=[OTHER])
    mac = run("-c", str(config), "mac", "take", "--vm", "web").out.strip()
    (tmp_path / "macs.txt").unlink()
    tick(config, 60)
    assert taken(config, 60) == {mac: "web"}
