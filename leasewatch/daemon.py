"""``leasewatch daemon``: scan on a schedule, serve metrics, survive faults and signals.

- APScheduler 3 runs the scan on ``[daemon] every`` or ``cron``, once at start, one at a
  time (``max_instances=1``, ``coalesce=True``: missed runs collapse into one).
- One ``Scanner`` lives across scans, so the ISC journal is read incrementally.
- Metrics (``leasewatch.metrics``) come from the last scan's result, served on
  ``[daemon] metrics`` with an explicit registry; off when unset.
- A fault (leases file gone or half-written, hung inventory command, webhook timeout,
  OMAPI/Kea down) is one log line and one ``leasewatch_scan_errors_total{source}``; the
  core already refuses to reap on data it cannot trust. A scan that raises a leasewatch
  ``Error`` is logged and counted; the daemon goes on.
- SIGTERM/SIGINT: stop within a few seconds and exit 0. A scan still reading is abandoned
  (no release has started, nothing was written); one past its release gate finishes.
  SIGHUP: reload the config; an invalid one is logged and the old one kept.
- Event streams (``leasewatch.events``, ``[daemon] events``): an event re-reads its
  inventory; if MACs vanished, a scan runs whose plan covers those MACs' leases only. Event
  runs and scheduled scans hold one lock, so they never overlap.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping, Set
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from prometheus_client import CollectorRegistry, start_http_server

from leasewatch import config as config_module
from leasewatch.config import Config, DaemonConfig
from leasewatch.errors import ConfigError, Error
from leasewatch.events import kinds as event_kinds
from leasewatch.events.watch import Watch
from leasewatch.metrics import MetricsError, ScanMetrics, parse_listen
from leasewatch.model import Action, Reason, format_duration
from leasewatch.printable import printable
from leasewatch.scan import Scanner, ScanResult, ScanStopped
from leasewatch.state import State

log = logging.getLogger("leasewatch.daemon")

JOB_ID = "scan"
# what an event's scan keeps only until its grace ends (then it looks again)
GRACE_KEEPS = frozenset({Reason.KEEP_GRACE, Reason.KEEP_YOUNG})
POLL = 0.2  # seconds: how often the main loop and the job look at the stop flag


def make_trigger(daemon: DaemonConfig, path: Path) -> Any:
    """The APScheduler trigger for ``[daemon] cron`` (crontab syntax) or ``every``."""
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    if daemon.cron is not None:
        try:
            return CronTrigger.from_crontab(daemon.cron)
        except ValueError as exc:
            raise ConfigError(f"{path}: daemon.cron: {daemon.cron!r}: {exc}") from None
    every = daemon.every or DaemonConfig.every
    assert every is not None  # the default is set
    return IntervalTrigger(seconds=every.total_seconds())


def schedule_gap(trigger: Any, now: datetime) -> float:
    """The longest wait, in seconds, between two scans the trigger schedules.

    Exported as ``leasewatch_scan_interval_seconds`` so the "stopped scanning" rule scales
    with the schedule: a daemon scanning hourly (with event streams between scans) is not
    late after 15 minutes. A crontab's gaps vary (``0 8-18 * * 1-5``): the longest among
    its next 2000 runs or 31 days counts; one run or none in that time counts as 31 days.
    """
    from apscheduler.triggers.interval import IntervalTrigger

    if isinstance(trigger, IntervalTrigger):
        return float(trigger.interval.total_seconds())
    horizon = timedelta(days=31)
    end = now + horizon
    gap = 0.0
    previous: datetime | None = None
    fire: datetime | None = trigger.get_next_fire_time(None, now)
    for _ in range(2000):
        if fire is None or fire > end:
            break
        if previous is not None:
            gap = max(gap, (fire - previous).total_seconds())
        previous = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return gap or horizon.total_seconds()


class Daemon:
    """The long-running service. ``run()`` blocks until SIGTERM/SIGINT and returns 0."""

    def __init__(
        self,
        config_path: Path,
        environ: Mapping[str, str],
        *,
        registry: CollectorRegistry | None = None,
        scanner: Callable[[Config], Scanner] = Scanner,
    ) -> None:
        self.config_path = config_path
        self.environ = environ
        self.config = config_module.load(config_path, environ)
        self.trigger = make_trigger(self.config.daemon, config_path)
        self._new_scanner = scanner
        self._scanner = scanner(self.config)
        self.metrics = ScanMetrics(self.config)
        self.metrics.set_scan_interval(schedule_gap(self.trigger, datetime.now(UTC)))
        self.registry = registry if registry is not None else CollectorRegistry()
        self.registry.register(self.metrics)
        self._watch: Watch | None = None
        # held by a scan and by an event's re-read: they run one at a time, and an event
        # that lands during a scan is re-read after it (events.watch)
        self._scan_lock = threading.Lock()
        # _lock guards the config/scanner swap on reload and the stop/release handshake.
        self._lock = threading.Lock()
        self._stopping = False
        self._releasing = False
        self._signal: str | None = None  # set by signal handlers, read by the main loop
        self._warned_slow = False
        self._scheduler: Any = None
        self._http: Any = None

    # --- the main thread ----------------------------------------------------------------
    def run(self) -> int:
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler

        self._start_http()
        self._scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(1)}, timezone=UTC
        )
        self._scheduler.add_job(
            self._job,
            self.trigger,
            id=JOB_ID,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,  # a late run still runs (once, coalesced)
            next_run_time=datetime.now(UTC),  # one scan at start
        )
        previous = self._install_signals()
        # streams first: libvirt's event loop must be registered before the first scan
        # opens a libvirt connection (events.libvirt)
        self._start_events(self.config)
        self._scheduler.start()
        log.info("started: %s, %s", self._schedule_text(), self._metrics_text())
        try:
            while True:
                # Signal handlers only set a flag: taking locks inside a handler could
                # deadlock against the interrupted code. Polling at POLL costs nothing.
                time.sleep(POLL)
                sig, self._signal = self._signal, None
                if sig == "reload":
                    self.reload()
                elif sig == "stop":
                    break
        finally:
            self._stop()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        log.info("stopped")
        return 0

    def _install_signals(self) -> dict[int, Any]:
        def stop(signum: int, frame: FrameType | None) -> None:
            self._signal = "stop"

        def reload(signum: int, frame: FrameType | None) -> None:
            if self._signal != "stop":
                self._signal = "reload"

        previous: dict[int, Any] = {}
        for signum, handler in (
            (signal.SIGTERM, stop),
            (signal.SIGINT, stop),
            (signal.SIGHUP, reload),
        ):
            previous[signum] = signal.signal(signum, handler)
        return previous

    def _stop(self) -> None:
        with self._lock:
            self._stopping = True
            releasing = self._releasing
        if releasing:
            log.info("stopping: letting the scan in progress finish (past its release gate)")
        else:
            log.info("stopping")
        if self._watch is not None:
            self._watch.stop(wait=releasing)
        if self._scheduler is not None and self._scheduler.running:
            # The job returns within POLL unless its scan is past the release gate.
            self._scheduler.shutdown(wait=True)
        if self._http is not None:
            server, thread = self._http
            server.shutdown()
            server.server_close()
            thread.join(timeout=2)

    def reload(self) -> None:
        """SIGHUP: load the config again; keep the old one (one log line) if it is bad."""
        try:
            new = config_module.load(self.config_path, self.environ)
            trigger = make_trigger(new.daemon, self.config_path)
            scanner = self._new_scanner(new) if new != self.config else None
        except ConfigError as exc:
            log.error("reload failed, keeping the old config: %s", "; ".join(exc.messages))
            return
        except Error as exc:
            log.error("reload failed, keeping the old config: %s", exc)
            return
        if scanner is None:
            log.info("reload: %s unchanged", self.config_path)
            return
        old = self.config
        with self._lock:
            scanner.remember_from(self._scanner)  # events compare with the last reads still
            self.config, self._scanner, self.trigger = new, scanner, trigger
        self.metrics.configure(new)
        if (old.inventory, old.daemon.events) != (new.inventory, new.daemon.events):
            self._start_events(new)
        if (old.daemon.every, old.daemon.cron) != (new.daemon.every, new.daemon.cron):
            self._scheduler.reschedule_job(JOB_ID, trigger=trigger)
            self.metrics.set_scan_interval(schedule_gap(trigger, datetime.now(UTC)))
        if old.daemon.metrics != new.daemon.metrics:
            log.warning("reload: [daemon] metrics changed; restart to move the endpoint")
        log.info("reloaded %s: %s", self.config_path, self._schedule_text())

    def _start_events(self, config: Config) -> None:
        """(Re)start the inventories' event streams for ``config``."""
        before: set[str] = set()
        if self._watch is not None:
            self._watch.stop()
            before = {s.stream for s in self._watch.streams}
        watch = Watch(self.on_event, self.metrics)
        streams = event_kinds.build(config, watch)
        for gone in before - {s.stream for s in streams}:
            self.metrics.forget_event_stream(gone)
        self._watch = watch if streams else None
        if streams:
            watch.start(streams)
            log.info("event streams: %s", ", ".join(s.stream for s in streams))

    def on_event(self, inventory: str) -> None:
        """An event said ``inventory`` may have changed: re-read it; if MACs vanished, run
        a scan whose plan covers their leases only (the usual rules: grace, protections,
        max_per_run, the re-check on the server, the audit; dry run unless applying)."""
        with self._scan_lock:
            if self._abandon():
                return
            with self._lock:
                scanner = self._scanner
            vanished = scanner.vanished(inventory)
            if vanished is None:
                log.info("inventory %s: unreadable after an event", inventory)
            if not vanished:
                return
            log.info("inventory %s: %d MAC(s) gone since its last read", inventory, len(vanished))
            # the scan takes this re-read as it is: one read of the inventory per event
            self._targeted(vanished, inventory, "event scan", reuse=inventory)

    def _targeted(
        self, macs: Set[str], inventory: str, what: str, reuse: str | None = None
    ) -> None:
        """A scan planning ``macs``' leases only (the scan lock held). Those kept only for
        ``grace`` are looked at again the moment it ends, not at the next scheduled scan,
        which may be an hour away."""
        try:
            result = self._scan_locked(only_macs=macs, trigger=f"{what} ({inventory})", reuse=reuse)
        finally:
            with self._lock:
                self._releasing = False
        if result is None or self._scheduler is None:
            return
        now, grace = result.analysis.now, self.config.reaper.grace
        waiting = [r.finding for r in result.plan if r.code in GRACE_KEEPS and r.finding.lease.mac]
        if not waiting:
            return
        # the earliest end; a MAC still waiting then is scheduled again by that run
        ends = [max(f.missing_since or now, f.lease.starts or now) + grace for f in waiting]
        macs = frozenset(f.lease.mac for f in waiting if f.lease.mac)
        self._scheduler.add_job(
            self._job,
            "date",
            run_date=min(ends) + timedelta(seconds=1),
            args=[partial(self._recheck, macs, inventory)],
            misfire_grace_time=None,
        )

    def _recheck(self, macs: Set[str], inventory: str) -> None:
        with self._scan_lock:
            if not self._abandon():
                self._targeted(macs, inventory, "grace re-check")

    def _start_http(self) -> None:
        address = self.config.daemon.metrics
        if address is None:
            return
        host, port = parse_listen(address)
        try:
            self._http = start_http_server(port, addr=host, registry=self.registry)
        except OSError as exc:
            raise MetricsError(
                f"{self.config_path}: daemon.metrics {address}: cannot listen: {exc.strerror}"
            ) from None

    def _schedule_text(self) -> str:
        daemon = self.config.daemon
        if daemon.cron is not None:
            return f"scanning on cron {daemon.cron!r}"
        every = daemon.every or DaemonConfig.every
        return f"scanning every {format_duration(every)}" if every else "not scanning"

    def _metrics_text(self) -> str:
        address = self.config.daemon.metrics
        return f"metrics on http://{address}/metrics" if address else "metrics endpoint off"

    # --- the scheduler's thread -----------------------------------------------------------
    def _job(self, run: Callable[[], object] | None = None) -> None:
        """One scheduled run: the scan (or ``run``) in a daemon thread this job waits on.

        The scheduler's worker thread cannot be abandoned (the interpreter joins it at
        exit); a daemon thread can. So a stop while the scan is still reading returns at
        once and the process exits; a scan past its release gate is waited for.
        """
        if self._abandon():
            return
        target = run or self.scan_once
        worker = threading.Thread(target=target, name="leasewatch-scan", daemon=True)
        worker.start()
        while worker.is_alive():
            worker.join(POLL)
            if self._abandon():
                log.info("stopping: abandoning the scan in progress (no release had started)")
                return

    def _abandon(self) -> bool:
        """Stopping, and no scan is past its release gate."""
        with self._lock:
            return self._stopping and not self._releasing

    def _warn_if_slow(self, config: Config, duration: float) -> None:
        """Say once that scans outlast the interval (the scheduler then skips runs)."""
        every = config.daemon.every
        if self._warned_slow or config.daemon.cron is not None or every is None:
            return
        if duration >= every.total_seconds():
            self._warned_slow = True
            log.warning(
                "a scan took %.1fs, longer than every = %r: runs that fall due meanwhile are "
                "skipped (one at a time); consider a longer interval",
                duration,
                format_duration(every),
            )

    def _may_release(self) -> bool:
        """The scan's ``should_stop``: True abandons it; False commits it to finish."""
        with self._lock:
            if self._stopping:
                return True
            self._releasing = True
            return False

    def scan_once(self) -> ScanResult | None:
        """Run one scan now; log and count what went wrong; never raise a leasewatch Error."""
        with self._scan_lock:
            try:
                return self._scan_locked()
            finally:
                # Only now: until the result is recorded, a stop waits for a scan past its
                # gate.
                with self._lock:
                    self._releasing = False

    def _scan_locked(
        self, *, only_macs: Set[str] | None = None, trigger: str = "scan", reuse: str | None = None
    ) -> ScanResult | None:
        with self._lock:
            config, scanner = self.config, self._scanner
        started = time.monotonic()
        try:
            state = State.open(config.state.path)
            try:
                result = scanner.scan(
                    state, should_stop=self._may_release, only_macs=only_macs, reuse=reuse
                )
            finally:
                state.close()
        except ScanStopped:
            log.info("scan abandoned before any release: stopping")
            return None
        except Error as exc:
            self.metrics.record_failure(duration=time.monotonic() - started)
            log.error("scan failed: %s", exc)
            return None
        except Exception:
            # A bug, not a fault of the data: one scan is lost, the service goes on, and the
            # traceback is logged so it can be reported.
            self.metrics.record_failure(duration=time.monotonic() - started)
            log.exception("scan crashed (a leasewatch bug; please report it)")
            return None
        duration = time.monotonic() - started
        for problem in self.metrics.record(result, duration=duration):
            log.warning("%s", problem.message)
        self._warn_if_slow(config, duration)
        analysis = result.analysis
        log.info(
            "%s done in %.2fs: %d networks, %d live, %d orphans, %d unknown, %d unwatched, %d %s",
            trigger,
            duration,
            len(analysis.networks),
            analysis.live,
            len(analysis.orphans),
            len(analysis.unknown),
            analysis.unwatched,
            result.released
            if result.applied
            else sum(r.action is Action.RELEASE for r in result.plan),
            "released" if result.applied else "would be released (dry run)",
        )
        return result


