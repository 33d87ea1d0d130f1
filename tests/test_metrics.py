"""The metrics collector: names, labels, values and counters over the last scan's result."""

from __future__ import annotations

from datetime import UTC, datetime
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from leasewatch.config import Config, OmapiConfig, Secret, ServerConfig
from leasewatch.errors import LeasesError
from leasewatch.metrics import (
    TEXTFILE_NAME,
    MetricsError,
    ScanMetrics,
    parse_listen,
    problems,
    registry_for,
    scan_to_textfile,
)
from leasewatch.model import (
    Analysis,
    AuditRecord,
    BindingState,
    Finding,
    InventorySnapshot,
    Lease,
    Level,
    NetworkUsage,
    Outcome,
    PoolUsage,
    Reason,
    ServerSnapshot,
    Verdict,
)
from leasewatch.scan import ScanResult

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
SUBNET = IPv4Network("198.18.1.192/27")


def _config() -> Config:
    omapi = OmapiConfig("127.0.0.1", 7911, "k", Secret("c2VjcmV0"))
    return Config(
        path=Path("test.toml"),
        servers=(
            ServerConfig("dhcp1", "isc", Path("l"), Path("c"), omapi=omapi),
            ServerConfig("dhcp2", "isc", Path("l2"), Path("c2")),
        ),
    )


def _pool(first: str, last: str, size: int, active: int, backup: int = 0) -> PoolUsage:
    return PoolUsage(
        server="dhcp1",
        network="lab",
        subnet=SUBNET,
        first=IPv4Address(first),
        last=IPv4Address(last),
        size=size,
        active=active,
        backup=backup,
        abandoned=0,
        level=Level.OK,
    )


def _orphan(ip: str, network: str | None) -> Finding:
    lease = Lease(IPv4Address(ip), BindingState.ACTIVE, mac="52:54:00:00:00:01", server="dhcp1")
    return Finding(lease, Verdict.ORPHAN, Reason.ORPHAN_NOT_SEEN, network)


def _result(*, server_error: str | None = None, failed_release: bool = False) -> ScanResult:
    pools = (
        _pool("198.18.1.202", "198.18.1.211", 10, 5, backup=2),
        _pool("198.18.1.212", "198.18.1.221", 10, 10),
    )
    network = NetworkUsage("dhcp1", "lab", 20, 15, 2, 0, Level.WARN, pools)
    records = [
        AuditRecord(NOW, "dhcp1", IPv4Address("198.18.1.203"), None, None, "r", Outcome.RELEASED),
        AuditRecord(NOW, "dhcp1", IPv4Address("198.18.1.204"), None, None, "r", Outcome.DRY_RUN),
    ]
    if failed_release:
        records.append(
            AuditRecord(
                NOW, "dhcp1", IPv4Address("198.18.1.205"), None, None, "r", Outcome.FAILED, "down"
            )
        )
    analysis = Analysis(
        now=NOW,
        networks=(network,),
        orphans=(_orphan("198.18.1.203", "lab"), _orphan("198.18.1.250", None)),
        servers=(
            ServerSnapshot("dhcp1", "isc"),
            ServerSnapshot("dhcp2", "isc", error=server_error),
        ),
        inventories=(
            InventorySnapshot("hv", "command", frozenset({"52:54:00:00:00:02"})),
            InventorySnapshot("xen", "xenapi", healthy=False, reason="timed out after 1s"),
        ),
    )
    return ScanResult(analysis, records=tuple(records), applied=True, alert_errors=("hook: 504",))


@pytest.fixture
def metrics() -> ScanMetrics:
    """A collector over a two-server config, with a frozen wall clock."""
    return ScanMetrics(_config(), clock=lambda: 1714564800.0)


@pytest.fixture
def registry(metrics: ScanMetrics) -> CollectorRegistry:
    """A fresh registry per test, holding only leasewatch's collector."""
    return registry_for(metrics)


