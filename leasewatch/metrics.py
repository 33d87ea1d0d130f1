"""Prometheus metrics over the last scan's result: a custom collector, never recomputed.

``ScanMetrics`` keeps the last ``ScanResult`` and a few counters; ``collect()`` only turns
them into metric families, so a scrape never reads a file or asks a server (the pattern of
prometheus/client_python's custom collectors). The registry is always passed in: library
code never touches prometheus_client's default ``REGISTRY``.

Names follow https://prometheus.io/docs/practices/naming/: ``_total`` only on counters
(Kea's exporters name gauges ``*_total``; leasewatch does not), ratios in 0..1, seconds.
The daemon serves them over HTTP; ``leasewatch scan --textfile DIR`` writes them for
node_exporter's textfile collector.

``[daemon] site`` adds a ``site`` label to every sample, so one central Prometheus tells the
sites apart (docs/sites.md). Without it there is no such label at all rather than
``site=""``: Prometheus stores an empty label as no label, and a single-site install keeps
the series, rules and dashboards it had.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import CollectorRegistry, write_to_textfile
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from leasewatch.config import Config
from leasewatch.errors import Error, MetricsError
from leasewatch.model import Outcome
from leasewatch.reaper import kinds as reaper_kinds
from leasewatch.scan import ScanResult

TEXTFILE_NAME = "leasewatch.prom"

# Sources of scan errors that are not configured names: webhook delivery, and a scan that
# raised (state file, unexpected adapter error) before it could say which source failed.
ALERTS_SOURCE = "alerts"
SCAN_SOURCE = "scan"

# Outcomes counted by leasewatch_releases_total: attempts on the live server and refusals
# under --apply. Dry runs are not releases (the orphans gauge shows what would go).
COUNTED_OUTCOMES = tuple(o.value for o in Outcome if o is not Outcome.DRY_RUN)


@dataclass(frozen=True)
class Problem:
    """One thing a scan could not read or do, for one log line and one error count."""

    source: str
    message: str


def problems(result: ScanResult, releasable: Collection[str] = ()) -> list[Problem]:
    """Every fault in a finished scan: one per server, inventory source and failed webhook.

    ``releasable`` names the servers configured to release: for them a snapshot that is
    readable but not complete is a fault too.
    """
    out: list[Problem] = []
    for pair in result.analysis.pairs:  # a pair read from one member: the other's fault
        if any(m.readable for m in pair.members):
            out.extend(Problem(m.server, m.error) for m in pair.members if m.error is not None)
    for snap in result.analysis.servers:
        if snap.error is not None:
            out.append(Problem(snap.server, snap.error))
        elif not snap.complete and snap.server in releasable:
            # Readable but not trustworthy (a leases file being rewritten): the reaper
            # releases nothing from it, and it counts as an error for this source. A
            # report-only server (a Kea memfile read offline) is never complete: no fault.
            why = "; ".join(snap.warnings) or "incomplete read"
            out.append(Problem(snap.server, f"server {snap.server}: not releasing: {why}"))
    for inv in result.analysis.inventories:
        if not inv.healthy:
            out.append(Problem(inv.source, f"inventory {inv.source}: {inv.reason}"))
    failed: dict[str, str] = {}
    for record in result.records:
        if record.outcome is Outcome.FAILED and record.server not in failed:
            failed[record.server] = f"release on {record.server} failed: {record.detail}"
    out.extend(Problem(server, message) for server, message in failed.items())
    out.extend(Problem(ALERTS_SOURCE, f"alert not delivered: {e}") for e in result.alert_errors)
    return out


@dataclass
class _Counters:
    scans: float = 0.0
    errors: dict[str, float] = field(default_factory=dict)
    releases: dict[tuple[str, str], float] = field(default_factory=dict)


class ScanMetrics(Collector):
    """A collector over the last scan's result, plus counters kept across scans.

    Thread-safe: the scan thread calls ``record``/``record_failure`` while the HTTP
    server's thread calls ``collect``. Series for every configured source exist from the
    start (at 0), so ``rate()`` and alert rules see them before the first fault.
    """

    def __init__(self, config: Config, *, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._counters = _Counters()
        self._last: ScanResult | None = None
        self._duration: float | None = None
        self._last_success: float = 0.0
        self._releasable: frozenset[str] = frozenset()
        self._last_scan: float = 0.0
        self._kinds: dict[str, str] = {}
        self._site: str | None = None
        self._streams: dict[str, float] = {}
        self._stream_reconnects: dict[str, float] = {}
        self._stream_events: dict[str, float] = {}
        self._interval: float | None = None
        self.configure(config)

    def configure(self, config: Config) -> None:
        """Create the zero series for a (re)loaded config's servers and sources."""
        with self._lock:
            self._releasable = frozenset(
                s.name for s in config.servers if reaper_kinds.can_release(s)
            )
            self._site = config.daemon.site
            self._kinds = {s.name: s.kind for s in config.servers}
            self._kinds.update((i.name, i.kind) for i in config.inventory)
            names = {i.name for i in config.inventory}
            for table in (self._streams, self._stream_reconnects, self._stream_events):
                # a libvirt fleet entry streams per host: "kvm[qemu+ssh://...]"
                for gone in [k for k in table if k.split("[", 1)[0] not in names]:
                    del table[gone]
            sources = [s.name for s in config.servers] + [i.name for i in config.inventory]
            for source in (*sources, ALERTS_SOURCE, SCAN_SOURCE):
                self._counters.errors.setdefault(source, 0.0)
            for server in config.servers:
                if reaper_kinds.can_release(server):
                    for outcome in COUNTED_OUTCOMES:
                        self._counters.releases.setdefault((server.name, outcome), 0.0)

    def record(self, result: ScanResult, *, duration: float) -> list[Problem]:
        """Keep a finished scan's result, count it and its faults; return the faults."""
        with self._lock:
            found = problems(result, self._releasable)
            self._counters.scans += 1
            for problem in found:
                errors = self._counters.errors
                errors[problem.source] = errors.get(problem.source, 0.0) + 1
            for record in result.records:
                if record.outcome is Outcome.DRY_RUN:
                    continue
                key = (record.server, record.outcome.value)
                self._counters.releases[key] = self._counters.releases.get(key, 0.0) + 1
            self._last = result
            self._duration = duration
            self._last_scan = self._clock()
            # Successful: it ran to the end and every server could be read. An unhealthy
            # inventory has its own gauge and does not make the scan unsuccessful.
            analysis = result.analysis
            members = (m for pair in analysis.pairs for m in pair.members)
            if not any(s.error for s in analysis.servers) and all(m.readable for m in members):
                self._last_success = self._clock()
        return found

    def record_failure(self, *, duration: float, source: str = SCAN_SOURCE) -> None:
        """Count a scan that raised before it finished; the last result stays shown."""
        with self._lock:
            self._counters.scans += 1
            self._counters.errors[source] = self._counters.errors.get(source, 0.0) + 1
            self._duration = duration
            self._last_scan = self._clock()

    def set_scan_interval(self, seconds: float) -> None:
        """The daemon's longest gap between scheduled scans (no series without a daemon:
        a cron job's schedule is the crontab's, unknown here)."""
        with self._lock:
            self._interval = seconds

    def set_event_stream(self, inventory: str, up: bool) -> None:
        """Show an inventory's event stream as connected (1) or not (0).

        Called by the daemon's event streams (leasewatch.events), from any thread: 0 when a
        stream starts or loses its connection, 1 once it is subscribed again. A stream never
        reported has no series; one whose inventory leaves the config on reload is dropped.
        """
        with self._lock:
            self._streams[inventory] = 1.0 if up else 0.0

    def forget_event_stream(self, inventory: str) -> None:
        """Drop an inventory's stream series (its stream was turned off on reload)."""
        with self._lock:
            for table in (self._streams, self._stream_reconnects, self._stream_events):
                table.pop(inventory, None)

    def count_stream_reconnect(self, inventory: str) -> None:
        """The stream was lost, or an attempt to reconnect it failed."""
        with self._lock:
            self._stream_reconnects[inventory] = self._stream_reconnects.get(inventory, 0) + 1

    def count_stream_event(self, inventory: str) -> None:
        """The stream delivered an event (a hint to re-read the inventory)."""
        with self._lock:
            self._stream_events[inventory] = self._stream_events.get(inventory, 0) + 1

    def restore(self, text: str) -> None:
        """Carry counters over from a previous textfile, so cron runs add up like a daemon."""
        with self._lock:
            for family in _parse(text):
                for sample in family.samples:
                    name, labels, value = sample.name, sample.labels, sample.value
                    if name == "leasewatch_scans_total":
                        self._counters.scans += value
                    elif name == "leasewatch_scan_errors_total" and "source" in labels:
                        errors = self._counters.errors
                        errors[labels["source"]] = errors.get(labels["source"], 0.0) + value
                    elif name == "leasewatch_releases_total" and {"server", "outcome"} <= set(
                        labels
                    ):
                        key = (labels["server"], labels["outcome"])
                        self._counters.releases[key] = self._counters.releases.get(key, 0) + value
                    elif name == "leasewatch_last_successful_scan_timestamp_seconds":
                        self._last_success = max(self._last_success, value)

    def describe(self) -> Iterable[Metric]:
        """The families this collector yields (names only, for the registry's clash check)."""
        return _Families().all()

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            last, duration, last_success = self._last, self._duration, self._last_success
            last_scan, kinds, site = self._last_scan, dict(self._kinds), self._site
            streams, interval = dict(self._streams), self._interval
            reconnects, events = dict(self._stream_reconnects), dict(self._stream_events)
            scans = self._counters.scans
            errors = dict(self._counters.errors)
            releases = dict(self._counters.releases)
        f = _Families()
        f.scans.add_metric([], scans)
        for source, value in sorted(errors.items()):
            f.scan_errors.add_metric([source], value)
        for (server, outcome), value in sorted(releases.items()):
            f.releases.add_metric([server, outcome], value)
        f.last_success.add_metric([], last_success)
        f.last_scan.add_metric([], last_scan)
        if interval is not None:
            f.interval.add_metric([], interval)
        if duration is not None:
            f.duration.add_metric([], duration)
        if last is not None:
            _add_scan(f, last, kinds)
        for inventory, up in sorted(streams.items()):
            f.stream_up.add_metric([inventory], up)
            f.stream_reconnects.add_metric([inventory], reconnects.get(inventory, 0.0))
            f.stream_events.add_metric([inventory], events.get(inventory, 0.0))
        yield from with_site(f.all(), site)


