"""``--version`` and ``check`` import only what they use (issue 17): checked in a fresh
interpreter through ``sys.modules``, since an import made once stays for the whole run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from leasewatch.report.formats import RENDERERS
from tests.cli_helpers import isc_fixture_config

# libraries a plain-text command never needs: drawing, HTTP, the daemon's, the SDKs
HEAVY = {
    "rich",
    "requests",
    "urllib3",
    "apscheduler",
    "prometheus_client",
    "libvirt",
    "XenAPI",
    "proxmoxer",
}

PROBE = """
import json, sys
from leasewatch import lazy
from leasewatch.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(m for m in list(sys.modules) if lazy.loaded(m))))
"""


def _loaded(*argv: str) -> set[str]:
    """The modules a fresh interpreter really imported to run ``leasewatch ARGV``."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, check=True
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


def _heavy(modules: set[str]) -> set[str]:
    return {m for m in modules if m.split(".")[0] in HEAVY}


def test_version_imports_no_command_and_no_library() -> None:
    """``--version`` loads neither the commands, the scan, rich nor any HTTP or SDK module."""
    loaded = _loaded("--version")
    assert _heavy(loaded) == set()
    assert not {"leasewatch.app.commands", "leasewatch.scan", "sqlite3"} & loaded


def test_check_imports_no_drawing_http_daemon_or_sdk(tmp_path: Path) -> None:
    """``check`` on a real ISC fixture reads, judges and prints Nagios without rich, requests,
    APScheduler, prometheus_client or an SDK; it does run the scan."""
    config = isc_fixture_config(tmp_path, "52:54:00:00:00:01\n")
    loaded = _loaded("-c", str(config), "check")
    assert _heavy(loaded) == set()
    assert "leasewatch.scan" in loaded and "leasewatch.report.nagios" in loaded


def test_a_table_does_load_rich(tmp_path: Path) -> None:
    """The probe sees what is used: ``report`` as a table draws with rich."""
    config = isc_fixture_config(tmp_path, "52:54:00:00:00:01\n")
    assert "rich" in _loaded("-c", str(config), "report", "--format", "table")


def test_every_renderer_resolves() -> None:
    """Each renderer the map imports on first call names a function that exists."""
    import importlib

    for renderer in RENDERERS.values():
        module, name = renderer.__qualname__.split(".")
        assert callable(getattr(importlib.import_module(f"leasewatch.report.{module}"), name))
