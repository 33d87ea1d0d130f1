"""Run the CLI in-process, as a user would, and capture what it prints."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime

from leasewatch.cli import Env, main

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@dataclass
class Run:
    """The exit status and output of one CLI run."""

    status: int
    out: str
    err: str


def run(*argv: str, environ: dict[str, str] | None = None, now: datetime = NOW) -> Run:
    """``leasewatch ARGV`` in-process with a fixed clock and captured streams."""
    out, err = io.StringIO(), io.StringIO()
    env = Env(
        stdout=out,
        stderr=err,
        environ={"COLUMNS": "160", **(environ or {})},
        clock=lambda: now,
        color=False,
    )
    status = main(list(argv), env)
    return Run(status, out.getvalue(), err.getvalue())