def with_site(families: Iterable[Metric], site: str | None) -> list[Metric]:
    """The families with ``site`` on every sample (unchanged without a site).

    prometheus_client has no constant labels for custom collectors: every leasewatch
    collector passes its families through here, so no metric goes out without the site.
    """
    out = list(families)
    if site is not None:
        for family in out:
            family.samples = [
                sample._replace(labels={**sample.labels, "site": site}) for sample in family.samples
            ]
    return out


def _add_scan(f: _Families, result: ScanResult, kinds: dict[str, str]) -> None:
    analysis = result.analysis
    members = {m.server: m for pair in analysis.pairs for m in pair.members}
    for snap in analysis.servers:
        if snap.members or snap.server in members:
            continue  # a pair: each member below
        up = 0.0 if snap.error else 1.0
        f.server_up.add_metric([snap.server], up)
        f.source_up.add_metric([snap.server, kinds.get(snap.server, snap.kind)], up)
    for pair in analysis.pairs:  # a pair's members, each once; its pools under its name
        f.pair_hold.add_metric([pair.name], 0.0 if pair.hold is None else 1.0)
        for m in pair.members:
            up = 1.0 if m.readable else 0.0
            f.server_up.add_metric([m.server], up)
            f.source_up.add_metric([m.server, kinds.get(m.server, pair.kind)], up)
            if m.normal is not None:
                f.pair_normal.add_metric([pair.name, m.server, m.role], float(m.normal))
    orphans: dict[tuple[str, str], int] = {}
    for network in analysis.networks:
        labels = [network.server, network.name]
        f.net_size.add_metric(labels, network.size)
        f.net_active.add_metric(labels, network.active)
        f.net_free.add_metric(labels, network.free)
        f.net_util.add_metric(labels, network.utilization)
        orphans[(network.server, network.name)] = 0
        for pool in network.pools:
            pool_labels = [pool.server, pool.network, pool.label]
            f.pool_size.add_metric(pool_labels, pool.size)
            f.pool_active.add_metric(pool_labels, pool.active)
            f.pool_backup.add_metric(pool_labels, pool.backup)
            f.pool_util.add_metric(pool_labels, pool.utilization)
    for finding in analysis.orphans:
        # An orphan outside every known range has no network: label it "".
        key = (finding.lease.server, finding.network or "")
        orphans[key] = orphans.get(key, 0) + 1
    for (server, name), count in sorted(orphans.items()):
        f.orphans.add_metric([server, name], count)
    for inv in analysis.inventories:
        f.inv_healthy.add_metric([inv.source], 1.0 if inv.healthy else 0.0)
        f.inv_vms.add_metric([inv.source], len(inv.macs))
        f.source_up.add_metric([inv.source, inv.kind], 1.0 if inv.healthy else 0.0)


