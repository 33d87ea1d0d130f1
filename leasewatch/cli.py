"""The command line: parse the arguments, call one command, render its result, exit.

Each subcommand is one small function that calls ``leasewatch.app.commands`` and returns a
result value; ``main`` hands it to the renderer ``leasewatch.report.formats`` picks for
(result, ``--format``) and returns the result's exit status. No adapter is imported here.
Only ``leasewatch.errors.Error`` is caught, and printed as one line; ``--debug`` adds the
traceback. Tests run the whole CLI in-process through ``main(argv, env)``.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from leasewatch import __version__, lazy
from leasewatch.app import init, quick
from leasewatch.app.results import Check as CheckResult
from leasewatch.app.results import ExitStatus, Format
from leasewatch.config import DEFAULT_PATH, Config
from leasewatch.errors import ConfigError, Error, UsageError
from leasewatch.model import parse_duration
from leasewatch.printable import printable
from leasewatch.report.formats import render
from leasewatch.report.interface import Output

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

    from leasewatch.app import commands
else:
    # the commands (and through them the scan and every adapter) load when one runs, and
    # rich when something is drawn: `--version` and `check` import neither (issue 17)
    commands = lazy.module("leasewatch.app.commands")

__all__ = ["Env", "ExitStatus", "build_parser", "main"]

log = logging.getLogger("leasewatch")

BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for a tool `head` stopped reading


@functools.cache
def _console_class() -> type[Console]:
    from rich.console import Console

    class _Console(Console):
        """rich's Console, leaving a closed pipe to ``main`` (rich would exit the process)."""

        def on_broken_pipe(self) -> None:
            raise BrokenPipeError(32, "Broken pipe")

    return _Console


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Env:
    """What the CLI touches of the outside world; tests pass their own."""

    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    clock: Callable[[], datetime] = _utcnow
    color: bool | None = None  # None: only when stdout is a terminal

    def console(self, stream: TextIO | None = None) -> Console:
        stream = stream or self.stdout
        width = self.environ.get("COLUMNS", "")
        return _console_class()(
            file=stream,
            force_terminal=self.color if self.color is not None else None,
            no_color="NO_COLOR" in self.environ,
            highlight=False,
            width=int(width) if width.isdigit() else None,
            soft_wrap=False,
        )

    def output(self) -> Output:
        return Output(self.stdout, self.stderr, self.console)  # made on first use


Handler = Callable[[argparse.Namespace, Env], Any]