def test_series_exist_before_the_first_scan(registry: CollectorRegistry) -> None:
    """Self-metrics and per-source error counters start at 0 before any scan ran."""
    assert registry.get_sample_value("leasewatch_scans_total") == 0
    for source in ("dhcp1", "dhcp2", "alerts", "scan"):
        assert registry.get_sample_value("leasewatch_scan_errors_total", {"source": source}) == 0
    released = {"server": "dhcp1", "outcome": "released"}
    assert registry.get_sample_value("leasewatch_releases_total", released) == 0
    # dhcp2 has no OMAPI: it never releases, so it gets no release series
    released["server"] = "dhcp2"
    assert registry.get_sample_value("leasewatch_releases_total", released) is None
    assert registry.get_sample_value("leasewatch_last_successful_scan_timestamp_seconds") == 0
    assert registry.get_sample_value("leasewatch_pool_size") is None


def test_pool_and_network_gauges(metrics: ScanMetrics, registry: CollectorRegistry) -> None:
    """Pool and network gauges carry the last scan's counts, utilization as 0..1."""
    metrics.record(_result(), duration=0.25)
    pool = {"server": "dhcp1", "network": "lab", "range": "198.18.1.202-198.18.1.211"}
    assert registry.get_sample_value("leasewatch_pool_size", pool) == 10
    assert registry.get_sample_value("leasewatch_pool_active", pool) == 5
    assert registry.get_sample_value("leasewatch_pool_backup", pool) == 2
    assert registry.get_sample_value("leasewatch_pool_utilization", pool) == 0.5
    pool["range"] = "198.18.1.212-198.18.1.221"
    assert registry.get_sample_value("leasewatch_pool_utilization", pool) == 1.0
    net = {"server": "dhcp1", "network": "lab"}
    assert registry.get_sample_value("leasewatch_network_size", net) == 20
    assert registry.get_sample_value("leasewatch_network_active", net) == 15
    assert registry.get_sample_value("leasewatch_network_free", net) == 5  # backup is free
    assert registry.get_sample_value("leasewatch_network_utilization", net) == 0.75
    assert registry.get_sample_value("leasewatch_orphans", net) == 1
    outside = {"server": "dhcp1", "network": ""}
    assert registry.get_sample_value("leasewatch_orphans", outside) == 1
    assert registry.get_sample_value("leasewatch_scan_duration_seconds") == 0.25


def test_inventory_and_server_gauges(metrics: ScanMetrics, registry: CollectorRegistry) -> None:
    """Inventory health and size, and whether each server could be read, by name."""
    metrics.record(_result(server_error="dhcp2: leases file missing"), duration=1.0)
    assert registry.get_sample_value("leasewatch_inventory_healthy", {"source": "hv"}) == 1
    assert registry.get_sample_value("leasewatch_inventory_vms", {"source": "hv"}) == 1
    assert registry.get_sample_value("leasewatch_inventory_healthy", {"source": "xen"}) == 0
    assert registry.get_sample_value("leasewatch_server_up", {"server": "dhcp1"}) == 1
    assert registry.get_sample_value("leasewatch_server_up", {"server": "dhcp2"}) == 0


def test_counters_add_up_across_scans(metrics: ScanMetrics, registry: CollectorRegistry) -> None:
    """Scans, faults per source and release outcomes accumulate; dry runs are not counted."""
    metrics.record(_result(), duration=0.1)
    metrics.record(_result(failed_release=True), duration=0.1)
    metrics.record_failure(duration=0.1)
    assert registry.get_sample_value("leasewatch_scans_total") == 3
    errors = "leasewatch_scan_errors_total"
    assert registry.get_sample_value(errors, {"source": "xen"}) == 2
    assert registry.get_sample_value(errors, {"source": "alerts"}) == 2
    assert registry.get_sample_value(errors, {"source": "dhcp1"}) == 1
    assert registry.get_sample_value(errors, {"source": "scan"}) == 1
    releases = "leasewatch_releases_total"
    assert registry.get_sample_value(releases, {"server": "dhcp1", "outcome": "released"}) == 2
    assert registry.get_sample_value(releases, {"server": "dhcp1", "outcome": "failed"}) == 1
    assert registry.get_sample_value(releases, {"server": "dhcp1", "outcome": "dry-run"}) is None