class _Families:
    """Fresh, empty metric families for one collect (a family is not reusable)."""

    def __init__(self) -> None:
        pool = ["server", "network", "range"]
        net = ["server", "network"]
        self.pool_size = GaugeMetricFamily(
            "leasewatch_pool_size",
            "Addresses in a dynamic range (delegated prefixes in a PD pool); a float, exact "
            "up to 2^53: an IPv6 range's size is rounded.",
            labels=pool,
        )
        self.pool_active = GaugeMetricFamily(
            "leasewatch_pool_active", "Active leases in a dynamic range.", labels=pool
        )
        self.pool_backup = GaugeMetricFamily(
            "leasewatch_pool_backup",
            "Addresses held for the failover peer (binding state backup) in a range.",
            labels=pool,
        )
        self.pool_util = GaugeMetricFamily(
            "leasewatch_pool_utilization", "Active leases / range size (0..1).", labels=pool
        )
        self.net_size = GaugeMetricFamily(
            "leasewatch_network_size",
            "Dynamic addresses in a network (shared network or lone subnet; delegated "
            "prefixes in '<network> prefixes'); a float, exact up to 2^53.",
            labels=net,
        )
        self.net_active = GaugeMetricFamily(
            "leasewatch_network_active", "Active leases in a network.", labels=net
        )
        self.net_free = GaugeMetricFamily(
            "leasewatch_network_free",
            "Addresses free to hand out in a network (not active or abandoned; backup is free); a "
            "float, exact up to 2^53.",
            labels=net,
        )
        self.net_util = GaugeMetricFamily(
            "leasewatch_network_utilization",
            "Active leases / dynamic addresses in a network (0..1).",
            labels=net,
        )
        self.orphans = GaugeMetricFamily(
            "leasewatch_orphans",
            "Active leases whose MAC no healthy inventory lists (network '' = outside ranges).",
            labels=net,
        )
        self.server_up = GaugeMetricFamily(
            "leasewatch_server_up",
            "1 if the server's leases could be read at the last scan, else 0.",
            labels=["server"],
        )
        self.pair_normal = GaugeMetricFamily(
            "leasewatch_pair_member_normal",
            "1 if a pair member's own live state is normal (dhcpd failover, Kea HA), else 0.",
            labels=["pair", "server", "role"],
        )
        self.pair_hold = GaugeMetricFamily(
            "leasewatch_pair_hold",
            "1 if nothing of a pair is released (a member unreadable or not normal), else 0.",
            labels=["pair"],
        )
        self.inv_healthy = GaugeMetricFamily(
            "leasewatch_inventory_healthy",
            "1 if the inventory source answered and can be trusted at the last scan, else 0.",
            labels=["source"],
        )
        self.inv_vms = GaugeMetricFamily(
            "leasewatch_inventory_vms",
            "VM MACs the inventory source listed at the last scan.",
            labels=["source"],
        )
        self.releases = CounterMetricFamily(
            "leasewatch_releases",
            "Release attempts and refusals under apply, by outcome (dry runs not counted).",
            labels=["server", "outcome"],
        )
        self.scans = CounterMetricFamily("leasewatch_scans", "Scans started (finished or not).")
        self.scan_errors = CounterMetricFamily(
            "leasewatch_scan_errors",
            "Faults seen by scans, by server, inventory source, 'alerts' or 'scan'.",
            labels=["source"],
        )
        self.duration = GaugeMetricFamily(
            "leasewatch_scan_duration_seconds", "How long the last scan took."
        )
        self.last_success = GaugeMetricFamily(
            "leasewatch_last_successful_scan_timestamp_seconds",
            "Unix time of the last scan that read every server (0: none yet).",
        )
        self.last_scan = GaugeMetricFamily(
            "leasewatch_last_scan_timestamp_seconds",
            "Unix time the last scan ended, whatever it found (0: none yet).",
        )
        self.interval = GaugeMetricFamily(
            "leasewatch_scan_interval_seconds",
            "The daemon's longest gap between two scheduled scans (absent under cron).",
        )
        self.source_up = GaugeMetricFamily(
            "leasewatch_source_up",
            "1 if the server or inventory source was read and trusted at the last scan, else 0.",
            labels=["source", "kind"],
        )
        self.stream_up = GaugeMetricFamily(
            "leasewatch_event_stream_up",
            "1 if the inventory's event stream is connected, else 0 (reconnecting).",
            labels=["inventory"],
        )
        self.stream_reconnects = CounterMetricFamily(
            "leasewatch_event_stream_reconnects",
            "Times the inventory's event stream was lost or a reconnect attempt failed.",
            labels=["inventory"],
        )
        self.stream_events = CounterMetricFamily(
            "leasewatch_event_stream_events",
            "Events (hints to re-read the inventory) the stream delivered.",
            labels=["inventory"],
        )

    def all(self) -> list[Metric]:
        return list(vars(self).values())


