"""One scan, end to end: the only module that calls into every room.

read servers -> read inventories -> analyse (pure) -> plan (pure) -> execute (dry run unless
applying) -> record state -> alerts. The CLI's ``report``/``check``/``scan``, the daemon
and the tests all come through here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import UTC, datetime

from leasewatch import alerts
from leasewatch.config import Config, ServerConfig
from leasewatch.core.analysis import analyse
from leasewatch.core.forecast import Forecasts, exhaustion_times, outlook_of
from leasewatch.core.orphans import Judge, next_missing
from leasewatch.core.pairs import named_server, server_names
from leasewatch.errors import LeasesError, UsageError
from leasewatch.gather import TimedOut, gather
from leasewatch.inventory import kinds as inventory_kinds
from leasewatch.inventory.fleet import read_all
from leasewatch.inventory.interface import InventorySource
from leasewatch.leases import kinds as lease_kinds
from leasewatch.leases.interface import LeaseSource, UnreadMemberError
from leasewatch.macpool import commands as macpool
from leasewatch.model import (
    Action,
    Analysis,
    AuditRecord,
    InventorySnapshot,
    Pair,
    Release,
    ReleaseOnPair,
    ServerSnapshot,
    parse_address,
)
from leasewatch.reaper import kinds as reaper_kinds
from leasewatch.reaper.execute import execute
from leasewatch.reaper.interface import ReleaseBackend
from leasewatch.reaper.pair import Confirm, PairReleaseBackend, journals_confirm
from leasewatch.reaper.plan import plan, plan_requested, report_only_servers
from leasewatch.sightings import REFRESH, SightingMemory, observe
from leasewatch.state import State

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
SERVER_READ_FLOOR = 120.0  # seconds: the shortest deadline of a server's whole read
Progress = Callable[[str, int, int], None]


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while the core walks a million leases.

    The snapshots hold no reference cycles, but each collection rescans every live object:
    measured on a 1,000,000-lease journal (bench/), analysis took 4.4 s with the collector
    running and 2.5 s with the parsed objects frozen out of it.
    """
    gc.freeze()
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        gc.unfreeze()


def server_deadline(server: ServerConfig) -> float:
    """How long a server's whole read may take before it is abandoned as hung.

    ``timeout`` bounds each call to a server (a Kea page, an OMAPI message); a whole read
    is many calls, or a parse of a big journal (4 s for a million blocks), so its backstop
    for a file on a hung mount is longer.
    """
    return max(server.timeout, SERVER_READ_FLOOR)


def utcnow() -> datetime:
    return datetime.now(UTC)


class ScanStopped(Exception):  # noqa: N818 - control flow for the daemon, not a user error
    """The scan was abandoned at its last safe point, before any release started."""


@dataclass(frozen=True)
class ScanResult:
    """What one scan saw, planned and did."""

    analysis: Analysis
    plan: tuple[Release, ...] = ()
    records: tuple[AuditRecord, ...] = ()
    applied: bool = False
    alert_errors: tuple[str, ...] = field(default=())
    forecasts: Forecasts = field(default_factory=dict)

    @property
    def released(self) -> int:
        return sum(1 for r in self.records if r.outcome.value == "released")


