"""ISC dhcpd -6: pools from dhcpd6.conf, current leases from the dhcpd6.leases journal.

``IscLeaseSource`` (``leasewatch.leases.isc``) tells the family from the content of both
files and sends a DHCPv6 pair here. The pools are ``range6`` (addresses; ``temporary``
ones serve IA_TA) and ``prefix6`` (delegated prefixes, counted as prefixes of the delegated
length); the leases are the journal's ``iaaddr`` and ``iaprefix`` blocks after the replay
(``isc6_journal``).

A dhcpd -6 lease names its client by DUID; the MAC a DUID-LLT or DUID-LL holds is weak
evidence (``MacSource.DUID``, see ``leasewatch.leases.duid``). dhcpd's OMAPI reaches only
DHCPv4 lease objects, so a dhcpd -6 server is report-only: the snapshot says so with a
typed reason (``Reason.KEEP_OMAPI_V4_ONLY``) that the plan and ``why`` give.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from leasewatch.leases import isc6_journal
from leasewatch.leases.dhcpd6_conf import Dhcpd6Conf
from leasewatch.leases.duid import duid_text, mac_of_duid
from leasewatch.model import Lease, LeaseList, MacSource, PoolKind, Reason, ServerSnapshot

_KIND = {"na": PoolKind.ADDRESS, "ta": PoolKind.TEMPORARY, "pd": PoolKind.PREFIX}


def _lease(found: isc6_journal.IaLease, server: str) -> Lease:
    mac = mac_of_duid(found.duid)
    kind = _KIND[found.kind]
    return Lease(
        ip=found.address,
        state=found.state,
        mac=mac,
        starts=None if found.starts is None else datetime.fromtimestamp(found.starts, UTC),
        ends=None if found.ends is None else datetime.fromtimestamp(found.ends, UTC),
        server=server,
        kind=kind,
        prefix_len=found.prefix_len if kind is PoolKind.PREFIX else None,
        duid=duid_text(found.duid),
        iaid=found.iaid,
        mac_source=MacSource.DUID,
    )


def snapshot(name: str, conf: Dhcpd6Conf, leases_path: Path) -> ServerSnapshot:
    """One dhcpd -6 server's pools and current leases (report-only)."""
    journal = isc6_journal.parse(leases_path)
    leases = sorted(journal.leases.values(), key=lambda lease: lease.key)
    return ServerSnapshot(
        server=name,
        kind="isc",
        ranges=conf.ranges,
        leases=LeaseList(_lease(lease, name) for lease in leases),
        fixed=conf.v4.fixed,
        read_errors=tuple(journal.problems),
        report_only=Reason.KEEP_OMAPI_V4_ONLY,
    )