def _parse(text: str) -> Iterator[Metric]:
    try:
        yield from text_string_to_metric_families(text)
    except ValueError:
        # A torn or foreign file: start the counters afresh rather than refuse to scan.
        return


def registry_for(metrics: ScanMetrics) -> CollectorRegistry:
    """A fresh registry holding only leasewatch's collector."""
    registry = CollectorRegistry()
    registry.register(metrics)
    return registry


def write_textfile(directory: Path, registry: CollectorRegistry) -> Path:
    """Write ``DIR/leasewatch.prom`` atomically (temp file in DIR, then rename(2)).

    node_exporter's textfile collector reads only ``*.prom``, so it never sees the temp
    file (``leasewatch.prom.<pid>.<thread>``) half-written.
    """
    path = directory / TEXTFILE_NAME
    if not directory.is_dir():
        raise MetricsError(f"{directory}: textfile directory does not exist")
    try:
        write_to_textfile(str(path), registry)
    except OSError as exc:
        raise MetricsError(f"{path}: cannot write metrics: {exc.strerror}") from None
    return path


def scan_to_textfile(directory: Path, config: Config, run: Callable[[], ScanResult]) -> ScanResult:
    """Run one scan and write its metrics to ``DIR/leasewatch.prom`` (``scan --textfile``).

    Counters continue from the previous file, as they would in a long-running daemon. A
    scan that raises is counted and written too, then the error goes on to the CLI.
    """
    metrics = ScanMetrics(config)
    path = directory / TEXTFILE_NAME
    try:
        metrics.restore(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, UnicodeDecodeError):
        pass
    except OSError as exc:
        raise MetricsError(f"{path}: cannot read previous metrics: {exc.strerror}") from None
    registry = registry_for(metrics)
    started = time.monotonic()
    try:
        result = run()
    except Error:
        metrics.record_failure(duration=time.monotonic() - started)
        write_textfile(directory, registry)
        raise
    metrics.record(result, duration=time.monotonic() - started)
    write_textfile(directory, registry)
    return result


def parse_listen(address: str) -> tuple[str, int]:
    """``"127.0.0.1:9967"`` or ``"[::1]:9967"`` -> (host, port)."""
    host, _, port = address.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


__all__ = [
    "TEXTFILE_NAME",
    "MetricsError",
    "Problem",
    "ScanMetrics",
    "parse_listen",
    "problems",
    "registry_for",
    "scan_to_textfile",
    "with_site",
    "write_textfile",
]