class Scanner:
    """Holds a config's sources across scans.

    The daemon keeps one Scanner alive, so sources that can read incrementally (the ISC
    journal) only parse what was appended since the last scan. Tests inject sources and
    backends through the factories.
    """

    def __init__(
        self,
        config: Config,
        *,
        clock: Clock = utcnow,
        lease_source: Callable[[ServerConfig], LeaseSource] = lease_kinds.build,
        inventory_source: Callable[..., InventorySource] = inventory_kinds.build,
        backend: Callable[[ServerConfig], ReleaseBackend | None] = reaper_kinds.build,
    ) -> None:
        self.config = config
        self.clock = clock
        self._lease_source = lease_source
        self.lease_sources = [lease_source(s) for s in config.servers]
        self.inventory_sources = [inventory_source(i) for i in config.inventory]
        # what the last scan recorded of each lease and VM: only changes are recorded. None
        # until the first scan, which takes the state file's (a cron run has no other)
        self._sighted: SightingMemory | None = None
        # each inventory entry's MACs at its last healthy read: what an event's re-read
        # compares with to find the MACs that vanished (``vanished``)
        self._known: dict[str, Set[str]] = {}
        # the healthy snapshot ``vanished`` just took, which the scan it calls for may use
        # instead of reading that inventory again (``scan(reuse=...)``); any read drops it
        self._reread: InventorySnapshot | None = None
        self._backend = backend

    def read_servers(self, progress: Progress | None = None) -> list[ServerSnapshot]:
        """Read every server at once (``leasewatch.gather``); a server that fails, or is
        still reading at its deadline, becomes a snapshot with its error."""
        servers = self.config.servers

        def reader(source: LeaseSource, server: ServerConfig) -> Callable[[], ServerSnapshot]:
            def read() -> ServerSnapshot:
                try:
                    if progress is not None and hasattr(source, "progress"):
                        source.progress = lambda done, total: progress(server.name, done, total)
                    return source.read()
                except LeasesError as exc:
                    log.info("%s", exc)
                    pairing = exc.pairing if isinstance(exc, UnreadMemberError) else None
                    return ServerSnapshot(server.name, server.kind, error=str(exc), pairing=pairing)

            return read

        results = gather(
            [reader(src, srv) for src, srv in zip(self.lease_sources, servers, strict=True)],
            [server_deadline(srv) for srv in servers],
            name="leasewatch-server",
        )
        out = []
        for i, (server, result) in enumerate(zip(servers, results, strict=True)):
            if isinstance(result, TimedOut):
                # the abandoned read may still touch its source: the next scan gets a new one
                self.lease_sources[i] = self._lease_source(server)
                error = f"server {server.name}: no answer within {result.after:g}s"
                log.info("%s", error)
                result = ServerSnapshot(server=server.name, kind=server.kind, error=error)
            out.append(result)
        return out

    def read_inventories(self, reuse: str | None = None) -> list[InventorySnapshot]:
        """Read every inventory at once, each within its timeout (``inventory.fleet``);
        ``reuse`` names the entry ``vanished`` has just re-read, whose snapshot is taken as
        it is (the others are read: see ``scan``)."""
        reread, self._reread = self._reread, None
        if reread is None or reread.source != reuse:
            reread = None
        sources = [s for s in self.inventory_sources if reread is None or s.name != reuse]
        snapshots = read_all(sources)
        if reread is not None:
            order = {s.name: i for i, s in enumerate(self.inventory_sources)}
            snapshots.append(reread)
            snapshots.sort(key=lambda s: order.get(s.source.split("[", 1)[0], len(order)))
        for snap in snapshots:
            if not snap.healthy:
                log.info("inventory %s unhealthy: %s", snap.source, snap.reason)
        self._remember(snapshots)
        return snapshots

    def read_sources(
        self, progress: Progress | None = None, reuse: str | None = None
    ) -> tuple[list[ServerSnapshot], list[InventorySnapshot]]:
        """Servers and inventories at once: a scan waits for its slowest source, not for
        the slowest server and then the slowest inventory. Both sides end by their
        deadlines (``gather``), so the join is bounded."""
        inventories: list[InventorySnapshot] = []
        failed: list[BaseException] = []

        def read() -> None:
            try:
                inventories.extend(self.read_inventories(reuse))
            except BaseException as exc:  # a bug: raised in the scan's thread below
                failed.append(exc)

        thread = threading.Thread(target=read, name="leasewatch-inventories", daemon=True)
        thread.start()
        try:
            servers = self.read_servers(progress)
        finally:
            thread.join()
        if failed:
            raise failed[0]
        return servers, inventories

    def _remember(self, snapshots: Sequence[InventorySnapshot]) -> None:
        unhealthy = {s.source.split("[", 1)[0] for s in snapshots if not s.healthy}
        for snap in snapshots:
            if snap.healthy and snap.source not in unhealthy:
                self._known[snap.source] = snap.macs

    def remember_from(self, other: Scanner) -> None:
        """Keep what ``other`` (the scanner of the config before a reload) last read of
        each inventory entry configured alike in both, for ``vanished``."""
        alike = {i.name for i in self.config.inventory} & {
            i.name for i in other.config.inventory if i in self.config.inventory
        }
        self._known.update((k, v) for k, v in other._known.items() if k in alike)

    def vanished(self, name: str) -> frozenset[str] | None:
        """Re-read inventory ``name`` after an event: the MACs its last healthy read listed
        and this one does not (empty: none, or no earlier read to compare with); None when
        it cannot be read now (the schedule goes on as before).

        The baseline moves on only when nothing vanished: the scan the caller runs for the
        vanished MACs reads every inventory again and records the new one.
        """
        source = next((s for s in self.inventory_sources if s.name == name), None)
        if source is None:  # an event of a stream the config no longer has
            return None
        snapshots = read_all([source])
        if len(snapshots) != 1 or not snapshots[0].healthy:
            for snap in snapshots:
                if not snap.healthy:
                    log.info("inventory %s unhealthy: %s", snap.source, snap.reason)
            return None
        now = snapshots[0].macs
        before = self._known.get(name)
        # by number when both are MacSets (``MacSet.__sub__``)
        gone = frozenset() if before is None else frozenset(before - now)
        if not gone:
            self._known[name] = now
        self._reread = snapshots[0]
        return gone

    def analyse(
        self, state: State, progress: Progress | None = None, reuse: str | None = None
    ) -> Analysis:
        """Read everything and conclude, changing nothing (``report`` and ``check``)."""
        servers, inventories = self.read_sources(progress, reuse)
        with gc_paused():
            return self._analyse(servers, inventories, state)

    def _analyse(
        self,
        servers: Sequence[ServerSnapshot],
        inventories: Sequence[InventorySnapshot],
        state: State,
    ) -> Analysis:
        now = self.clock()
        grace = self.config.reaper.grace
        return analyse(
            servers,
            inventories,
            now=now,
            thresholds_for=self.config.alerts.for_network,
            first_missing=state.first_missing(),
            last_healthy_sizes=state.inventory_sizes(),
            max_shrink=self.config.reaper.max_shrink,
            pool_taken=macpool.taken(self.config, state, inventories, now, grace),
            trust_duid_mac=self.config.reaper.trust_duid_mac,
            partners=self.config.partners,
        )

    def scan(
        self,
        state: State,
        *,
        apply: bool | None = None,
        send_alerts: bool = True,
        progress: Progress | None = None,
        should_stop: Callable[[], bool] | None = None,
        only_macs: Set[str] | None = None,
        reuse: str | None = None,
    ) -> ScanResult:
        """One full scan: analyse, plan, release (when applying), record, alert.

        ``should_stop`` (the daemon's) is asked once, after planning and before any release
        or state write: True raises ``ScanStopped``; False commits the scan to finish.
        ``only_macs`` (an event's vanished MACs) limits the plan to those MACs' leases; the
        rest of the scan is a scan like any other. ``reuse``: the inventory entry whose
        snapshot ``vanished`` took just before, used instead of a second read of it.

        Every other source is read again, never taken from the last scan: the servers (an
        ISC journal incrementally) so the plan sees each lease as it is now, and the other
        inventories because a MAC gone from one may have moved to another since (a VM
        migrated between pools): only a fresh listing of every inventory covering its
        network proves it gone.
        """
        analysis = self.analyse(state, progress, reuse)
        return self.act(
            analysis,
            state,
            apply=apply,
            send_alerts=send_alerts,
            should_stop=should_stop,
            only_macs=only_macs,
        )

    def act(
        self,
        analysis: Analysis,
        state: State,
        *,
        apply: bool | None = None,
        send_alerts: bool = True,
        should_stop: Callable[[], bool] | None = None,
        only_macs: Set[str] | None = None,
    ) -> ScanResult:
        """Plan, release (writing the audit ahead), then record the scan in one transaction."""
        apply = self.config.reaper.apply if apply is None else apply
        releases = self.plan(analysis, state, only_macs)
        if should_stop is not None and should_stop():
            raise ScanStopped("stopping before any release")
        backends: Mapping[str, ReleaseBackend] = {}
        if apply and any(r.action is Action.RELEASE for r in releases):
            backends = self._backends({r.finding.lease.server for r in releases}, analysis)
        records = execute(
            releases, backends, apply=apply, clock=self.clock, journal=state if apply else None
        )
        keep = self.config.state.keep
        remembered = state.sighting_memory() if self._sighted is None else self._sighted
        observation, sighted = observe(analysis, remembered, refresh=min(REFRESH, keep / 4))
        missing = next_missing(
            analysis.orphans, analysis.unknown, state.first_missing(), analysis.now
        )
        with state.transaction():  # what the scan saw, judged and did: one transaction
            state.record_scan(
                analysis,
                records,
                missing=missing,
                observation=observation,
                keep=keep,
                sighted=sighted,
            )
            macpool.settle(self.config, state, analysis, self.config.reaper.grace)
        self._sighted = sighted  # only once recorded
        outlook_now = outlook(self.config, state, analysis)
        alert_errors: tuple[str, ...] = ()
        if send_alerts:
            alert_errors = self.notify(analysis, records, state, outlook_now)
        return ScanResult(analysis, releases, records, apply, alert_errors, outlook_now)

    def plan(
        self, analysis: Analysis, state: State, only_macs: Set[str] | None = None
    ) -> tuple[Release, ...]:
        """The reaper's plan for this analysis (``scan`` acts on it, ``why`` explains it);
        orphans whose MACs the MAC pool holds are kept. ``only_macs``: the plan of those
        MACs' orphans alone (the same rules, budget and order)."""
        pool = macpool.holds(self.config, state, analysis, self.config.reaper.grace)
        if only_macs is not None:
            orphans = tuple(f for f in analysis.orphans if f.lease.mac in only_macs)
            analysis = dataclasses.replace(analysis, orphans=orphans)
        return plan(analysis, self.config.reaper, analysis.now, self._releasable(), pool=pool)

    def _releasable(self) -> list[str]:
        return [s.name for s in self.config.servers if reaper_kinds.can_release(s)]

    def notify(
        self,
        analysis: Analysis,
        records: Sequence[AuditRecord],
        state: State,
        outlook_now: Forecasts | None = None,
    ) -> tuple[str, ...]:
        """Send the alerts this scan calls for; return delivery errors (never raises).

        Each webhook remembers what it was told (``alert_memory``), so a level change is
        announced once per channel, and retried on the next scan if delivery failed.
        """
        config = self.config.alerts
        if not config.webhooks:
            return ()
        now = analysis.now
        memory = alerts.load_memory(state.alert_memory())
        exhaustion = None
        if config.on_forecast is not None:
            if outlook_now is None:
                outlook_now = outlook(self.config, state, analysis)
            exhaustion = exhaustion_times(outlook_now, now)
        step = alerts.plan(
            analysis,
            memory,
            config,
            now,
            releases=records,
            exhaustion=exhaustion,
            site=self.config.daemon.site or "",
        )
        results = alerts.deliver_plan(step, config.webhooks)
        state.save_alert_memory(alerts.dump_memory(alerts.settle(step, results, now)))
        return tuple(str(e) for e in alerts.failures(results))

    def _backends(self, servers: set[str], analysis: Analysis) -> dict[str, ReleaseBackend]:
        """Each named server's backend; a pair's releases through its members'."""
        out: dict[str, ReleaseBackend] = {}
        for server in self.config.servers:
            if server.name in servers:
                backend = self._backend(server)
                if backend is not None:
                    out[server.name] = backend
        configs = {s.name: s for s in self.config.servers}
        for pair in analysis.pairs:
            if pair.name in servers and pair.name not in configs:
                members = {n: b for n in pair.servers if (b := self._member(configs, n))}
                if members:
                    out[pair.name] = PairReleaseBackend(pair, members, self._confirm(pair))
        return out

    def _confirm(self, pair: Pair) -> Confirm | None:
        """A pair released once (dhcpd failover) is confirmed in every member's journal,
        re-read through the scanner's own lease sources."""
        if pair.release is not ReleaseOnPair.ONCE:
            return None
        readers = {
            config.name: source.read
            for config, source in zip(self.config.servers, self.lease_sources, strict=True)
            if config.name in pair.servers
        }
        return journals_confirm(readers)

    def _member(self, configs: Mapping[str, ServerConfig], name: str) -> ReleaseBackend | None:
        config = configs.get(name)
        return None if config is None else self._backend(config)

    def release_one(
        self,
        state: State,
        *,
        mac: str | None,
        ip: str | None,
        server: str | None,
        force: bool,
        dry_run: bool,
    ) -> ReleaseResult:
        """``leasewatch release``: release one VM's lease now, for a teardown hook.

        The plan and the executor of a scan on the named leases, with the scan's judge
        (``max_shrink`` included): a lease a healthy inventory still lists, or one an
        unhealthy inventory cannot confirm gone, is refused unless ``force``; protected,
        fixed-address and out-of-range leases never go. Every server is read (a pair's
        members are known only then), and only the named one's leases are released: a pair
        is named by its name or by a member's, and released whole or not at all. A server
        that cannot be read is a warning unless it was named (or is a member of the named
        pair), so an unrelated server being down never stops the hook.
        """
        chosen = self.read_servers()
        with gc_paused():
            analysis = self._analyse(chosen, self.read_inventories(), state)
        names = [s.name for s in self.config.servers]
        if server is not None:
            # pairs are known once read: a pair's name, or a member's meaning its pair
            meant = named_server(server, names, analysis.pairs)
            if meant is None:
                listed = ", ".join(server_names(names, analysis.pairs))
                joined = any(len(p.servers) > 1 for p in analysis.pairs)
                pairs = "; a pair's member names its pair" if joined else ""
                raise UsageError(f"--server {server!r}: no such server (servers: {listed}{pairs})")
            server = meant
        pair = next((p for p in analysis.pairs if p.name == server), None)
        members = set(pair.servers) if pair is not None else {server}
        warnings = []
        for snap in chosen:
            if snap.error and snap.server in members:
                # a named pair is released whole or not at all: every member must be read
                of = f"pair {server}: " if pair is not None and len(members) > 1 else ""
                raise LeasesError(f"{of}{snap.error}")
            if snap.error:
                warnings.append(snap.error)
        if chosen and all(snap.error for snap in chosen):
            # "no active lease matches" would be a guess: nothing was read to match against
            raise LeasesError(f"no server could be read: {chosen[0].error}")
        wanted = _address(ip)
        fixed = [h for s in chosen for h in s.fixed]
        judge = Judge(
            analysis.inventories,
            fixed,
            {},
            analysis.now,
            analysis.pool_taken,
            trust_duid_mac=analysis.trust_duid_mac,
        )
        judged = {(f.lease.server, f.lease.ip): f for f in (*analysis.orphans, *analysis.unknown)}
        findings = []
        for snap in analysis.servers:
            if server is not None and server != snap.server:
                continue
            for lease in snap.leases.find_active(analysis.now, ip=wanted, mac=mac):
                named = lease
                if lease.server != snap.server:
                    named = dataclasses.replace(lease, server=snap.server)
                findings.append(
                    judged.get((snap.server, lease.ip))
                    or judge.judge(named, analysis.network_of(snap.server, lease.ip))
                )
        releases = plan_requested(
            findings,
            self.config.reaper,
            self._releasable(),
            force=force,
            report_only=report_only_servers(analysis.servers),
            pairs=analysis.pairs,
        )
        backends: dict[str, ReleaseBackend] = {}
        if not dry_run and any(r.action is Action.RELEASE for r in releases):
            backends = self._backends({r.finding.lease.server for r in releases}, analysis)
        records = execute(
            releases,
            backends,
            apply=not dry_run,
            clock=self.clock,
            journal=None if dry_run else state,
            audit_keeps=True,
        )
        return ReleaseResult(records, tuple(warnings))


@dataclass(frozen=True)
class ReleaseResult:
    """What ``leasewatch release`` did, and the servers it could not read (warnings)."""

    records: tuple[AuditRecord, ...]
    warnings: tuple[str, ...] = ()


def outlook(config: Config, state: State, analysis: Analysis) -> Forecasts:
    """Every network's forecast: the stored history of the window, plus this analysis as
    the newest sample when it is not recorded yet (``report``), free counted as the table
    counts it. The one place forecasts are made (``report``, ``scan``, alerts)."""
    window = config.state.forecast_window
    return outlook_of(state.history(since=analysis.now - window), analysis, window)


def _address(text: str | None) -> int | None:
    """The address ``release --ip`` names, as written in reports (else it names nothing);
    a delegated prefix by its first address, or as reports write it (``2001:db8::/56``)."""
    if text is None:
        return None
    text = text.split("/", 1)[0] if text.count("/") == 1 and text.split("/")[1].isdigit() else text
    address = parse_address(text)
    return None if address is None or str(address) != text.lower() else int(address)