def _duration(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _common(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """-c/--config, --debug, -v: accepted before or after the subcommand."""
    default: Any = None if top else argparse.SUPPRESS
    parser.add_argument(
        "-c",
        "--config",
        type=Path,
        default=default,
        metavar="PATH",
        help=f"config file (default: $LEASEWATCH_CONFIG or {DEFAULT_PATH})",
    )
    flag: Any = False if top else argparse.SUPPRESS
    parser.add_argument(
        "--debug", action="store_true", default=flag, help="show tracebacks and debug logs"
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", default=flag, help="log what each scan does"
    )


def _format(p: argparse.ArgumentParser, formats: Sequence[Format]) -> None:
    p.add_argument(
        "--format",
        choices=[f.value for f in formats],
        default=None,
        help=f"output format (default: {formats[0].value})",
    )


def _all(p: argparse.ArgumentParser) -> None:
    p.add_argument("--all", dest="show_all", action="store_true", help="list every row")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leasewatch",
        description="Keep DHCP pools from running dry: report, alert, release orphaned leases.",
        epilog="Run `leasewatch COMMAND --help` for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"leasewatch {__version__}")
    _common(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")

    def command(name: str, help: str, handler: Handler) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help[0].upper() + help[1:] + ".")
        _common(p, top=False)
        p.set_defaults(handler=handler)
        return p

    p = command("report", "pools and orphans, as a table, JSON or CSV", cmd_report)
    _format(p, (Format.TABLE, Format.JSON, Format.CSV))
    _all(p)
    quick.add_flags(p)

    p = command("check", "one Nagios/Icinga plugin line, exit 0/1/2/3", cmd_check)
    quick.add_flags(p)

    p = command("scan", "scan, record state, alert (--apply: release orphans)", cmd_scan)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--apply", action="store_true", default=None, help="release orphans")
    mode.add_argument(
        "--dry-run", dest="apply", action="store_false", help="only say what would go (default)"
    )
    _format(p, (Format.TABLE, Format.JSON))
    _all(p)
    p.add_argument("--no-alerts", action="store_true", help="do not send webhook alerts")
    p.add_argument(
        "--textfile",
        type=Path,
        metavar="DIR",
        help="also write metrics to DIR/leasewatch.prom (node_exporter textfile collector)",
    )

    p = command("daemon", "scan on a schedule; serve Prometheus metrics", cmd_daemon)
    p.add_argument("--log-format", choices=("text", "json"), default="text", help="log line format")

    p = command("release", "release one VM's lease now (for a teardown hook)", cmd_release)
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--mac", help="the VM's MAC")
    which.add_argument("--ip", help="the leased address")
    p.add_argument("--server", help="only this server (by name)")
    p.add_argument("--force", action="store_true", help="even if an inventory still lists it")
    p.add_argument("--dry-run", action="store_true", help="only say what would be released")
    _format(p, (Format.TEXT, Format.JSON))

    p = command("audit", "list releases and refusals from the state file", cmd_audit)
    _format(p, (Format.TABLE, Format.JSON))
    p.add_argument("--limit", type=int, default=100, help="newest records to read (default 100)")
    _all(p)

    p = command("inventory", "what each inventory source sees", cmd_inventory)
    p.add_argument("--macs", action="store_true", help="also list the MACs")
    _format(p, (Format.TABLE, Format.JSON))

    p = command("why", "the verdict on one lease (IP or MAC), and why", cmd_why)
    p.add_argument("target", metavar="IP|MAC", help="the leased address or the VM's MAC")

    p = command("advise", "VM churn and lease-time advice per network (read-only)", cmd_advise)
    p.add_argument("--window", type=_duration, default=None, help="e.g. 7d (default: [state] keep)")
    _format(p, (Format.TABLE, Format.JSON))

    p = command("history", "utilization over time per network, as sparklines", cmd_history)
    p.add_argument("--since", type=_duration, default=None, help="e.g. 24h (default: 24h)")
    p.add_argument("--buckets", type=int, default=48, help="sparkline width (default 48)")

    command("alert-test", "send a sample message to every webhook", cmd_alert_test)

    p = command("mac", "the MAC pool: take a MAC for a new VM, give, list", cmd_mac)
    mac = p.add_subparsers(dest="mac_command", metavar="ACTION", required=True)
    m = mac.add_parser("take", help="print a free MAC from [macpool] (reusing a held lease)")
    m.add_argument("--vm", help="the VM's name, shown by mac list")
    _format(m, (Format.TEXT, Format.JSON))
    m = mac.add_parser("give", help="return a MAC to the pool (exit 0 if already free)")
    m.add_argument("mac", metavar="MAC", help="the MAC to return")
    m = mac.add_parser("list", help="every pool MAC taken, live or leased")
    _format(m, (Format.TABLE, Format.JSON))
    command("check-config", "validate the config; print it with secrets redacted", cmd_check_config)
    p = command("init", "write a starting config from the DHCP servers found here", cmd_init)
    init.add_flags(p)
    return parser


def main(argv: Sequence[str] | None = None, env: Env | None = None) -> int:
    """Run the CLI; return the exit status (only ``__main__`` exits)."""
    env = env or Env()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help, --version and usage errors
        return int(exc.code or 0)
    if getattr(args, "handler", None) is None:  # bare `leasewatch`: the commands, one a line
        parser.print_help(env.stdout)
        return ExitStatus.USAGE
    _setup_logging(args, env)
    handler: Handler = args.handler
    try:
        result = handler(args, env)
        if isinstance(result, int):  # the daemon returns its exit status
            return result
        render(result, getattr(args, "format", None), env.output())
        env.stdout.flush()
        return int(result.status)
    except ConfigError as exc:
        for message in exc.messages:
            print(f"leasewatch: config error: {message}", file=env.stderr)
        _debug_traceback(args)
        return ExitStatus.CONFIG
    except UsageError as exc:
        print(f"leasewatch: error: {exc}", file=env.stderr)
        return ExitStatus.USAGE
    except Error as exc:
        print(f"leasewatch: error: {exc}", file=env.stderr)
        _debug_traceback(args)
        return ExitStatus.ERROR
    except BrokenPipeError:
        # the reader (`head`) has gone: stop quietly, as other Unix tools do
        _silence(env.stdout)
        return BROKEN_PIPE
    except KeyboardInterrupt:
        print("leasewatch: interrupted", file=env.stderr)
        return ExitStatus.INTERRUPTED


def _silence(stream: TextIO) -> None:
    """Point a real stdout at /dev/null, so the interpreter's last flush cannot fail too."""
    try:
        fileno = stream.fileno()
    except (OSError, ValueError):  # an in-memory stream (tests): nothing to flush later
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fileno)
    os.close(devnull)


class _PrintableFormatter(logging.Formatter):
    """Log lines carry hostnames and file contents: control characters are shown escaped,
    so a DHCP client cannot forge a line (a traceback, with --debug, stays as it is)."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        record.message = printable(record.message)
        return super().formatMessage(record)


def _setup_logging(args: argparse.Namespace, env: Env) -> None:
    level = logging.DEBUG if args.debug else logging.INFO if args.verbose else logging.WARNING
    handler = logging.StreamHandler(env.stderr)
    handler.setFormatter(_PrintableFormatter("leasewatch: %(levelname)s: %(message)s"))
    root = logging.getLogger("leasewatch")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def _debug_traceback(args: argparse.Namespace) -> None:
    if args.debug:
        log.exception("traceback (--debug)")


def load_config(args: argparse.Namespace, env: Env) -> Config:
    """The config file, or the quick look's config built from the command line's flags."""
    given = quick.config_from(args, env.environ)
    if given is not None:
        return given
    return commands.load_config(args.config, env.environ)


class _LazyProgress:
    """A rich progress bar that appears only once a parse has taken more than a second."""

    def __init__(self, console: Callable[[], Console]) -> None:
        self.console = console  # made (and rich loaded) only if a bar is ever shown
        self.started = time.monotonic()
        self.progress: Progress | None = None
        self.tasks: dict[str, int] = {}

    def __call__(self, name: str, done: int, total: int) -> None:
        if self.progress is None:
            if time.monotonic() - self.started < 1.0:
                return
            console = self.console()
            if not console.is_terminal:
                return
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self.progress = Progress(
                TextColumn("reading {task.description}"),
                BarColumn(),
                DownloadColumn(),
                TimeRemainingColumn(),
                console=console,
                transient=True,
            )
            self.progress.start()
        if name not in self.tasks:
            self.tasks[name] = int(self.progress.add_task(name, total=total))
        self.progress.update(self.tasks[name], completed=done, total=total)  # type: ignore[arg-type]

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def _progress(env: Env) -> _LazyProgress:
    return _LazyProgress(functools.partial(env.console, env.stderr))


def cmd_report(args: argparse.Namespace, env: Env) -> object:
    config = load_config(args, env)
    progress = _progress(env)
    try:
        return commands.report(config, env.clock, progress=progress, show_all=args.show_all)
    finally:
        progress.stop()


def cmd_check(args: argparse.Namespace, env: Env) -> object:
    try:
        config = load_config(args, env)
        return commands.check(config, env.clock)
    except Error as exc:  # a plugin answers UNKNOWN, whatever went wrong
        return CheckResult(None, error=str(exc))


def cmd_scan(args: argparse.Namespace, env: Env) -> object:
    config = load_config(args, env)
    return commands.scan(
        config,
        env.clock,
        apply=args.apply,
        send_alerts=not args.no_alerts,
        textfile=args.textfile,
        show_all=args.show_all,
    )


def cmd_daemon(args: argparse.Namespace, env: Env) -> int:
    path = commands.config_path(args.config, env.environ)
    return commands.daemon(
        path, env.environ, env.stderr, log_format=args.log_format, debug=args.debug
    )


def cmd_release(args: argparse.Namespace, env: Env) -> object:
    return commands.release(
        load_config(args, env),
        env.clock,
        mac=args.mac,
        ip=args.ip,
        server=args.server,
        force=args.force,
        dry_run=args.dry_run,
    )


def cmd_audit(args: argparse.Namespace, env: Env) -> object:
    return commands.audit(load_config(args, env), limit=args.limit, show_all=args.show_all)


def cmd_inventory(args: argparse.Namespace, env: Env) -> object:
    return commands.inventory(load_config(args, env), macs=args.macs)


def cmd_why(args: argparse.Namespace, env: Env) -> object:
    return commands.why(load_config(args, env), env.clock, args.target)


def cmd_advise(args: argparse.Namespace, env: Env) -> object:
    return commands.advise(load_config(args, env), env.clock, window=args.window)


def cmd_history(args: argparse.Namespace, env: Env) -> object:
    if args.buckets < 1:
        raise UsageError("--buckets must be at least 1")
    return commands.history(
        load_config(args, env), env.clock, since=args.since, buckets=args.buckets
    )


def cmd_alert_test(args: argparse.Namespace, env: Env) -> object:
    return commands.alert_test(load_config(args, env), env.clock)


def cmd_mac(args: argparse.Namespace, env: Env) -> object:
    config = load_config(args, env)
    if args.mac_command == "give":
        return commands.mac_give(config, env.clock, args.mac)
    if args.mac_command == "take":
        return commands.mac_take(config, env.clock, vm=args.vm)
    return commands.mac_list(config, env.clock)


def cmd_check_config(args: argparse.Namespace, env: Env) -> object:
    return commands.check_config(load_config(args, env))


def cmd_init(args: argparse.Namespace, env: Env) -> int:
    return init.run(args, args.config, env.environ, env.stdout)
