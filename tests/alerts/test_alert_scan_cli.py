"""Alerts through ``leasewatch scan``: once per level change per webhook, then one recovery."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

from leasewatch.cli import Env, main
from tests.alerts.webhook_sink import Sink
from tests.cli_helpers import isc_fixture_config

NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def config(tmp_path: Path, url: str, warn_at: float, critical_at: float) -> Path:
    """The ISC fixtures with a generic webhook whose URL comes from the environment."""
    return isc_fixture_config(
        tmp_path,
        "52:54:00:00:00:0b\n",
        f"""
[alerts]
warn_at = {warn_at}
critical_at = {critical_at}

[[alerts.webhooks]]
name = "ops"
format = "generic"
url_env = "HOOK"
""",
    )


def scan(path: Path, url: str) -> str:
    """One ``leasewatch scan`` in-process; returns everything it printed."""
    out, err = io.StringIO(), io.StringIO()
    env = Env(stdout=out, stderr=err, environ={"HOOK": url}, clock=lambda: NOW, color=False)
    status = main(["-c", str(path), "scan"], env)
    assert status == 0, err.getvalue()
    return out.getvalue() + err.getvalue()


def test_two_scans_alert_once_then_recover(tmp_path: Path, sink: Sink) -> None:
    """A critical network alerts on the first scan only; lowered usage sends one recovery."""
    url = sink.url("/hooks/T0/s3cr3t-token")
    path = config(tmp_path, url, warn_at=0.1, critical_at=0.2)
    printed = scan(path, url)
    first = [p.json for p in sink.posts("/hooks/T0/s3cr3t-token")]
    levels = {p["network"]: p["level"] for p in first if p["kind"] == "level"}
    assert levels["campus"] == "critical"
    printed += scan(path, url)
    assert len(sink.posts("/hooks/T0/s3cr3t-token")) == len(first)

    path = config(tmp_path, url, warn_at=0.8, critical_at=0.9)
    printed += scan(path, url)
    later = [p.json for p in sink.posts("/hooks/T0/s3cr3t-token")][len(first) :]
    recovered = sorted(p["network"] for p in later if p["kind"] == "recovered")
    assert recovered == sorted(levels)
    assert len(later) == len(levels)
    assert "s3cr3t" not in printed
