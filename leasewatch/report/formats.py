"""The renderer of every (result, format) pair, chosen from one map.

``tests/report/test_formats.py`` checks that every format a result declares in its
``FORMATS`` has a renderer here, and that nothing here is unreachable.
"""

from __future__ import annotations

from collections.abc import Mapping

from leasewatch.app import results
from leasewatch.app.results import Format
from leasewatch.report import csv, history, json, macpool, nagios, records, table, text
from leasewatch.report.interface import Output, Renderer

RENDERERS: Mapping[tuple[type, Format], Renderer] = {
    (results.Report, Format.TABLE): table.report,
    (results.Report, Format.JSON): json.report,
    (results.Report, Format.CSV): csv.report,
    (results.Check, Format.NAGIOS): nagios.check,
    (results.Scan, Format.TABLE): table.scan,
    (results.Scan, Format.JSON): json.scan,
    (results.Released, Format.TEXT): text.released,
    (results.Released, Format.JSON): json.released,
    (results.Audit, Format.TABLE): records.audit,
    (results.Audit, Format.JSON): json.audit,
    (results.Inventory, Format.TABLE): records.inventory,
    (results.Inventory, Format.JSON): json.inventories,
    (results.Explanation, Format.TEXT): text.explanation,
    (results.Advising, Format.TABLE): history.advising,
    (results.Advising, Format.JSON): json.advising,
    (results.History, Format.TABLE): history.history,
    (results.AlertTest, Format.TEXT): text.alert_test,
    (results.ConfigCheck, Format.JSON): json.config_check,
    (results.MacTaken, Format.TEXT): macpool.taken,
    (results.MacTaken, Format.JSON): macpool.taken_json,
    (results.MacGiven, Format.TEXT): macpool.given,
    (results.MacList, Format.TABLE): macpool.listing,
    (results.MacList, Format.JSON): macpool.listing_json,
}


def render(result: object, fmt: Format | str | None, output: Output) -> None:
    """Show ``result`` in ``fmt`` (its first format when None)."""
    formats: tuple[Format, ...] = getattr(type(result), "FORMATS")  # noqa: B009
    chosen = formats[0] if fmt is None else Format(fmt)
    RENDERERS[(type(result), chosen)](result, output)
