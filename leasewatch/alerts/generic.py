"""Generic JSON webhook: one flat, documented object per alert, for scripts and bridges.

Every key is always present (null when it does not apply)::

    {
      "kind": "level",              # level | recovered | reminder | orphans | released |
                                    # source_down | source_up | test | forecast
      "site": "fra1",               # [daemon] site; null when not set
      "server": "dhcp1",            # DHCP server, or the source's name for source_* kinds
      "network": "lab",             # shared network or subnet; "" when none
      "level": "critical",          # ok | warn | critical
      "previous": "warn",           # the level the channel was told before; null if none
      "utilization": 0.9524,        # active / size, 0..1, four decimals
      "size": 21, "active": 20, "free": 1,
      "orphans": 0,                 # new orphans (orphans) or leases released (released)
      "addresses": [],              # the addresses concerned (orphans, released)
      "time": "2024-05-01T12:00:00Z",  # ISO 8601, UTC
      "text": "dhcp1/lab is CRITICAL: ..."   # one human-readable line
    }

It is POSTed as ``application/json``; any 2xx answer counts as delivered. Values are the
alert's own, uncut and unescaped (JSON escapes control characters): a script decides how to
show them.
"""

from __future__ import annotations

from typing import Any

from leasewatch.alerts.interface import Format, WebhookFormat
from leasewatch.alerts.levels import Alert, iso


class Generic(Format):
    """The flat documented object above."""

    name = WebhookFormat.GENERIC

    def payload(self, alert: Alert) -> dict[str, Any]:
        """The JSON body to POST to a generic webhook for ``alert``."""
        return {
            "kind": alert.kind.value,
            "site": alert.site or None,
            "server": alert.server,
            "network": alert.network,
            "level": alert.level.value,
            "previous": alert.previous.value if alert.previous is not None else None,
            "utilization": round(alert.utilization, 4),
            "size": alert.size,
            "active": alert.active,
            "free": alert.free,
            "orphans": alert.orphans,
            "addresses": list(alert.addresses),
            "time": iso(alert.at),
            "text": alert.text,
        }
