"""Metrics for many sites: the ``site`` label on every sample, the last scan's time, each
source's health and the event streams' state, read back through the text exposition."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from leasewatch.config import Config, DaemonConfig, InventoryConfig, ServerConfig
from leasewatch.daemon import make_trigger, schedule_gap
from leasewatch.metrics import ScanMetrics, registry_for, scan_to_textfile
from leasewatch.model import Analysis, InventorySnapshot, ServerSnapshot
from leasewatch.scan import ScanResult
from tests.test_daemon import DHCPD_CONF, LEASES, MAC_LIVE, Running, _free_port, launch

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
CLOCK = 1714564800.0


def _config(site: str | None = None) -> Config:
    return Config(
        path=Path("test.toml"),
        servers=(
            ServerConfig("dhcp1", "isc", Path("l"), Path("c")),
            ServerConfig("kea1", "kea", control_socket=Path("s")),
        ),
        inventory=(
            InventoryConfig(name="hv", kind="command", command=("true",)),
            InventoryConfig(name="xen", kind="xenapi"),
        ),
        daemon=DaemonConfig(site=site),
    )


def _result() -> ScanResult:
    """dhcp1 read, kea1 down; hv healthy, xen timed out."""
    analysis = Analysis(
        now=NOW,
        servers=(
            ServerSnapshot("dhcp1", "isc"),
            ServerSnapshot("kea1", "kea", error="kea1: connection refused"),
        ),
        inventories=(
            InventorySnapshot("hv", "command", frozenset({"52:54:00:00:00:02"})),
            InventorySnapshot("xen", "xenapi", healthy=False, reason="timed out after 1s"),
        ),
    )
    return ScanResult(analysis)


def _scrape(metrics: ScanMetrics) -> list[Sample]:
    """Every sample of one scrape, parsed back from the text exposition."""
    text = generate_latest(registry_for(metrics)).decode()
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


def _value(samples: list[Sample], name: str, **labels: str) -> float | None:
    found = [s.value for s in samples if s.name == name and s.labels == labels]
    assert len(found) <= 1, (name, labels)
    return found[0] if found else None


def test_every_sample_carries_the_site() -> None:
    """With [daemon] site set, each sample of each family has site="fra1", and no other
    label changed."""
    metrics = ScanMetrics(_config("fra1"), clock=lambda: CLOCK)
    metrics.record(_result(), duration=0.5)
    metrics.set_event_stream("hv", True)
    samples = _scrape(metrics)
    names = {s.name for s in samples}
    assert {"leasewatch_scans_total", "leasewatch_source_up", "leasewatch_server_up"} <= names
    assert "leasewatch_event_stream_up" in names
    assert all(s.labels.get("site") == "fra1" for s in samples), [
        s for s in samples if s.labels.get("site") != "fra1"
    ]
    assert _value(samples, "leasewatch_server_up", server="dhcp1", site="fra1") == 1


def test_no_site_means_no_site_label() -> None:
    """Without a site the label is absent (not site=""), so single-site series keep their
    identity."""
    metrics = ScanMetrics(_config(), clock=lambda: CLOCK)
    metrics.record(_result(), duration=0.5)
    samples = _scrape(metrics)
    assert samples and not any("site" in s.labels for s in samples)


def test_source_up_for_servers_and_inventories_by_kind() -> None:
    """Each server and inventory source is 1 or 0 from the scan's health, labelled with its
    configured kind."""
    metrics = ScanMetrics(_config(), clock=lambda: CLOCK)
    assert _value(_scrape(metrics), "leasewatch_source_up", source="dhcp1", kind="isc") is None
    metrics.record(_result(), duration=0.5)
    samples = _scrape(metrics)
    up = {
        (s.labels["source"], s.labels["kind"]): s.value
        for s in samples
        if s.name == "leasewatch_source_up"
    }
    assert up == {
        ("dhcp1", "isc"): 1.0,
        ("kea1", "kea"): 0.0,
        ("hv", "command"): 1.0,
        ("xen", "xenapi"): 0.0,
    }


def test_last_scan_timestamp_moves_on_every_scan_that_ends() -> None:
    """0 before any scan; a scan with a server down, and one that raised, still move it
    (unlike the last successful scan's timestamp)."""
    now = [CLOCK]
    metrics = ScanMetrics(_config(), clock=lambda: now[0])
    name = "leasewatch_last_scan_timestamp_seconds"
    assert _value(_scrape(metrics), name) == 0
    metrics.record(_result(), duration=0.5)
    samples = _scrape(metrics)
    assert _value(samples, name) == CLOCK
    assert _value(samples, "leasewatch_last_successful_scan_timestamp_seconds") == 0
    now[0] += 300
    metrics.record_failure(duration=0.1)
    assert _value(_scrape(metrics), name) == CLOCK + 300


def test_event_stream_gauge_follows_its_setter_and_the_config() -> None:
    """A stream shows only once reported; it follows up/down, and goes when its inventory
    leaves the config on reload or is forgotten."""
    config = _config()
    metrics = ScanMetrics(config, clock=lambda: CLOCK)
    name = "leasewatch_event_stream_up"
    assert _value(_scrape(metrics), name, inventory="hv") is None
    metrics.set_event_stream("hv", False)
    metrics.set_event_stream("xen", True)
    assert _value(_scrape(metrics), name, inventory="hv") == 0
    metrics.set_event_stream("hv", True)
    assert _value(_scrape(metrics), name, inventory="hv") == 1
    metrics.forget_event_stream("xen")
    assert _value(_scrape(metrics), name, inventory="xen") is None
    metrics.configure(replace(config, inventory=config.inventory[1:]))
    assert _value(_scrape(metrics), name, inventory="hv") is None


def test_textfile_with_a_site_carries_counters_over(tmp_path: Path) -> None:
    """Cron runs with a site continue the counters of the previous file, labelled alike."""
    config = _config("fra1")
    scan_to_textfile(tmp_path, config, _result)
    scan_to_textfile(tmp_path, config, _result)
    text = (tmp_path / "leasewatch.prom").read_text()
    samples = [s for f in text_string_to_metric_families(text) for s in f.samples]
    assert _value(samples, "leasewatch_scans_total", site="fra1") == 2
    errors = "leasewatch_scan_errors_total"
    assert _value(samples, errors, source="kea1", site="fra1") == 2


# --- the daemon, scraped over HTTP ------------------------------------------------------------
SITE_CONFIG = """\
[[servers]]
name = "dhcp1"
kind = "isc"
leases = "{d}/dhcpd.leases"
dhcpd_conf = "{d}/dhcpd.conf"

[[inventory]]
name = "hv"
kind = "file"
path = "{d}/macs"

[[inventory]]
name = "gone"
kind = "file"
path = "{d}/no-such-file"

[daemon]
every = "1h"
metrics = "127.0.0.1:{port}"
site = "fra1"

[state]
path = "{d}/state.db"
"""


@pytest.fixture
def site_daemon(tmp_path: Path) -> Iterator[Running]:
    """A daemon of site fra1 over one dhcpd and two file inventories (one missing)."""
    (tmp_path / "dhcpd.conf").write_text(DHCPD_CONF)
    (tmp_path / "dhcpd.leases").write_text(LEASES)
    (tmp_path / "macs").write_text(MAC_LIVE + "\n")
    port = _free_port()
    config = tmp_path / "leasewatch.toml"
    config.write_text(SITE_CONFIG.format(d=tmp_path, port=port))
    running = launch(tmp_path, config, port)
    try:
        yield running
    finally:
        if running.proc.poll() is None:
            running.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(Exception):
                running.proc.wait(timeout=10)
        if running.proc.poll() is None:
            running.proc.kill()
            running.proc.wait()


def test_daemon_scrape_has_the_site_and_each_source(site_daemon: Running) -> None:
    """The daemon's /metrics after its first scan: site on every sample, the dhcpd and the
    readable file up, the missing file down, the last scan's time set."""
    site_daemon.wait_for(
        "the first scan",
        lambda: (site_daemon.value("leasewatch_scans_total", site="fra1") or 0) >= 1,
    )
    scraped = site_daemon.scrape()
    assert all(dict(labels).get("site") == "fra1" for _, labels in scraped)
    assert site_daemon.value("leasewatch_source_up", source="dhcp1", kind="isc", site="fra1") == 1
    assert site_daemon.value("leasewatch_source_up", source="hv", kind="file", site="fra1") == 1
    assert site_daemon.value("leasewatch_source_up", source="gone", kind="file", site="fra1") == 0
    assert (site_daemon.value("leasewatch_last_scan_timestamp_seconds", site="fra1") or 0) > 0
    assert site_daemon.value("leasewatch_scan_interval_seconds", site="fra1") == 3600


@pytest.mark.parametrize(
    ("schedule", "gap"),
    [
        (DaemonConfig(every=timedelta(minutes=5)), 300),
        (DaemonConfig(every=None, cron="*/5 * * * *"), 300),
        (DaemonConfig(every=None, cron="0 8-18 * * *"), 14 * 3600),  # 18:00 to 08:00
        (DaemonConfig(every=None, cron="0 3 * * 0"), 7 * 86400),
        (DaemonConfig(every=None, cron="0 3 29 2 *"), 31 * 86400),  # once in years
    ],
)
def test_schedule_gap_is_the_longest_wait_between_scans(schedule: DaemonConfig, gap: int) -> None:
    """An interval is itself; a crontab's gap is its longest wait between runs, or 31 days
    when it runs once or never in that time."""
    assert schedule_gap(make_trigger(schedule, Path("t.toml")), NOW) == gap
