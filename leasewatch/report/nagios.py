"""``leasewatch check``: one Nagios/Icinga plugin line with perfdata, exit 0/1/2/3.

Modelled on dhcpd-pools' alarm mode (``--warning``/``--critical``): the worst network
decides the status (``Check.status``); what could not be read is UNKNOWN unless a network
is already CRITICAL, and a configured server that yields no pool is never OK.
"""

from __future__ import annotations

from leasewatch.app.results import Check, NagiosStatus, unreadable_errors
from leasewatch.model import Analysis, Level, figure
from leasewatch.printable import printable
from leasewatch.report.interface import Output


def _label(text: str) -> str:
    # perfdata labels are quoted when they hold spaces or '='; a quote inside is doubled
    return "'" + text.replace("'", "''") + "'"


def line(result: Check) -> str:
    """The single output line (text | perfdata)."""
    status = result.status
    analysis = result.analysis
    if analysis is None:
        return f"DHCP {NagiosStatus.UNKNOWN.name}: {printable(result.error or 'no analysis')}"
    return f"DHCP {status.name}: {_text(analysis)} | {_perfdata(analysis)}"


def _text(analysis: Analysis) -> str:
    bad = [n for n in analysis.networks if n.level is not Level.OK]
    if bad:
        summary = ", ".join(
            f"{n.name} {n.utilization:.0%} ({figure(n.free)} free)"
            for n in sorted(bad, key=lambda n: -n.utilization)
        )
    elif analysis.networks:
        top = max(analysis.networks, key=lambda n: n.utilization)
        many = len(analysis.networks)
        summary = (
            f"{many} network{'s' if many != 1 else ''} ok, fullest {top.name} {top.utilization:.0%}"
        )
    else:
        summary = "no pools found"
    parts = [summary]
    if analysis.orphans:
        count = len(analysis.orphans)
        parts.append(f"{count} orphaned lease{'s' if count != 1 else ''}")
    problems = list(analysis.errors)
    problems += [e for e in unreadable_errors(analysis) if e not in problems]
    if problems:
        parts.append("; ".join(problems))
    if analysis.warnings:
        many = len(analysis.warnings)
        more = f" (+{many - 1} more)" if many > 1 else ""
        parts.append(f"warning: {analysis.warnings[0]}{more}")
    return printable("; ".join(parts))


def _perfdata(analysis: Analysis) -> str:
    perf = []
    one_server = len({x.server for x in analysis.networks}) == 1
    for n in analysis.networks:
        label = n.name if one_server else f"{n.server}/{n.name}"
        perf.append(f"{_label(label)}={n.active};;;0;{n.size}")
        perf.append(f"{_label(label + ' util')}={n.utilization * 100:.1f}%;;;0;100")
    perf.append(f"orphans={len(analysis.orphans)};;;0")
    return " ".join(perf)


def check(result: Check, output: Output) -> None:
    print(line(result), file=output.out)
