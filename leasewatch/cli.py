"""The command line: argparse, one small function per subcommand, ``main() -> int``.

Only ``leasewatch.errors.Error`` is caught, and printed as one line; ``--debug`` adds the
traceback. Tests run the whole CLI in-process through ``main(argv, env)``.
"""

from __future__ import annotations

import argparse
import enum
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from leasewatch import __version__
from leasewatch import config as config_module
from leasewatch.config import Config
from leasewatch.core import forecast as forecast_module
from leasewatch.errors import ConfigError, Error
from leasewatch.model import Analysis, AuditRecord, Outcome, normalize_mac, parse_duration
from leasewatch.report import csv as csv_report
from leasewatch.report import json as json_report
from leasewatch.report import nagios, table
from leasewatch.scan import Scanner, ScanResult, utcnow
from leasewatch.state import State

log = logging.getLogger("leasewatch")


class ExitStatus(enum.IntEnum):
    """Exit codes (README, "Exit codes"). ``check`` uses the Nagios codes 0-3 instead."""

    OK = 0
    ERROR = 1  # the job could not be done (nothing readable, a release failed)
    USAGE = 2  # bad command line (argparse's own code)
    CONFIG = 3  # the config file is missing or invalid
    PARTIAL = 4  # done, but a server or inventory could not be read or trusted
    INTERRUPTED = 130


@dataclass
class Env:
    """What the CLI touches of the outside world; tests pass their own."""

    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    clock: Callable[[], datetime] = utcnow
    color: bool | None = None  # None: only when stdout is a terminal

    def console(self, stream: TextIO | None = None) -> Console:
        stream = stream or self.stdout
        no_color = "NO_COLOR" in self.environ
        return Console(
            file=stream,
            force_terminal=self.color if self.color is not None else None,
            no_color=no_color,
            highlight=False,
            width=int(self.environ["COLUMNS"]) if "COLUMNS" in self.environ else None,
        )


