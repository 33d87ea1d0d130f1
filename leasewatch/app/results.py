"""What each command returns: frozen values a renderer turns into text.

Each result names the formats it can be shown in (``FORMATS``, the first is the default)
and knows its own exit status, so the CLI only parses, calls, renders and returns.
``leasewatch.report.formats`` maps every (result, format) pair to its renderer.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from leasewatch.core.advice import Advice
from leasewatch.core.forecast import Forecasts, Sample
from leasewatch.core.why import Why
from leasewatch.model import (
    Analysis,
    AuditRecord,
    InventorySnapshot,
    Level,
    Outcome,
    Release,
    Thresholds,
)


class ExitStatus(enum.IntEnum):
    """Exit codes (README, "Exit codes"). ``check`` uses the Nagios codes 0-3 instead."""

    OK = 0
    ERROR = 1  # the job could not be done (nothing readable, a release failed)
    USAGE = 2  # bad command line (argparse's own code)
    CONFIG = 3  # the config file is missing or invalid
    PARTIAL = 4  # done, but a server or inventory could not be read or trusted
    INTERRUPTED = 130


class NagiosStatus(enum.IntEnum):
    """The monitoring plugin codes ``check`` exits with."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3


class Format(enum.StrEnum):
    """How a result can be shown (``--format``)."""

    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    NAGIOS = "nagios"
    TEXT = "text"


if TYPE_CHECKING:  # alerts imports requests: only for the type checker
    from leasewatch.alerts import Delivery
    from leasewatch.macpool.choose import Choice, Entry
    from leasewatch.macpool.commands import Given


def unreadable(analysis: Analysis) -> bool:
    """Nothing could be read: every configured server failed, or none yielded a pool."""
    if not analysis.servers:
        return False
    if all(s.error for s in analysis.servers):
        return True
    return not analysis.networks


def analysis_status(analysis: Analysis) -> ExitStatus:
    """OK; PARTIAL when something could not be read or trusted; ERROR when nothing could."""
    if unreadable(analysis):
        return ExitStatus.ERROR
    return ExitStatus.PARTIAL if analysis.errors else ExitStatus.OK


def unreadable_errors(analysis: Analysis) -> list[str]:
    """When nothing could be read, why (one line per cause); else nothing."""
    if not unreadable(analysis):
        return []
    lines = [s.error for s in analysis.servers if s.error]
    read = [s.server for s in analysis.servers if not s.error]
    if read:
        lines.append(
            f"no pools found on {', '.join(read)}: its configuration names no dynamic range "
            "(check dhcpd_conf, or the Kea subnets' pools)"
        )
    return lines


@dataclass(frozen=True)
class Report:
    """``leasewatch report``: one analysis and the forecasts made from it."""

    FORMATS: ClassVar[tuple[Format, ...]] = (Format.TABLE, Format.JSON, Format.CSV)

    analysis: Analysis
    forecasts: Forecasts = field(default_factory=dict)
    show_all: bool = False
    window: timedelta | None = None  # the forecast window (the "?" footnote names it)

    @property
    def status(self) -> ExitStatus:
        return analysis_status(self.analysis)


_BY_LEVEL = {Level.OK: NagiosStatus.OK, Level.WARN: NagiosStatus.WARNING,
             Level.CRITICAL: NagiosStatus.CRITICAL}  # fmt: skip


@dataclass(frozen=True)
class Check:
    """``leasewatch check``: the worst network decides, and what could not be read is UNKNOWN.

    Modelled on dhcpd-pools' alarm mode: an unreadable server, an unhealthy inventory or a
    configured server that yields no pool is UNKNOWN unless a network is already CRITICAL;
    a warning from reading (part of a file skipped) makes an otherwise OK check WARNING.
    """

    FORMATS: ClassVar[tuple[Format, ...]] = (Format.NAGIOS,)

    analysis: Analysis | None
    error: str | None = None  # the config or state could not be read at all

    @property
    def status(self) -> NagiosStatus:
        analysis = self.analysis
        if analysis is None:
            return NagiosStatus.UNKNOWN
        status = NagiosStatus.OK
        for n in analysis.networks:
            status = max(status, _BY_LEVEL[n.level])
        if status is not NagiosStatus.CRITICAL and (analysis.errors or unreadable(analysis)):
            status = NagiosStatus.UNKNOWN
        # Never silently green: input read only in part (a cut-off tail, NUL bytes, bare CR,
        # skipped lines) is at least a WARNING, so a monitor sees it while the pools look fine.
        if status is NagiosStatus.OK and analysis.warnings:
            status = NagiosStatus.WARNING
        return status


@dataclass(frozen=True)
class Scan:
    """``leasewatch scan``: what one scan saw, planned and did, and the forecasts after it."""

    FORMATS: ClassVar[tuple[Format, ...]] = (Format.TABLE, Format.JSON)

    analysis: Analysis
    plan: tuple[Release, ...]
    records: tuple[AuditRecord, ...]
    applied: bool
    alert_errors: tuple[str, ...] = ()
    forecasts: Forecasts = field(default_factory=dict)
    show_all: bool = False
    window: timedelta | None = None

    @property
    def status(self) -> ExitStatus:
        if any(r.outcome is Outcome.FAILED for r in self.records):
            return ExitStatus.ERROR
        return analysis_status(self.analysis)


