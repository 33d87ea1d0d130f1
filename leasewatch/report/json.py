"""``report --format json``: the documented, stable schema (see README, "JSON schema")."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, TextIO

from leasewatch.core.forecast import Forecasts, as_dict
from leasewatch.model import Analysis, Finding, Lease, NetworkUsage, PoolUsage

SCHEMA_VERSION = 2


def _time(t: datetime | None) -> str | None:
    return t.isoformat(timespec="seconds") if t is not None else None


def network(n: NetworkUsage) -> dict[str, Any]:
    return {
        "server": n.server,
        "name": n.name,
        "size": n.size,
        "active": n.active,
        "backup": n.backup,
        "abandoned": n.abandoned,
        "free": n.free,
        "utilization": round(n.utilization, 4),
        "level": n.level.value,
    }


def pool(p: PoolUsage) -> dict[str, Any]:
    return {
        "server": p.server,
        "network": p.network,
        "subnet": str(p.subnet),
        "first": str(p.first),
        "last": str(p.last),
        "size": p.size,
        "active": p.active,
        "backup": p.backup,
        "abandoned": p.abandoned,
        "free": p.free,
        "utilization": round(p.utilization, 4),
        "level": p.level.value,
    }


def lease(lease: Lease) -> dict[str, Any]:
    return {
        "server": lease.server,
        "ip": str(lease.ip),
        "mac": lease.mac,
        "hostname": lease.hostname,
        "starts": _time(lease.starts),
        "ends": _time(lease.ends),
    }


def finding(f: Finding) -> dict[str, Any]:
    return {
        **lease(f.lease),
        "network": f.network,
        "verdict": f.verdict.value,
        "reason": f.reason,
        "missing_since": _time(f.missing_since),
    }


def _with_forecast(n: NetworkUsage, forecasts: Forecasts) -> dict[str, Any]:
    f = forecasts.get((n.server, n.name))
    return {**network(n), "forecast": as_dict(f) if f is not None else None}


def document(analysis: Analysis, forecasts: Forecasts | None = None) -> dict[str, Any]:
    """The report; with ``forecasts``, each network carries a ``forecast`` object (or null)."""
    return {
        "schema": SCHEMA_VERSION,
        "generated_at": _time(analysis.now),
        "networks": [
            network(n) if forecasts is None else _with_forecast(n, forecasts)
            for n in analysis.networks
        ],
        "pools": [pool(p) for p in analysis.pools],
        "orphans": [finding(f) for f in analysis.orphans],
        "unknown": [finding(f) for f in analysis.unknown],
        "live": analysis.live,
        "unwatched": analysis.unwatched,
        "outside": [lease(x) for x in analysis.outside],
        "inventories": [
            {
                "source": i.source,
                "kind": i.kind,
                "healthy": i.healthy,
                "reason": i.reason,
                "vms": len(i.macs),
                "duration": round(i.duration, 3),
            }
            for i in analysis.inventories
        ],
        "errors": list(analysis.errors),
        "warnings": list(analysis.warnings),
    }


def render(analysis: Analysis, out: TextIO, forecasts: Forecasts | None = None) -> None:
    json.dump(document(analysis, forecasts), out, indent=2)
    out.write("\n")
