"""Plain lines for the commands a script or a person reads line by line: ``release``,
``why``, ``alert-test``. Network-chosen text passes through ``printable``."""

from __future__ import annotations

from leasewatch.app.results import AlertTest, Explanation, Released
from leasewatch.printable import printable
from leasewatch.report.interface import Output, nothing_to_show


def released(result: Released, output: Output) -> None:
    for warning in result.warnings:
        output.error(f"warning: {printable(warning)}")
    for r in result.records:
        print(
            f"{r.outcome.value}: {r.ip} {r.mac or '-'} on {r.server}"
            + (f" ({printable(r.detail)})" if r.detail else ""),
            file=output.out,
        )
    if not result.records:
        output.error("no active lease matches")


def explanation(result: Explanation, output: Output) -> None:
    if nothing_to_show(result.analysis, output):
        return
    for number, answer in enumerate(result.answers):
        if number:
            print(file=output.out)
        for line in answer.lines():
            print(printable(line), file=output.out)
    if result.answers:
        return
    output.error(f"no active lease for {printable(result.target)}")
    last = result.last_attempt
    if last is not None:
        print(
            f"last release attempt: {last.at:%Y-%m-%d %H:%M:%S} {last.outcome.value} "
            f"on {last.server} ({last.ip})",
            file=output.out,
        )


def alert_test(result: AlertTest, output: Output) -> None:
    if not result.deliveries:
        output.error("no [[alerts.webhooks]] configured")
    for d in result.deliveries:
        # the error names the webhook and its format already
        line = f"{d.webhook} ({d.format}): delivered" if d.ok else str(d.error)
        print(line, file=output.out if d.ok else output.err)
