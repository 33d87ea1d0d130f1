"""``leasewatch check``: one Nagios/Icinga plugin line with perfdata, exit 0/1/2/3.

Modelled on dhcpd-pools' alarm mode (``--warning``/``--critical``): the worst network
decides the status; an unreadable server or unhealthy inventory is UNKNOWN unless a network
is already CRITICAL.
"""

from __future__ import annotations

import enum

from leasewatch.model import Analysis, Level


class NagiosStatus(enum.IntEnum):
    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3


_BY_LEVEL = {Level.OK: NagiosStatus.OK, Level.WARN: NagiosStatus.WARNING,
             Level.CRITICAL: NagiosStatus.CRITICAL}  # fmt: skip


def _label(text: str) -> str:
    # perfdata labels are quoted when they hold spaces or '='; a quote inside is doubled
    return "'" + text.replace("'", "''") + "'"


def check(analysis: Analysis) -> tuple[NagiosStatus, str]:
    """The status and the single output line (text | perfdata)."""
    status = NagiosStatus.OK
    for n in analysis.networks:
        status = max(status, _BY_LEVEL[n.level])
    if analysis.errors and status is not NagiosStatus.CRITICAL:
        status = NagiosStatus.UNKNOWN
    bad = [n for n in analysis.networks if n.level is not Level.OK]
    if bad:
        summary = ", ".join(
            f"{n.name} {n.utilization:.0%} ({n.free} free)"
            for n in sorted(bad, key=lambda n: -n.utilization)
        )
    elif analysis.networks:
        top = max(analysis.networks, key=lambda n: n.utilization)
        summary = f"{len(analysis.networks)} networks ok, fullest {top.name} {top.utilization:.0%}"
    else:
        summary = "no pools found"
    parts = [f"DHCP {status.name}: {summary}"]
    if analysis.orphans:
        parts.append(f"{len(analysis.orphans)} orphaned leases")
    if analysis.errors:
        parts.append("; ".join(analysis.errors))
    perf = []
    for n in analysis.networks:
        label = (
            n.name if len({x.server for x in analysis.networks}) == 1 else f"{n.server}/{n.name}"
        )
        perf.append(f"{_label(label)}={n.active};;;0;{n.size}")
        perf.append(f"{_label(label + ' util')}={n.utilization * 100:.1f}%;;;0;100")
    perf.append(f"orphans={len(analysis.orphans)};;;0")
    return status, "; ".join(parts) + " | " + " ".join(perf)
