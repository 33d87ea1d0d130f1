"""``--format json``: the documented, stable schemas (see README, "JSON schema").

Values are exact (a hostname keeps its control characters; ``json`` escapes them), and so are
counts: an IPv6 pool's size is an integer beyond 2**53 (a /64: 2**64), written as a JSON
number that a consumer must parse as a big integer.
"""

from __future__ import annotations

import json
from datetime import datetime
from itertools import islice
from typing import Any, TextIO

from leasewatch.app import results
from leasewatch.core.forecast import Forecasts, as_dict
from leasewatch.model import (
    Analysis,
    AuditRecord,
    Finding,
    InventorySnapshot,
    Lease,
    NetworkUsage,
    Pair,
    PoolUsage,
)
from leasewatch.report.interface import Output, nothing_to_show

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
        "kind": p.kind.value,
        "delegated_len": p.delegated_len,
    }


def lease(lease: Lease) -> dict[str, Any]:
    return {
        "server": lease.server,
        "ip": str(lease.ip),
        "mac": lease.mac,
        "hostname": lease.hostname,
        "starts": _time(lease.starts),
        "ends": _time(lease.ends),
        "kind": lease.kind.value,
        "prefix_len": lease.prefix_len,
        "duid": lease.duid,
        "iaid": lease.iaid,
        "mac_source": lease.mac_source.value if lease.mac is not None else None,
    }


def finding(f: Finding) -> dict[str, Any]:
    return {
        **lease(f.lease),
        "network": f.network,
        "verdict": f.verdict.value,
        "reason": f.reason,
        "reason_code": f.code.value,
        "missing_since": _time(f.missing_since),
    }


def _with_forecast(n: NetworkUsage, forecasts: Forecasts) -> dict[str, Any]:
    f = forecasts.get((n.server, n.name))
    return {**network(n), "forecast": as_dict(f) if f is not None else None}


def pair(p: Pair) -> dict[str, Any]:
    return {
        "name": p.name,
        "kind": p.kind,
        "relationship": p.relationship,
        "mode": p.mode.value,
        "release": p.release.value,
        "members": [
            {
                "server": m.server,
                "role": m.role,
                "state": m.state,
                "normal": m.normal,
                "state_from": m.state_from or None,
                "readable": m.readable,
                "error": m.error,
            }
            for m in p.members
        ],
        "unconfigured_peers": list(p.unconfigured),
        "hold": p.reason,
        "hold_code": p.hold.value if p.hold is not None else None,
    }


def document(analysis: Analysis, forecasts: Forecasts | None = None) -> dict[str, Any]:
    """The report; with ``forecasts``, each network carries a ``forecast`` object (or null).
    A pair's networks and pools are listed once, named by the pair (``pair``)."""
    paired = {p.name for p in analysis.pairs}

    def named(row: dict[str, Any]) -> dict[str, Any]:
        return {**row, "pair": row["server"] if row["server"] in paired else None}

    return {
        "schema": SCHEMA_VERSION,
        "generated_at": _time(analysis.now),
        "networks": [
            named(network(n) if forecasts is None else _with_forecast(n, forecasts))
            for n in analysis.networks
        ],
        "pools": [named(pool(p)) for p in analysis.pools],
        "pairs": [pair(p) for p in analysis.pairs],
        "orphans": [finding(f) for f in analysis.orphans],
        "unknown": [finding(f) for f in analysis.unknown],
        "live": analysis.live,
        "unwatched": analysis.unwatched,
        "outside": [lease(x) for x in analysis.outside],
        "inventories": [inventory(i) for i in analysis.inventories],
        "errors": list(analysis.errors),
        "warnings": list(analysis.warnings),
    }


def inventory(i: InventorySnapshot, *, macs: bool = False) -> dict[str, Any]:
    return {
        "source": i.source,
        "kind": i.kind,
        "healthy": i.healthy,
        "reason": i.reason,
        "vms": len(i.macs),
        "duration": round(i.duration, 3),
        **({"macs": sorted(i.macs)} if macs else {}),
    }


def record(r: AuditRecord) -> dict[str, Any]:
    return {
        "at": _time(r.at),
        "server": r.server,
        "ip": str(r.ip),
        "mac": r.mac,
        "hostname": r.hostname,
        "reason": r.reason,
        "reason_code": r.code.value if r.code is not None else None,
        "outcome": r.outcome.value,
        "detail": r.detail,
    }


def dump(doc: object, out: TextIO) -> None:
    # Written in pieces of many chunks: ``json.dump`` writes each of the ~700,000 chunks of
    # a 10,000-orphan report to the stream on its own, a system call each when stdout is
    # unbuffered (PYTHONUNBUFFERED, as containers and services often set): 0.65 s to a file
    # where this takes 0.09 s, as ``json.dump`` does to a buffered stream (bench/).
    # ``json.dumps`` joins them all at once (as fast, but 10 MB more at the report's peak).
    # orjson (0.02 s) writes floats and non-ASCII text otherwise than ``json`` and refuses
    # integers above 2**64 (an IPv6 pool's size); the C encoder writes no indentation.
    chunks = _ENCODER.iterencode(doc)
    while piece := "".join(islice(chunks, _PIECE)):
        out.write(piece)
    out.write("\n")


_ENCODER = json.JSONEncoder(indent=2, default=str)
_PIECE = 1 << 14  # chunks of the encoder per write


def render(analysis: Analysis, out: TextIO, forecasts: Forecasts | None = None) -> None:
    dump(document(analysis, forecasts), out)


def report(result: results.Report, output: Output) -> None:
    if nothing_to_show(result.analysis, output):
        return
    dump(document(result.analysis, result.forecasts), output.out)


def scan(result: results.Scan, output: Output) -> None:
    doc = document(result.analysis, result.forecasts)
    doc["applied"] = result.applied
    doc["releases"] = [record(r) for r in result.records]
    doc["plan"] = [
        {**finding(r.finding), "action": r.action.value, "why": r.reason, "why_code": r.code.value}
        for r in result.plan
    ]
    dump(doc, output.out)
    for message in result.alert_errors:
        output.error(f"alert not delivered: {message}")


def released(result: results.Released, output: Output) -> None:
    for warning in result.warnings:
        output.error(f"warning: {warning}")
    dump([record(r) for r in result.records], output.out)


def audit(result: results.Audit, output: Output) -> None:
    dump([record(r) for r in result.records], output.out)


def inventories(result: results.Inventory, output: Output) -> None:
    dump([inventory(s, macs=result.macs) for s in result.snapshots], output.out)
    if not result.snapshots:
        output.error("no [[inventory]] sources configured")


def advising(result: results.Advising, output: Output) -> None:
    from leasewatch.core.advice import as_dict as advice_dict

    dump([advice_dict(a) for a in result.advice], output.out)


def config_check(result: results.ConfigCheck, output: Output) -> None:
    dump(result.redacted, output.out)
    for warning in result.warnings:
        output.error(f"warning: {warning}")
    print(f"{result.path}: ok", file=output.err)
