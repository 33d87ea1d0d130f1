"""Carrying out a plan: the one place where dry run and apply part ways.

When applying, the audit is written ahead: every release is committed as an
``attempting`` record (with every refusal by a protection or a limit) before the first
server is asked, and each is completed once its server answered. A run killed in between
leaves the attempt on record, and ``leasewatch audit`` shows it unfinished. A backend that
fails to connect stops further releases on that server for this run: the next scan tries
again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from leasewatch.errors import ReleaseError
from leasewatch.model import Action, AuditRecord, Outcome, Release
from leasewatch.reaper.interface import AuditJournal, ReleaseBackend
from leasewatch.reaper.plan import AUDITED_KEEPS


def execute(
    releases: Sequence[Release],
    backends: Mapping[str, ReleaseBackend],
    *,
    apply: bool,
    clock: Callable[[], datetime],
    journal: AuditJournal | None = None,
    audit_keeps: bool = False,
) -> tuple[AuditRecord, ...]:
    """Release what the plan allows when ``apply``; otherwise report each as a dry run.

    Keeps are audited when applying if their reason is in ``AUDITED_KEEPS``, or all of
    them with ``audit_keeps`` (``leasewatch release``: an operator asked for each lease).
    """
    if not apply:
        now = clock()
        return tuple(
            AuditRecord.of(
                r,
                Outcome.DRY_RUN if r.action is Action.RELEASE else Outcome.REFUSED,
                "" if r.action is Action.RELEASE else r.reason,
                now,
            )
            for r in releases
            if r.action is Action.RELEASE or audit_keeps
        )
    now = clock()
    ahead: list[AuditRecord] = []
    todo: list[tuple[int, Release]] = []  # index into ``ahead``
    for release in releases:
        if release.action is Action.KEEP:
            if audit_keeps or release.code in AUDITED_KEEPS:
                ahead.append(AuditRecord.of(release, Outcome.REFUSED, release.reason, now))
            continue
        todo.append((len(ahead), release))
        ahead.append(AuditRecord.of(release, Outcome.ATTEMPTING, "", now))
    keys = journal.begin(ahead) if journal is not None else list(range(len(ahead)))
    records = list(ahead)
    failed_servers: dict[str, str] = {}
    try:
        for index, release in todo:
            outcome, detail = _release(release, backends, failed_servers)
            records[index] = AuditRecord.of(release, outcome, detail, clock())
            if journal is not None:
                journal.finish(keys[index], records[index])
    finally:
        for backend in backends.values():
            backend.close()
    return tuple(records)


def _release(
    release: Release, backends: Mapping[str, ReleaseBackend], failed_servers: dict[str, str]
) -> tuple[Outcome, str]:
    lease = release.finding.lease
    if lease.server in failed_servers:
        return Outcome.FAILED, failed_servers[lease.server]
    backend = backends.get(lease.server)
    if backend is None:
        return Outcome.REFUSED, "no release backend"
    try:
        return backend.release(lease)
    except ReleaseError as exc:
        failed_servers[lease.server] = str(exc)
        return Outcome.FAILED, str(exc)