# --- logging ------------------------------------------------------------------------------
# journald keeps its own timestamps, so the text format has none: "warning leasewatch.daemon:
# message". Under systemd (JOURNAL_STREAM names our stderr) each line also starts with the
# sd-daemon(3) priority prefix "<4>", which journald strips and turns into the priority.
_SD_PRIORITY = {
    logging.DEBUG: 7,
    logging.INFO: 6,
    logging.WARNING: 4,
    logging.ERROR: 3,
    logging.CRITICAL: 2,
}


class TextFormatter(logging.Formatter):
    """``level name: message`` on one line, with a journald priority prefix when useful."""

    def __init__(self, journald: bool = False) -> None:
        super().__init__()
        self.journald = journald

    def format(self, record: logging.LogRecord) -> str:
        message = printable(record.getMessage())  # a hostname cannot forge a log line
        if record.exc_info:
            message += "\n" + self.formatException(record.exc_info)
        line = f"{record.levelname.lower()} {record.name}: {message}"
        if self.journald:
            line = f"<{_SD_PRIORITY.get(record.levelno, 6)}>{line}"
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (and the traceback, if any)."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, str] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            doc["traceback"] = self.formatException(record.exc_info)
        return json.dumps(doc)


def _is_journal(stream: TextIO, environ: Mapping[str, str]) -> bool:
    """Whether ``stream`` is the journal stream systemd gave us (systemd.exec(5))."""
    value = environ.get("JOURNAL_STREAM", "")
    if ":" not in value:
        return False
    try:
        st = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return value == f"{st.st_dev}:{st.st_ino}"


def setup_logging(stream: TextIO, fmt: str, *, debug: bool, environ: Mapping[str, str]) -> None:
    """Daemon logging: INFO by default (DEBUG with --debug), to ``stream`` only."""
    handler = logging.StreamHandler(stream)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter(journald=_is_journal(stream, environ)))
    level = logging.DEBUG if debug else logging.INFO
    root = logging.getLogger("leasewatch")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    # scan.py logs each unreadable source at INFO; the daemon logs the same fault once at
    # WARNING (with metrics), so keep scan.py's line for --debug only.
    logging.getLogger("leasewatch.scan").setLevel(logging.DEBUG if debug else logging.WARNING)
    # APScheduler warns at every run skipped because the previous scan still runs (the
    # daemon says that once itself); its errors (a job that crashed) still show.
    aps = logging.getLogger("apscheduler")
    aps.handlers[:] = [handler]
    aps.setLevel(logging.DEBUG if debug else logging.ERROR)
    aps.propagate = False


def run(config_path: Path, environ: Mapping[str, str]) -> int:
    """Build and run the daemon (``leasewatch daemon``)."""
    return Daemon(config_path, environ).run()


__all__ = ["Daemon", "JsonFormatter", "TextFormatter", "make_trigger", "run", "setup_logging"]
