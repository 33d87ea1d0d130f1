"""Carrying out a plan: the one place where dry run and apply part ways.

Every attempted release (and every refusal by a protection or a limit) becomes an audit
record. A backend that fails to connect stops further releases on that server for this run:
the next scan tries again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from leasewatch.errors import ReleaseError
from leasewatch.model import Action, AuditRecord, Outcome, Release
from leasewatch.reaper.interface import ReleaseBackend
from leasewatch.reaper.plan import LIMIT_REASONS


def execute(
    releases: Sequence[Release],
    backends: Mapping[str, ReleaseBackend],
    *,
    apply: bool,
    clock: Callable[[], datetime],
) -> tuple[AuditRecord, ...]:
    """Release what the plan allows when ``apply``; otherwise report each as a dry run."""
    records: list[AuditRecord] = []
    failed_servers: dict[str, str] = {}
    for release in releases:
        lease = release.finding.lease
        if release.action is Action.KEEP:
            if apply and any(word in release.reason for word in LIMIT_REASONS):
                records.append(_record(release, Outcome.REFUSED, release.reason, clock()))
            continue
        if not apply:
            records.append(_record(release, Outcome.DRY_RUN, "", clock()))
            continue
        if lease.server in failed_servers:
            records.append(_record(release, Outcome.FAILED, failed_servers[lease.server], clock()))
            continue
        backend = backends.get(lease.server)
        if backend is None:
            records.append(_record(release, Outcome.REFUSED, "no release backend", clock()))
            continue
        try:
            outcome, detail = backend.release(lease)
        except ReleaseError as exc:
            failed_servers[lease.server] = str(exc)
            records.append(_record(release, Outcome.FAILED, str(exc), clock()))
            continue
        records.append(_record(release, outcome, detail, clock()))
    for backend in backends.values():
        backend.close()
    return tuple(records)


def _record(release: Release, outcome: Outcome, detail: str, at: datetime) -> AuditRecord:
    lease = release.finding.lease
    return AuditRecord(
        at=at,
        server=lease.server,
        ip=lease.ip,
        mac=lease.mac,
        hostname=lease.hostname,
        reason=release.reason,
        outcome=outcome,
        detail=detail,
    )
