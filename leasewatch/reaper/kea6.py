"""Release a DHCPv6 lease through Kea's API: ``lease6-get`` to re-check, then ``lease6-del``.

Both name the lease by address (a delegated prefix by its first address) and type (IA_NA,
IA_TA or IA_PD). Measured on Kea 2.2: ``lease6-del`` of a lease that is not there answers
result 3 ("IPv6 lease not found."), as does ``lease6-get``: the lease is gone, which is what
the release wanted. ``leasewatch.reaper.kea`` hands v6 leases over to this module.
https://kea.readthedocs.io/en/kea-2.2.0/arm/hooks.html#the-lease4-del-lease6-del-commands
"""

from __future__ import annotations

from collections.abc import Mapping

from leasewatch.leases.kea6 import TYPE_NAMES
from leasewatch.leases.kea_api import RESULT_EMPTY, KeaClient
from leasewatch.model import Lease, Outcome, normalize_mac


def release6(client: KeaClient, lease: Lease) -> tuple[Outcome, str]:
    """Delete ``lease`` if Kea still holds it for the same client (MAC and DUID)."""
    what = lease.label
    if lease.mac is None:
        return Outcome.REFUSED, f"{what} has no MAC to re-check against the server"
    key = {"ip-address": str(lease.ip), "type": TYPE_NAMES[lease.kind]}
    current = client.call("lease6-get", key)
    if current.result == RESULT_EMPTY or not isinstance(current.arguments, Mapping):
        return Outcome.NOT_FOUND, f"Kea has no lease for {what}"
    raw_mac = current.arguments.get("hw-address")
    mac = normalize_mac(str(raw_mac)) if raw_mac else None
    duid = str(current.arguments.get("duid") or "") or None
    if mac != lease.mac:
        return Outcome.CHANGED, f"{what} now belongs to {mac or 'a client without a MAC'}"
    if lease.duid is not None and duid != lease.duid:
        return Outcome.CHANGED, f"{what} now belongs to DUID {duid or '(none)'}"
    # As for v4: Kea 2.2 has no compare-and-delete; only the same client could renew in the
    # milliseconds between the two commands.
    deleted = client.call("lease6-del", key)
    if deleted.result == RESULT_EMPTY:
        return Outcome.NOT_FOUND, f"{what} was gone before lease6-del"
    return Outcome.RELEASED, f"lease6-del {what} ({mac}): {deleted.text}"
