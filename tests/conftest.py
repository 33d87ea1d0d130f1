"""Project-wide test settings: a skipped test is a failure here (CI counts it as one)."""

from __future__ import annotations

import pytest

# The real-server lab's fixtures (isc_lab, ...), shared by tests/lab and tests/reaper; the
# wire fakes' (xapi, pve, pve_cert), shared by the inventory, events and daemon tests.
pytest_plugins = ("lab.fixtures", "tests.fakes")

_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Remember every skipped test, whatever made it skip (a mark, a fixture, an import)."""
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when anything was skipped: every test must run on this machine."""
    if _skipped and exitstatus == 0:
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say why the run failed when only skips made it fail."""
    if _skipped:
        terminalreporter.write_line(
            f"FAILED: {len(_skipped)} test(s) skipped; skips count as failures here: "
            + ", ".join(_skipped[:5]),
            red=True,
        )