def test_last_success_needs_every_server(metrics: ScanMetrics, registry: CollectorRegistry) -> None:
    """A scan that could not read a server does not move the last-success timestamp."""
    name = "leasewatch_last_successful_scan_timestamp_seconds"
    metrics.record(_result(server_error="dhcp2: gone"), duration=0.1)
    assert registry.get_sample_value(name) == 0
    metrics.record(_result(), duration=0.1)
    assert registry.get_sample_value(name) == 1714564800.0


def test_problems_name_each_source() -> None:
    """Every fault of a scan is reported once, naming the server, source or 'alerts'."""
    found = problems(_result(server_error="dhcp2: gone", failed_release=True))
    assert [p.source for p in found] == ["dhcp2", "xen", "dhcp1", "alerts"]
    assert found[2].message == "release on dhcp1 failed: down"


def test_incomplete_snapshot_is_a_fault_where_it_stops_releases() -> None:
    """A leases file read mid-rewrite is a fault for a releasing server, not a report-only one."""
    snap = ServerSnapshot("dhcp1", "isc", complete=False, warnings=("ends mid-block",))
    result = ScanResult(Analysis(now=NOW, servers=(snap,)))
    found = problems(result, releasable={"dhcp1"})
    assert [(p.source, p.message) for p in found] == [
        ("dhcp1", "server dhcp1: not releasing: ends mid-block")
    ]
    assert problems(result, releasable=()) == []


def test_exposition_is_valid_and_follows_conventions(
    metrics: ScanMetrics, registry: CollectorRegistry
) -> None:
    """The text format parses back; only counters end in _total; ratios stay in 0..1."""
    metrics.record(_result(), duration=0.1)
    text = generate_latest(registry).decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    for family in families.values():
        assert family.name.startswith("leasewatch_")
        for sample in family.samples:
            if sample.name.endswith("_total"):
                assert family.type == "counter", sample.name
            if family.name.endswith("_utilization"):
                assert 0.0 <= sample.value <= 1.0
    assert families["leasewatch_scans"].type == "counter"
    assert families["leasewatch_pool_size"].type == "gauge"


def test_describe_lets_the_registry_catch_clashes(metrics: ScanMetrics) -> None:
    """Registering the collector twice in one registry is refused by name."""
    registry = registry_for(metrics)
    with pytest.raises(ValueError, match="leasewatch_scans_total"):
        registry.register(ScanMetrics(_config()))


def test_textfile_counters_carry_over(tmp_path: Path) -> None:
    """Each cron run's textfile continues the previous run's counters."""
    config = _config()
    scan_to_textfile(tmp_path, config, _result)
    scan_to_textfile(tmp_path, config, _result)
    text = (tmp_path / TEXTFILE_NAME).read_text()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
    }
    assert samples[("leasewatch_scans_total", ())] == 2
    assert samples[("leasewatch_scan_errors_total", (("source", "xen"),))] == 2
    released = (("outcome", "released"), ("server", "dhcp1"))
    assert samples[("leasewatch_releases_total", released)] == 2
    assert [p.name for p in tmp_path.iterdir()] == [TEXTFILE_NAME]


def test_textfile_records_a_failed_scan(tmp_path: Path) -> None:
    """A scan that raises is counted in the textfile, then the error goes on."""

    def broken() -> ScanResult:
        raise LeasesError("dhcp1: cannot read")

    with pytest.raises(LeasesError):
        scan_to_textfile(tmp_path, _config(), broken)
    text = (tmp_path / TEXTFILE_NAME).read_text()
    assert 'leasewatch_scan_errors_total{source="scan"} 1.0' in text


def test_textfile_directory_must_exist(tmp_path: Path) -> None:
    """A missing textfile directory is one clear error naming it."""
    with pytest.raises(MetricsError, match="does not exist"):
        scan_to_textfile(tmp_path / "nope", _config(), _result)


def test_parse_listen() -> None:
    """HOST:PORT, bracketed IPv6 and a bare :PORT (loopback) are understood."""
    assert parse_listen("127.0.0.1:9967") == ("127.0.0.1", 9967)
    assert parse_listen("[::1]:9967") == ("::1", 9967)
    assert parse_listen(":9967") == ("127.0.0.1", 9967)


