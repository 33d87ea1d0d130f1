"""Every (result, format) pair has exactly one renderer, and the CLI offers those formats."""

from __future__ import annotations

import argparse

from leasewatch.app import results
from leasewatch.cli import build_parser
from leasewatch.report.formats import RENDERERS


def test_every_result_format_has_a_renderer() -> None:
    """Each result's FORMATS are all in the map, and the map holds nothing else."""
    wanted = {(cls, fmt) for cls in results.RESULTS for fmt in cls.FORMATS}  # type: ignore[attr-defined]
    assert set(RENDERERS) == wanted


def test_cli_format_choices_match_the_results() -> None:
    """``--format`` offers what the command's result can be rendered as, first as default."""
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    offered = {}
    for name, p in sub.choices.items():
        fmt = next((a for a in p._actions if a.dest == "format"), None)
        if fmt is not None:
            offered[name] = tuple(fmt.choices or ())
    assert offered["report"] == tuple(f.value for f in results.Report.FORMATS)
    assert offered["scan"] == tuple(f.value for f in results.Scan.FORMATS)
    assert offered["audit"] == tuple(f.value for f in results.Audit.FORMATS)
    assert offered["inventory"] == tuple(f.value for f in results.Inventory.FORMATS)
    assert offered["advise"] == tuple(f.value for f in results.Advising.FORMATS)
    assert offered["release"] == tuple(f.value for f in results.Released.FORMATS)