Handler = Callable[[argparse.Namespace, Env], ExitStatus | int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leasewatch",
        description="Keep DHCP pools from running dry: report, alert, release orphaned leases.",
    )
    parser.add_argument("--version", action="version", version=f"leasewatch {__version__}")
    parser.add_argument(
        "-c",
        "--config",
        type=Path,
        default=None,
        help=f"config file (default: $LEASEWATCH_CONFIG or {config_module.DEFAULT_PATH})",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what each scan does")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("report", help="pools and orphans, as a table, JSON or CSV")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")
    p.set_defaults(handler=cmd_report)

    p = sub.add_parser("check", help="one Nagios/Icinga plugin line, exit 0/1/2/3")
    p.set_defaults(handler=cmd_check)

    p = sub.add_parser("scan", help="scan, record state, alert; release orphans with --apply")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--apply", action="store_true", default=None, help="release orphans")
    mode.add_argument(
        "--dry-run", dest="apply", action="store_false", help="only say what would go (default)"
    )
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--no-alerts", action="store_true", help="do not send webhook alerts")
    p.add_argument(
        "--textfile",
        type=Path,
        metavar="DIR",
        help="also write metrics to DIR/leasewatch.prom (node_exporter textfile collector)",
    )
    p.set_defaults(handler=cmd_scan)

    p = sub.add_parser("daemon", help="scan on a schedule; serve Prometheus metrics")
    p.add_argument("--log-format", choices=("text", "json"), default="text")
    p.set_defaults(handler=cmd_daemon)

    p = sub.add_parser("release", help="release one VM's lease now (for a teardown hook)")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--mac", help="the VM's MAC")
    which.add_argument("--ip", help="the leased address")
    p.add_argument("--server", help="only this server (by name)")
    p.add_argument("--force", action="store_true", help="even if an inventory still lists it")
    p.add_argument("--dry-run", action="store_true", help="only say what would be released")
    p.set_defaults(handler=cmd_release)

    p = sub.add_parser("audit", help="list releases and refusals from the state file")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--limit", type=int, default=100)
    p.set_defaults(handler=cmd_audit)

    p = sub.add_parser("inventory", help="what each inventory source sees")
    p.add_argument("--macs", action="store_true", help="also list the MACs")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(handler=cmd_inventory)

    p = sub.add_parser("why", help="the verdict on one lease (IP or MAC), and why")
    p.add_argument("target", metavar="IP|MAC", help="the leased address or the VM's MAC")
    p.set_defaults(handler=cmd_why)

    p = sub.add_parser("advise", help="VM churn and lease-time advice per network (read-only)")
    p.add_argument("--window", type=_duration, default=None, help="e.g. 7d (default: [state] keep)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(handler=cmd_advise)

    p = sub.add_parser("history", help="utilization over time per network, as sparklines")
    p.add_argument("--since", type=_duration, default=None, help="e.g. 24h (default: 24h)")
    p.add_argument("--buckets", type=int, default=48, help="sparkline width (default 48)")
    p.set_defaults(handler=cmd_history)

    p = sub.add_parser("alert-test", help="send a sample message to every webhook")
    p.set_defaults(handler=cmd_alert_test)

    p = sub.add_parser("mac", help="the MAC pool: take a MAC for a new VM, give it back, list")
    mac = p.add_subparsers(dest="mac_command", metavar="ACTION", required=True)
    m = mac.add_parser("take", help="print a free MAC from [macpool] (reusing a held lease)")
    m.add_argument("--vm", help="the VM's name, shown by mac list")
    m.add_argument("--format", choices=("text", "json"), default="text")
    m = mac.add_parser("give", help="return a MAC to the pool (exit 0 if already free)")
    m.add_argument("mac", metavar="MAC")
    m = mac.add_parser("list", help="every pool MAC taken, live or leased")
    m.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(handler=cmd_mac)

    p = sub.add_parser("check-config", help="validate the config; print it with secrets redacted")
    p.set_defaults(handler=cmd_check_config)
    return parser


def _duration(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv: Sequence[str] | None = None, env: Env | None = None) -> int:
    """Run the CLI; return the exit status (only ``__main__`` exits)."""
    env = env or Env()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help, --version and usage errors
        return int(exc.code or 0)
    _setup_logging(args, env)
    handler: Handler = args.handler
    try:
        return int(handler(args, env))
    except ConfigError as exc:
        for message in exc.messages:
            print(f"leasewatch: config error: {message}", file=env.stderr)
        _debug_traceback(args)
        return ExitStatus.CONFIG
    except Error as exc:
        print(f"leasewatch: error: {exc}", file=env.stderr)
        _debug_traceback(args)
        return ExitStatus.ERROR
    except KeyboardInterrupt:
        print("leasewatch: interrupted", file=env.stderr)
        return ExitStatus.INTERRUPTED


def _setup_logging(args: argparse.Namespace, env: Env) -> None:
    level = logging.DEBUG if args.debug else logging.INFO if args.verbose else logging.WARNING
    handler = logging.StreamHandler(env.stderr)
    handler.setFormatter(logging.Formatter("leasewatch: %(levelname)s: %(message)s"))
    root = logging.getLogger("leasewatch")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def _debug_traceback(args: argparse.Namespace) -> None:
    if args.debug:
        log.exception("traceback (--debug)")


def load_config(args: argparse.Namespace, env: Env) -> Config:
    path = args.config or Path(env.environ.get("LEASEWATCH_CONFIG", config_module.DEFAULT_PATH))
    return config_module.load(path, env.environ)


def open_state(config: Config, *, write: bool) -> State:
    """The state file; a read-only command without one works on an empty memory state."""
    if write or config.state.path.exists():
        return State.open(config.state.path)
    return State.memory()


def _nothing_readable(analysis: Analysis, env: Env) -> bool:
    """When no server could be read there is nothing to show: one line per server instead."""
    if analysis.servers and all(s.error for s in analysis.servers):
        for server in analysis.servers:
            print(f"leasewatch: error: {server.error}", file=env.stderr)
        return True
    return False


def _status(analysis: Analysis) -> ExitStatus:
    if analysis.servers and all(s.error for s in analysis.servers):
        return ExitStatus.ERROR
    return ExitStatus.PARTIAL if analysis.errors else ExitStatus.OK


class _LazyProgress:
    """A rich progress bar that appears only once a parse has taken more than a second."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.started = time.monotonic()
        self.progress: Progress | None = None
        self.tasks: dict[str, int] = {}

    def __call__(self, name: str, done: int, total: int) -> None:
        if self.progress is None:
            if time.monotonic() - self.started < 1.0 or not self.console.is_terminal:
                return
            self.progress = Progress(
                TextColumn("reading {task.description}"),
                BarColumn(),
                DownloadColumn(),
                TimeRemainingColumn(),
                console=self.console,
                transient=True,
            )
            self.progress.start()
        if name not in self.tasks:
            self.tasks[name] = int(self.progress.add_task(name, total=total))
        self.progress.update(self.tasks[name], completed=done, total=total)  # type: ignore[arg-type]

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def _analyse(config: Config, env: Env, state: State) -> Analysis:
    scanner = Scanner(config, clock=env.clock)
    progress = _LazyProgress(env.console(env.stderr))
    try:
        return scanner.analyse(state, progress)
    finally:
        progress.stop()


def cmd_report(args: argparse.Namespace, env: Env) -> ExitStatus:
    config = load_config(args, env)
    state = open_state(config, write=False)
    try:
        analysis = _analyse(config, env, state)
        forecasts = _forecasts(config, state, analysis)
    finally:
        state.close()
    if _nothing_readable(analysis, env):
        return ExitStatus.ERROR
    if args.format == "json":
        json_report.render(analysis, env.stdout, forecasts)
    elif args.format == "csv":
        csv_report.render(analysis, env.stdout)
    else:
        table.render(analysis, env.console(), forecasts)
    return _status(analysis)


def _forecasts(config: Config, state: State, analysis: Analysis) -> forecast_module.Forecasts:
    """Forecasts from the stored history plus this analysis as the newest sample."""
    window = config.state.forecast_window
    samples = state.history(since=analysis.now - window)
    return forecast_module.forecasts(
        forecast_module.with_current(samples, analysis), now=analysis.now, window=window
    )


def cmd_check(args: argparse.Namespace, env: Env) -> int:
    try:
        config = load_config(args, env)
        state = open_state(config, write=False)
        try:
            analysis = _analyse(config, env, state)
        finally:
            state.close()
    except Error as exc:
        print(f"DHCP UNKNOWN: {exc}", file=env.stdout)
        return nagios.NagiosStatus.UNKNOWN
    status, line = nagios.check(analysis)
    print(line, file=env.stdout)
    return status


def cmd_scan(args: argparse.Namespace, env: Env) -> ExitStatus:
    config = load_config(args, env)
    state = open_state(config, write=True)
    try:
        scanner = Scanner(config, clock=env.clock)

        def run() -> ScanResult:
            return scanner.scan(state, apply=args.apply, send_alerts=not args.no_alerts)

        if args.textfile is not None:
            from leasewatch.metrics import scan_to_textfile

            result = scan_to_textfile(args.textfile, config, run)
        else:
            result = run()
        # the scan is in the history now: no need to add it as report does
        window = config.state.forecast_window
        forecasts = forecast_module.forecasts(
            state.history(since=result.analysis.now - window),
            now=result.analysis.now,
            window=window,
        )
    finally:
        state.close()
    if args.format == "json":
        doc = json_report.document(result.analysis, forecasts)
        doc["applied"] = result.applied
        doc["releases"] = [_record_doc(r) for r in result.records]
        doc["plan"] = [
            {**json_report.finding(r.finding), "action": r.action.value, "why": r.reason}
            for r in result.plan
        ]
        json.dump(doc, env.stdout, indent=2)
        env.stdout.write("\n")
    else:
        _print_scan(result, env.console(), forecasts)
    for message in result.alert_errors:
        print(f"leasewatch: alert not delivered: {message}", file=env.stderr)
    status = _status(result.analysis)
    if any(r.outcome is Outcome.FAILED for r in result.records):
        status = ExitStatus.ERROR
    return status


def _print_scan(result: ScanResult, console: Console, forecasts: forecast_module.Forecasts) -> None:
    table.render(result.analysis, console, forecasts)
    if not result.plan:
        return
    outcomes = {f"{r.server}/{r.ip}": r.outcome.value for r in result.records}
    console.print(table.plan_table(result.plan, outcomes))
    go = sum(1 for r in result.plan if r.action.value == "release")
    if result.applied:
        done = sum(1 for r in result.records if r.outcome is Outcome.RELEASED)
        console.print(Text(f"Released {done} of {go} planned leases.", style="bold green"))
    else:
        console.print(
            Text(
                f"Dry run: {go} leases would be released. Run with --apply to release them.",
                style="bold cyan",
            )
        )


def _record_doc(r: AuditRecord) -> dict[str, object]:
    return {
        "at": r.at.isoformat(timespec="seconds"),
        "server": r.server,
        "ip": str(r.ip),
        "mac": r.mac,
        "hostname": r.hostname,
        "reason": r.reason,
        "outcome": r.outcome.value,
        "detail": r.detail,
    }


def cmd_daemon(args: argparse.Namespace, env: Env) -> ExitStatus:
    from leasewatch import daemon

    daemon.setup_logging(env.stderr, args.log_format, debug=args.debug, environ=env.environ)
    path = args.config or Path(env.environ.get("LEASEWATCH_CONFIG", config_module.DEFAULT_PATH))
    return ExitStatus(daemon.run(path, env.environ))


def cmd_release(args: argparse.Namespace, env: Env) -> ExitStatus:
    config = load_config(args, env)
    mac = None
    if args.mac is not None:
        mac = normalize_mac(args.mac)
        if mac is None:
            print(f"leasewatch: error: --mac {args.mac!r} is not a MAC address", file=env.stderr)
            return ExitStatus.USAGE
    state = open_state(config, write=not args.dry_run)
    try:
        records = Scanner(config, clock=env.clock).release_one(
            state,
            mac=mac,
            ip=args.ip,
            server=args.server,
            force=args.force,
            dry_run=args.dry_run,
        )
    finally:
        state.close()
    for r in records:
        print(
            f"{r.outcome.value}: {r.ip} {r.mac or '-'} on {r.server}"
            + (f" ({r.detail})" if r.detail else ""),
            file=env.stdout,
        )
    if not records:
        print("leasewatch: no active lease matches", file=env.stderr)
        return ExitStatus.ERROR
    good = {Outcome.RELEASED, Outcome.DRY_RUN}
    return ExitStatus.OK if all(r.outcome in good for r in records) else ExitStatus.ERROR


def cmd_audit(args: argparse.Namespace, env: Env) -> ExitStatus:
    config = load_config(args, env)
    state = open_state(config, write=False)
    try:
        records = state.audit(limit=args.limit)
    finally:
        state.close()
    if args.format == "json":
        json.dump([_record_doc(r) for r in records], env.stdout, indent=2)
        env.stdout.write("\n")
        return ExitStatus.OK
    t = Table(title=f"Audit ({len(records)} records)", title_justify="left")
    for name in ("time", "server", "ip", "mac", "hostname", "outcome", "reason", "detail"):
        t.add_column(name)
    for r in records:
        t.add_row(
            r.at.strftime("%Y-%m-%d %H:%M:%S"),
            r.server,
            str(r.ip),
            r.mac or "-",
            r.hostname or "-",
            r.outcome.value,
            r.reason,
            r.detail,
        )
    env.console().print(t)
    return ExitStatus.OK


def cmd_inventory(args: argparse.Namespace, env: Env) -> ExitStatus:
    from leasewatch.inventory import kinds

    config = load_config(args, env)
    snapshots = [kinds.build(i).fetch() for i in config.inventory]
    if args.format == "json":
        doc = [
            {
                "source": s.source,
                "kind": s.kind,
                "healthy": s.healthy,
                "reason": s.reason,
                "vms": len(s.macs),
                "duration": round(s.duration, 3),
                **({"macs": sorted(s.macs)} if args.macs else {}),
            }
            for s in snapshots
        ]
        json.dump(doc, env.stdout, indent=2)
        env.stdout.write("\n")
    else:
        t = Table(title="Inventory sources", title_justify="left")
        for name in ("source", "kind", "health", "VMs", "duration", "networks"):
            t.add_column(name)
        for s in snapshots:
            health = (
                Text("healthy", "green") if s.healthy else Text(f"UNHEALTHY: {s.reason}", "red")
            )
            t.add_row(
                s.source,
                s.kind,
                health,
                str(len(s.macs)),
                f"{s.duration:.2f}s",
                ", ".join(s.networks) or "all",
            )
        console = env.console()
        console.print(t)
        if args.macs:
            for s in snapshots:
                for mac in sorted(s.macs):
                    console.print(f"{s.source}\t{mac}")
    if not snapshots:
        print("leasewatch: no [[inventory]] sources configured", file=env.stderr)
    return ExitStatus.OK if all(s.healthy for s in snapshots) else ExitStatus.PARTIAL


def cmd_mac(args: argparse.Namespace, env: Env) -> ExitStatus:
    from leasewatch.macpool import commands, render

    config = load_config(args, env)
    commands.require(config)
    state = open_state(config, write=args.mac_command != "list")
    try:
        if args.mac_command == "give":
            given = commands.give(config, state, args.mac)
            done = f"was taken by {given.was.vm or 'an unnamed VM'}" if given.was else "was free"
            print(f"{given.mac} returned to the pool ({done})", file=env.stderr)
            return ExitStatus.OK
        analysis = _analyse(config, env, state)
        if args.mac_command == "take":
            choice = commands.take(config, state, analysis, args.vm)
            if args.format == "json":
                json.dump(render.take_doc(choice), env.stdout)
            else:
                env.stdout.write(choice.mac)
            env.stdout.write("\n")
            return ExitStatus.OK
        entries = commands.listing(config, state, analysis)
    finally:
        state.close()
    if args.format == "json":
        json.dump([render.entry_doc(e) for e in entries], env.stdout, indent=2)
        env.stdout.write("\n")
    else:
        render.table(entries, env.console())
    return _status(analysis)


def cmd_check_config(args: argparse.Namespace, env: Env) -> ExitStatus:
    config = load_config(args, env)
    json.dump(config_module.redacted(config), env.stdout, indent=2, default=str)
    env.stdout.write("\n")
    if config.macpool is not None:
        from leasewatch.inventory import kinds
        from leasewatch.macpool import commands, store

        state = open_state(config, write=False)
        try:
            taken = {t.mac for t in store.taken(state)}
        finally:
            state.close()
        inventories = [kinds.build(i).fetch() for i in config.inventory]
        for warning in commands.check(config, inventories, taken):
            print(f"leasewatch: warning: {warning}", file=env.stderr)
    print(f"{config.path}: ok", file=env.stderr)
    return ExitStatus.OK


def cmd_why(args: argparse.Namespace, env: Env) -> ExitStatus:
    from leasewatch.core.why import explain
    from leasewatch.macpool import commands as macpool_commands
    from leasewatch.reaper import kinds as reaper_kinds
    from leasewatch.reaper.plan import plan

    ip: IPv4Address | None = None
    mac = normalize_mac(args.target)
    if mac is None:
        try:
            ip = IPv4Address(args.target)
        except ValueError:
            print(
                f"leasewatch: error: {args.target!r} is neither an IPv4 address nor a MAC",
                file=env.stderr,
            )
            return ExitStatus.USAGE
    config = load_config(args, env)
    state = open_state(config, write=False)
    try:
        analysis = _analyse(config, env, state)
        audit = state.audit()
        vms = state.vm_sightings()
        pool = macpool_commands.holds(config, state, analysis, config.reaper.grace)
    finally:
        state.close()
    releasable = [s.name for s in config.servers if reaper_kinds.can_release(s)]
    policy = config.reaper
    answers = explain(
        analysis,
        ip=ip,
        mac=mac,
        grace=policy.grace,
        protect_macs=policy.protect_macs,
        protect_networks=policy.protect_networks,
        plan=plan(analysis, policy, analysis.now, releasable, pool=pool),
        audit=audit,
        vms=vms,
    )
    for number, answer in enumerate(answers):
        if number:
            print(file=env.stdout)
        for line in answer.lines():
            print(line, file=env.stdout)
    if not answers:
        print(f"leasewatch: no active lease for {args.target}", file=env.stderr)
        mine = [r for r in audit if r.ip == ip or (mac is not None and r.mac == mac)]
        if mine:
            last = mine[-1]  # audit() is oldest first
            print(
                f"last release attempt: {last.at:%Y-%m-%d %H:%M:%S} {last.outcome.value} "
                f"on {last.server} ({last.ip})",
                file=env.stdout,
            )
        return ExitStatus.ERROR
    return _status(analysis)


def cmd_advise(args: argparse.Namespace, env: Env) -> ExitStatus:
    from leasewatch.core.advice import advise, as_dict
    from leasewatch.report.history import advice_table

    config = load_config(args, env)
    now = env.clock()
    window: timedelta = args.window or config.state.keep
    state = open_state(config, write=False)
    try:
        advice = advise(
            state.lease_sightings(since=now - window),
            state.vm_sightings(),
            now=now,
            window=window,
            tracking_since=state.tracking_since(),
            kinds={s.name: s.kind for s in config.servers},
        )
    finally:
        state.close()
    if args.format == "json":
        json.dump([as_dict(a) for a in advice], env.stdout, indent=2)
        env.stdout.write("\n")
    else:
        advice_table(advice, env.console())
    if not advice:
        print(
            "leasewatch: no leases recorded in the window: run `leasewatch scan` "
            "(or the daemon) for a while first",
            file=env.stderr,
        )
    return ExitStatus.OK


def cmd_history(args: argparse.Namespace, env: Env) -> ExitStatus:
    from leasewatch.report import history

    config = load_config(args, env)
    now = env.clock()
    since: timedelta = args.since or timedelta(hours=24)
    if args.buckets < 1:
        print("leasewatch: error: --buckets must be at least 1", file=env.stderr)
        return ExitStatus.USAGE
    state = open_state(config, write=False)
    try:
        rows = state.history(since=now - since)
    finally:
        state.close()
    history.render(
        rows,
        env.console(),
        now=now,
        since=since,
        buckets=args.buckets,
        thresholds_for=config.alerts.for_network,
    )
    return ExitStatus.OK


def cmd_alert_test(args: argparse.Namespace, env: Env) -> ExitStatus:
    from leasewatch import alerts

    config = load_config(args, env)
    if not config.alerts.webhooks:
        print("leasewatch: no [[alerts.webhooks]] configured", file=env.stderr)
        return ExitStatus.ERROR
    results = alerts.deliver([alerts.sample_alert(env.clock())], config.alerts.webhooks)
    for r in results:
        line = f"{r.webhook} ({r.format}): " + ("delivered" if r.ok else str(r.error))
        print(line, file=env.stdout if r.ok else env.stderr)
    return ExitStatus.OK if all(r.ok for r in results) else ExitStatus.ERROR