@dataclass(frozen=True)
class Released:
    """``leasewatch release``: one record per lease the command acted on (or refused)."""

    FORMATS: ClassVar[tuple[Format, ...]] = (Format.TEXT, Format.JSON)

    records: tuple[AuditRecord, ...]
    warnings: tuple[str, ...] = ()  # servers that could not be read (not the lease's)

    @property
    def status(self) -> ExitStatus:
        good = {Outcome.RELEASED, Outcome.DRY_RUN}
        if not self.records:
            return ExitStatus.ERROR
        return ExitStatus.OK if all(r.outcome in good for r in self.records) else ExitStatus.ERROR


@dataclass(frozen=True)
class Audit:
    """``leasewatch audit``: the newest audit records, oldest first."""

    FORMATS: ClassVar[tuple[Format, ...]] = (Format.TABLE, Format.JSON)

    records: tuple[AuditRecord, ...]
    show_all: bool = False

    @property
    def status(self) -> ExitStatus:
        return ExitStatus.OK


@dataclass(frozen=True)
class Inventory:
    """``leasewatch inventory``: what each inventory source sees right now."""

    FORMATS: ClassVar[tuple[Format, ...]] = (Format.TABLE, Format.JSON)

    snapshots: tuple[InventorySnapshot, ...]
    macs: bool = False

    @property
    def status(self) -> ExitStatus:
        return ExitStatus.OK if all(s.healthy for s in self.snapshots) else ExitStatus.PARTIAL


@dataclass(frozen=True)
class Explanation:
    """``leasewatch why``: the verdict on every active lease the target names."""

    FORMATS: ClassVar[tuple[Format, ...]] = (Format.TEXT,)

    target: str
    answers: tuple[Why, ...]
    last_attempt: AuditRecord | None
    analysis: Analysis

    @property
    def status(self) -> ExitStatus:
        return analysis_status(self.analysis) if self.answers else ExitStatus.ERROR


@dataclass(frozen=True)
class Advising:
    """``leasewatch advise``: churn and lease-time advice per network."""

    FORMATS: ClassVar[tuple[Format, ...]] = (Format.TABLE, Format.JSON)

    advice: tuple[Advice, ...]

    @property
    def status(self) -> ExitStatus:
        return ExitStatus.OK


@dataclass(frozen=True)
class History:
    """``leasewatch history``: the stored samples of a time range, to be bucketed."""

    FORMATS: ClassVar[tuple[Format, ...]] = (Format.TABLE,)

    samples: tuple[Sample, ...]
    now: datetime
    since: timedelta
    buckets: int
    thresholds_for: Callable[[str], Thresholds]

    @property
    def status(self) -> ExitStatus:
        return ExitStatus.OK


@dataclass(frozen=True)
class AlertTest:
    """``leasewatch alert-test``: one delivery per webhook."""

    FORMATS: ClassVar[tuple[Format, ...]] = (Format.TEXT,)

    deliveries: tuple[Delivery, ...]

    @property
    def status(self) -> ExitStatus:
        if not self.deliveries:
            return ExitStatus.ERROR
        return ExitStatus.OK if all(d.ok for d in self.deliveries) else ExitStatus.ERROR


@dataclass(frozen=True)
class ConfigCheck:
    """``leasewatch check-config``: the config as loaded, secrets redacted."""

    FORMATS: ClassVar[tuple[Format, ...]] = (Format.JSON,)

    path: str
    redacted: Mapping[str, Any]
    warnings: tuple[str, ...] = ()

    @property
    def status(self) -> ExitStatus:
        return ExitStatus.OK


@dataclass(frozen=True)
class MacTaken:
    """``leasewatch mac take``: the MAC handed out, and why that one."""

    FORMATS: ClassVar[tuple[Format, ...]] = (Format.TEXT, Format.JSON)

    choice: Choice

    @property
    def status(self) -> ExitStatus:
        return ExitStatus.OK


@dataclass(frozen=True)
class MacGiven:
    """``leasewatch mac give``: the MAC returned to the pool."""

    FORMATS: ClassVar[tuple[Format, ...]] = (Format.TEXT,)

    given: Given

    @property
    def status(self) -> ExitStatus:
        return ExitStatus.OK


@dataclass(frozen=True)
class MacList:
    """``leasewatch mac list``: every pool MAC taken, live or leased."""

    FORMATS: ClassVar[tuple[Format, ...]] = (Format.TABLE, Format.JSON)

    entries: tuple[Entry, ...]
    analysis: Analysis

    @property
    def status(self) -> ExitStatus:
        return analysis_status(self.analysis)


RESULTS: tuple[type, ...] = (
    Report, Check, Scan, Released, Audit, Inventory, Explanation, Advising, History,
    AlertTest, ConfigCheck, MacTaken, MacGiven, MacList,
)  # fmt: skip
