"""The event streams' counters beside sites' gauge: reconnects and events per stream, a
fleet host's stream kept on reload while its entry stays, and the ``site`` label on them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from prometheus_client import CollectorRegistry

from leasewatch.config import Config, DaemonConfig, InventoryConfig
from leasewatch.metrics import ScanMetrics

FLEET = InventoryConfig(name="kvm", kind="libvirt", uri=("qemu+ssh://a/system", "test:///x"))
XEN = InventoryConfig(name="xen", kind="xenapi")


def test_stream_counters_follow_the_streams_and_the_config() -> None:
    """Reconnects and events count per stream; a fleet host's stream stays while its entry
    does; every series carries the site label."""
    config = Config(path=Path("x.toml"), inventory=(FLEET, XEN), daemon=DaemonConfig(site="fra1"))
    metrics = ScanMetrics(config)
    registry = CollectorRegistry()
    registry.register(metrics)
    host = "kvm[qemu+ssh://a/system]"

    def value(name: str, stream: str) -> float | None:
        return registry.get_sample_value(name, {"inventory": stream, "site": "fra1"})

    for stream in (host, "xen"):
        metrics.set_event_stream(stream, False)
    assert value("leasewatch_event_stream_reconnects_total", host) == 0
    metrics.set_event_stream(host, True)
    metrics.count_stream_event(host)
    metrics.count_stream_event(host)
    metrics.count_stream_reconnect("xen")
    assert value("leasewatch_event_stream_up", host) == 1
    assert value("leasewatch_event_stream_events_total", host) == 2
    assert value("leasewatch_event_stream_reconnects_total", "xen") == 1
    metrics.configure(replace(config, inventory=(FLEET,)))
    assert value("leasewatch_event_stream_up", host) == 1
    assert value("leasewatch_event_stream_reconnects_total", "xen") is None
