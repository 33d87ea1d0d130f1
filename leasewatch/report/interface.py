"""What every renderer shares: where it writes, and the shape of a renderer.

A renderer is a function ``(result, Output) -> None`` for one (result type, format) pair;
``leasewatch.report.formats.RENDERERS`` maps every pair a result declares in its
``FORMATS`` to one (a test checks that none is missing). Data goes to ``out`` (or
``console``, over the same stream); diagnostics a person reads go to ``err``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from leasewatch.app.results import unreadable_errors
from leasewatch.model import Analysis
from leasewatch.printable import printable

if TYPE_CHECKING:
    from rich.console import Console

# The narrowest terminal leasewatch lays out for: addresses are never cut at this width.
MIN_WIDTH = 80


@dataclass(frozen=True)
class Output:
    """The streams of one command: ``console`` writes to ``out`` at ``console.width``.

    The console is made on first use, so a renderer that prints plain text (Nagios, JSON)
    never loads rich.
    """

    out: TextIO
    err: TextIO
    make_console: Callable[[], Console]

    @functools.cached_property
    def console(self) -> Console:
        return self.make_console()

    @property
    def width(self) -> int:
        return max(self.console.width, MIN_WIDTH)

    def error(self, message: str) -> None:
        """One diagnostic line on stderr, as the CLI prints its errors."""
        print(f"leasewatch: {message}", file=self.err)


Renderer = Callable[[Any, Output], None]


def nothing_to_show(analysis: Analysis, output: Output) -> bool:
    """When nothing could be read, print why (one line per cause) and show nothing else:
    an empty table or document would read as "all is well"."""
    lines = unreadable_errors(analysis)
    for line in lines:
        output.error(f"error: {printable(line)}")
    return bool(lines)