def test_cli_scan_writes_textfile(tmp_path: Path) -> None:
    """`leasewatch scan --textfile DIR` writes leasewatch.prom, and a second run adds up."""
    import io

    from leasewatch.cli import Env, main

    (tmp_path / "dhcpd.conf").write_text(
        "subnet 198.18.1.0 netmask 255.255.255.0 { range 198.18.1.100 198.18.1.103; }\n"
    )
    (tmp_path / "dhcpd.leases").write_text(
        "lease 198.18.1.100 {\n  starts 4 2024/05/02 10:00:00;\n  ends 4 2099/05/02 10:00:00;\n"
        "  binding state active;\n  hardware ethernet 52:54:00:00:00:01;\n}\n"
    )
    (tmp_path / "macs.txt").write_text("52:54:00:00:00:01\n")
    config = tmp_path / "leasewatch.toml"
    config.write_text(
        f'[[servers]]\nname = "dhcp1"\nkind = "isc"\nleases = "{tmp_path}/dhcpd.leases"\n'
        f'dhcpd_conf = "{tmp_path}/dhcpd.conf"\n\n'
        f'[[inventory]]\nname = "cmdb"\nkind = "file"\npath = "{tmp_path}/macs.txt"\n\n'
        f'[state]\npath = "{tmp_path}/state.db"\n'
    )
    out = tmp_path / "textfile"
    out.mkdir()
    argv = ["-c", str(config), "scan", "--format", "json", "--textfile", str(out)]
    for _ in range(2):
        err = io.StringIO()
        env = Env(stdout=io.StringIO(), stderr=err, environ={})
        assert main(argv, env) == 0, err.getvalue()
    text = (out / TEXTFILE_NAME).read_text()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["leasewatch_scans"].samples[0].value == 2
    util = families["leasewatch_network_utilization"].samples[0]
    assert util.labels == {"server": "dhcp1", "network": "198.18.1.0/24"}
    assert util.value == 0.25


def test_a_pair_shows_each_member_once_and_its_hold(
    metrics: ScanMetrics, registry: CollectorRegistry
) -> None:
    """A pair's members each have server_up and source_up (one unreadable: 0), a live state
    where one was had, and the pair's hold; its joined snapshot is not a server of its own."""
    from leasewatch.model import MemberHealth, Pair, PairMode

    pair = Pair("dhcp1+dhcp2", "isc", "fo", PairMode.FAILOVER,
                (MemberHealth("dhcp1", "primary", "normal", True, "omapi"),
                 MemberHealth("dhcp2", "secondary", error="dhcp2.leases: gone")),
                hold=Reason.KEEP_PAIR_UNREAD)  # fmt: skip
    joined = ServerSnapshot("dhcp1+dhcp2", "isc", members=("dhcp1", "dhcp2"))
    metrics.record(ScanResult(Analysis(now=NOW, servers=(joined,), pairs=(pair,))), duration=1)
    assert registry.get_sample_value("leasewatch_server_up", {"server": "dhcp1"}) == 1
    assert registry.get_sample_value("leasewatch_server_up", {"server": "dhcp2"}) == 0
    assert registry.get_sample_value("leasewatch_server_up", {"server": "dhcp1+dhcp2"}) is None
    normal = {"pair": "dhcp1+dhcp2", "server": "dhcp1", "role": "primary"}
    assert registry.get_sample_value("leasewatch_pair_member_normal", normal) == 1
    assert registry.get_sample_value("leasewatch_pair_hold", {"pair": "dhcp1+dhcp2"}) == 1
    last = "leasewatch_last_successful_scan_timestamp_seconds"
    assert registry.get_sample_value(last) == 0  # dhcp2 was not read
    (fault,) = [p for p in problems(ScanResult(Analysis(now=NOW, servers=(joined,),
                                                        pairs=(pair,))))]  # fmt: skip
    assert (fault.source, fault.message) == ("dhcp2", "dhcp2.leases: gone")
