"""Every command as a function of (config, clock, sources) that returns a result value.

Nothing here prints: ``leasewatch.report.formats`` renders the results. The adapters are
built through ``Sources`` (the kinds maps by default), so tests hand in their own.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO

from leasewatch import config as config_module
from leasewatch.app import quick, results
from leasewatch.config import Config, InventoryConfig, ServerConfig
from leasewatch.config import paths as config_paths
from leasewatch.errors import ConfigError, UsageError
from leasewatch.inventory import kinds as inventory_kinds
from leasewatch.inventory.fleet import read_all
from leasewatch.inventory.interface import InventorySource
from leasewatch.leases import kinds as lease_kinds
from leasewatch.leases.interface import LeaseSource
from leasewatch.model import Address, normalize_duid, normalize_mac, parse_address
from leasewatch.reaper import kinds as reaper_kinds
from leasewatch.reaper.interface import ReleaseBackend
from leasewatch.scan import Progress, Scanner, ScanResult, outlook, utcnow
from leasewatch.state import State

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Sources:
    """How the adapters are built from their config (the kinds maps; tests pass fakes)."""

    lease_source: Callable[[ServerConfig], LeaseSource] = lease_kinds.build
    inventory_source: Callable[[InventoryConfig], InventorySource] = inventory_kinds.build
    backend: Callable[[ServerConfig], ReleaseBackend | None] = reaper_kinds.build

    def scanner(self, config: Config, clock: Clock) -> Scanner:
        return Scanner(
            config,
            clock=clock,
            lease_source=self.lease_source,
            inventory_source=self.inventory_source,
            backend=self.backend,
        )


REAL = Sources()


def config_path(given: Path | None, environ: Mapping[str, str]) -> Path:
    """``-c PATH``, else ``$LEASEWATCH_CONFIG``, else the default path."""
    return given or Path(environ.get("LEASEWATCH_CONFIG", config_module.DEFAULT_PATH))


def load_config(given: Path | None, environ: Mapping[str, str]) -> Config:
    """The config file (``-c``, ``$LEASEWATCH_CONFIG`` or the default path)."""
    return quick.load(given, environ)


@contextlib.contextmanager
def opened_state(config: Config, *, write: bool) -> Iterator[State]:
    """The state file; a read-only command without one works on an empty memory state."""
    on_disk = config.path != quick.COMMAND_LINE and (write or config.state.path.exists())
    state = State.open(config.state.path) if on_disk else State.memory()
    try:
        yield state
    finally:
        state.close()


def report(
    config: Config,
    clock: Clock,
    *,
    progress: Progress | None = None,
    sources: Sources = REAL,
    show_all: bool = False,
) -> results.Report:
    """``leasewatch report``: read everything, change nothing; forecasts from the history."""
    scanner = sources.scanner(config, clock)
    with opened_state(config, write=False) as state:
        analysis = scanner.analyse(state, progress)
        forecasts = outlook(config, state, analysis)
    return results.Report(analysis, forecasts, show_all, config.state.forecast_window)


def check(
    config: Config, clock: Clock, *, progress: Progress | None = None, sources: Sources = REAL
) -> results.Check:
    """``leasewatch check``: the analysis a Nagios line is made of."""
    scanner = sources.scanner(config, clock)
    with opened_state(config, write=False) as state:
        return results.Check(scanner.analyse(state, progress))


def scan(
    config: Config,
    clock: Clock,
    *,
    apply: bool | None,
    send_alerts: bool = True,
    textfile: Path | None = None,
    progress: Progress | None = None,
    sources: Sources = REAL,
    show_all: bool = False,
) -> results.Scan:
    """``leasewatch scan``: one full scan (release only when applying), then its forecasts."""
    scanner = sources.scanner(config, clock)
    with opened_state(config, write=True) as state:

        def run() -> ScanResult:
            return scanner.scan(state, apply=apply, send_alerts=send_alerts, progress=progress)

        if textfile is not None:
            from leasewatch.metrics import scan_to_textfile

            done = scan_to_textfile(textfile, config, run)
        else:
            done = run()
    return results.Scan(
        done.analysis,
        done.plan,
        done.records,
        done.applied,
        done.alert_errors,
        done.forecasts,
        show_all,
        config.state.forecast_window,
    )


def release(
    config: Config,
    clock: Clock,
    *,
    mac: str | None,
    ip: str | None,
    server: str | None,
    force: bool,
    dry_run: bool,
    sources: Sources = REAL,
) -> results.Released:
    """``leasewatch release``: one VM's lease, now, through the reaper's judge."""
    wanted = None
    if mac is not None:
        wanted = normalize_mac(mac)
        if wanted is None:
            raise UsageError(f"--mac {mac!r} is not a MAC address")
    with opened_state(config, write=not dry_run) as state:
        done = sources.scanner(config, clock).release_one(
            state, mac=wanted, ip=ip, server=server, force=force, dry_run=dry_run
        )
    return results.Released(done.records, done.warnings)


def audit(config: Config, *, limit: int | None = 100, show_all: bool = False) -> results.Audit:
    """``leasewatch audit``: the newest ``limit`` records, oldest first."""
    with opened_state(config, write=False) as state:
        return results.Audit(tuple(state.audit(limit=limit)), show_all)


def inventory(config: Config, *, macs: bool = False, sources: Sources = REAL) -> results.Inventory:
    """``leasewatch inventory``: fetch every inventory source once, all at once."""
    snapshots = tuple(read_all([sources.inventory_source(i) for i in config.inventory]))
    return results.Inventory(snapshots, macs)


def why(
    config: Config,
    clock: Clock,
    target: str,
    *,
    progress: Progress | None = None,
    sources: Sources = REAL,
) -> results.Explanation:
    """``leasewatch why IP|MAC``: the verdict and its evidence, for each matching lease."""
    from leasewatch.core.why import explain

    ip: Address | None = None
    duid: str | None = None
    mac = normalize_mac(target)
    if mac is None:
        ip = parse_address(target)
        duid = normalize_duid(target) if ip is None else None
        if ip is None and duid is None:
            raise UsageError(
                f"{target!r} is neither an IP address, a MAC nor a DHCPv6 DUID"
            ) from None
    scanner = sources.scanner(config, clock)
    with opened_state(config, write=False) as state:
        analysis = scanner.analyse(state, progress)
        history = state.audit()
        vms = state.vm_sightings()
        planned = scanner.plan(analysis, state)
    policy = config.reaper
    answers = explain(
        analysis,
        ip=ip,
        mac=mac,
        duid=duid,
        grace=policy.grace,
        protect_macs=policy.protect_macs,
        protect_networks=policy.protect_networks,
        plan=planned,
        audit=history,
        vms=vms,
    )
    held = {a.finding.lease.ip for a in answers}  # a DUID's leases, by their addresses
    mine = [r for r in history if r.ip == ip or r.ip in held or (mac is not None and r.mac == mac)]
    last = mine[-1] if mine else None  # audit() is oldest first
    return results.Explanation(target, tuple(answers), last, analysis)


def advise(config: Config, clock: Clock, *, window: timedelta | None = None) -> results.Advising:
    """``leasewatch advise``: churn and lease-time advice from the recorded sightings."""
    from leasewatch.core.advice import advise as advice_for

    now = clock()
    window = window or config.state.keep
    with opened_state(config, write=False) as state:
        advice = advice_for(
            state.lease_sightings(since=now - window),
            state.vm_sightings(),
            now=now,
            window=window,
            tracking_since=state.tracking_since(),
            kinds={s.name: s.kind for s in config.servers},
        )
    return results.Advising(tuple(advice))


def history(
    config: Config, clock: Clock, *, since: timedelta | None = None, buckets: int = 48
) -> results.History:
    """``leasewatch history``: the stored samples of the last ``since``."""
    if buckets < 1:
        raise UsageError("--buckets must be at least 1")
    now = clock()
    since = since or timedelta(hours=24)
    with opened_state(config, write=False) as state:
        rows = state.history(since=now - since)
    return results.History(tuple(rows), now, since, buckets, config.alerts.for_network)


def alert_test(config: Config, clock: Clock) -> results.AlertTest:
    """``leasewatch alert-test``: a sample alert to every webhook."""
    if not config.alerts.webhooks:
        return results.AlertTest(())
    from leasewatch import alerts

    sample = alerts.sample_alert(clock(), site=config.daemon.site or "")
    sent = alerts.deliver([sample], config.alerts.webhooks)
    return results.AlertTest(tuple(sent))


def check_config(config: Config, *, sources: Sources = REAL) -> results.ConfigCheck:
    """``leasewatch check-config``: the loaded config, every secret redacted, and warnings
    about the MAC pool (vendor OUIs, overlaps with live VMs). A file the config names that
    this user cannot read (or a state directory it cannot write) is a config error."""
    unusable = config_paths.problems(config)
    if unusable:
        raise ConfigError(unusable)
    warnings: list[str] = []
    if config.macpool is not None:
        from leasewatch.macpool import commands as macpool
        from leasewatch.macpool import store

        with opened_state(config, write=False) as state:
            taken = {t.mac for t in store.taken(state)}
        inventories = read_all([sources.inventory_source(i) for i in config.inventory])
        warnings = list(macpool.check(config, inventories, taken))
    return results.ConfigCheck(str(config.path), config_module.redacted(config), tuple(warnings))


def mac_take(
    config: Config, clock: Clock, *, vm: str | None, sources: Sources = REAL
) -> results.MacTaken:
    """``leasewatch mac take``: a free MAC from the pool, recorded as taken."""
    from leasewatch.macpool import commands as macpool

    macpool.require(config)
    with opened_state(config, write=True) as state:
        analysis = sources.scanner(config, clock).analyse(state)
        return results.MacTaken(macpool.take(config, state, analysis, vm))


def mac_give(config: Config, clock: Clock, mac: str) -> results.MacGiven:
    """``leasewatch mac give MAC``: return a MAC to the pool."""
    from leasewatch.macpool import commands as macpool

    macpool.require(config)
    with opened_state(config, write=True) as state:
        return results.MacGiven(macpool.give(config, state, mac, clock()))


def mac_list(config: Config, clock: Clock, *, sources: Sources = REAL) -> results.MacList:
    """``leasewatch mac list``: every pool MAC taken, live or leased."""
    from leasewatch.macpool import commands as macpool

    macpool.require(config)
    with opened_state(config, write=False) as state:
        analysis = sources.scanner(config, clock).analyse(state)
        entries = macpool.listing(config, state, analysis)
    return results.MacList(tuple(entries), analysis)


def daemon(
    path: Path, environ: Mapping[str, str], log: TextIO, *, log_format: str, debug: bool
) -> int:
    """``leasewatch daemon``: scan on a schedule until stopped."""
    from leasewatch import daemon as daemon_module

    daemon_module.setup_logging(log, log_format, debug=debug, environ=environ)
    return daemon_module.run(path, environ)


__all__ = [
    "REAL",
    "Sources",
    "advise",
    "alert_test",
    "audit",
    "check",
    "check_config",
    "config_path",
    "daemon",
    "history",
    "inventory",
    "load_config",
    "mac_give",
    "mac_list",
    "mac_take",
    "opened_state",
    "release",
    "report",
    "scan",
    "utcnow",
    "why",
]
