"""``leasewatch mac take|give|list``: the MAC pool's results, in words, a table or JSON."""

from __future__ import annotations

from leasewatch.app.results import MacGiven, MacList, MacTaken
from leasewatch.macpool import render
from leasewatch.printable import printable
from leasewatch.report.interface import Output
from leasewatch.report.json import dump


def taken(result: MacTaken, output: Output) -> None:
    """Only the MAC on stdout, for ``MAC=$(leasewatch mac take)``."""
    print(result.choice.mac, file=output.out)
    _passed_over(result, output)


def taken_json(result: MacTaken, output: Output) -> None:
    dump(render.take_doc(result.choice), output.out)
    _passed_over(result, output)


def _passed_over(result: MacTaken, output: Output) -> None:
    warning = render.passed_over(result.choice)
    if warning is not None:
        output.error(printable(warning))


def given(result: MacGiven, output: Output) -> None:
    was = result.given.was
    done = f"was taken by {printable(was.vm or 'an unnamed VM')}" if was else "was free"
    output.error(f"{result.given.mac} returned to the pool ({done})")


def listing(result: MacList, output: Output) -> None:
    render.table(list(result.entries), output.console)


def listing_json(result: MacList, output: Output) -> None:
    dump([render.entry_doc(e) for e in result.entries], output.out)
