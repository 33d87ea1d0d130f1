"""The renderer of every (result, format) pair, chosen from one map.

``tests/report/test_formats.py`` checks that every format a result declares in its
``FORMATS`` has a renderer here, and that nothing here is unreachable.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from leasewatch.app import results
from leasewatch.app.results import Format
from leasewatch.report.interface import Output, Renderer


def _later(module: str, name: str) -> Renderer:
    """The renderer ``leasewatch.report.<module>.<name>``, imported when first called: a
    command loads only its own format's module (``check`` prints Nagios without rich).
    tests/test_lazy_imports.py resolves every one."""

    def render(result: Any, output: Output) -> None:
        function: Renderer = getattr(importlib.import_module(f"leasewatch.report.{module}"), name)
        function(result, output)

    render.__qualname__ = render.__name__ = f"{module}.{name}"
    return render


RENDERERS: Mapping[tuple[type, Format], Renderer] = {
    (results.Report, Format.TABLE): _later("table", "report"),
    (results.Report, Format.JSON): _later("json", "report"),
    (results.Report, Format.CSV): _later("csv", "report"),
    (results.Check, Format.NAGIOS): _later("nagios", "check"),
    (results.Scan, Format.TABLE): _later("table", "scan"),
    (results.Scan, Format.JSON): _later("json", "scan"),
    (results.Released, Format.TEXT): _later("text", "released"),
    (results.Released, Format.JSON): _later("json", "released"),
    (results.Audit, Format.TABLE): _later("records", "audit"),
    (results.Audit, Format.JSON): _later("json", "audit"),
    (results.Inventory, Format.TABLE): _later("records", "inventory"),
    (results.Inventory, Format.JSON): _later("json", "inventories"),
    (results.Explanation, Format.TEXT): _later("text", "explanation"),
    (results.Advising, Format.TABLE): _later("history", "advising"),
    (results.Advising, Format.JSON): _later("json", "advising"),
    (results.History, Format.TABLE): _later("history", "history"),
    (results.AlertTest, Format.TEXT): _later("text", "alert_test"),
    (results.ConfigCheck, Format.JSON): _later("json", "config_check"),
    (results.MacTaken, Format.TEXT): _later("macpool", "taken"),
    (results.MacTaken, Format.JSON): _later("macpool", "taken_json"),
    (results.MacGiven, Format.TEXT): _later("macpool", "given"),
    (results.MacList, Format.TABLE): _later("macpool", "listing"),
    (results.MacList, Format.JSON): _later("macpool", "listing_json"),
}


def render(result: object, fmt: Format | str | None, output: Output) -> None:
    """Show ``result`` in ``fmt`` (its first format when None)."""
    formats: tuple[Format, ...] = getattr(type(result), "FORMATS")  # noqa: B009
    chosen = formats[0] if fmt is None else Format(fmt)
    RENDERERS[(type(result), chosen)](result, output)
