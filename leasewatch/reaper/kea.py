"""Release through Kea's own API: ``lease4-get`` (``lease6-get``) to re-check, then
``lease4-del`` (``lease6-del``).

Deleting a lease with lease_cmds' ``lease4-del`` removes it from Kea's lease database at
once (the memfile gets a row with valid_lifetime 0); the address is free for the next
DHCPDISCOVER, which the lab measures (tests/reaper/test_kea.py). This is what the ISC side
cannot do: OMAPI has no lease removal, only a state write. DHCPv6 names a lease by address
(a delegated prefix by its first address) and type (IA_NA, IA_TA or IA_PD); measured on Kea
2.2, ``lease6-get`` and ``lease6-del`` of a lease that is not there answer result 3 ("IPv6
lease not found."): the lease is gone, which is what the release wanted.
https://kea.readthedocs.io/en/kea-2.2.0/arm/hooks.html#the-lease4-del-lease6-del-commands
"""

from __future__ import annotations

from collections.abc import Mapping

from leasewatch.config import ServerConfig
from leasewatch.errors import ReleaseError
from leasewatch.leases.kea6 import TYPE_NAMES
from leasewatch.leases.kea_api import RESULT_EMPTY, KeaClient
from leasewatch.model import Lease, Outcome, normalize_mac
from leasewatch.reaper.interface import Held, ReleaseBackend


class KeaReleaseBackend(ReleaseBackend):
    """Deletes orphaned leases from one Kea server (control socket or control_url)."""

    def __init__(self, config: ServerConfig) -> None:
        if config.control_socket is None and config.control_url is None:
            raise ReleaseError(
                f"kea server {config.name!r}: releasing needs control_socket or control_url "
                "(an offline lease file is report-only)"
            )
        self.config = config
        self._client: KeaClient | None = None

    @property
    def client(self) -> KeaClient:
        # Connect lazily: a scan that releases nothing never talks to the server.
        if self._client is None:
            self._client = KeaClient.from_config(self.config, error=ReleaseError)
        return self._client

    def _serve(self, lease: Lease) -> str | None:
        """Point the client at ``lease``'s daemon (over HTTP the lease's family names it:
        kea-ctrl-agent forwards to it); why not, when the server's service is the other."""
        family = lease.ip.version
        service = f"dhcp{family}"
        if self.config.service not in (None, service):
            return (
                f"{lease.label} is an IPv{family} lease, the server's service is "
                f"{self.config.service}"
            )
        self.client.service = service
        return None

    def lookup(self, lease: Lease) -> tuple[Held, str] | None:
        """``leaseN-get``: whether Kea still holds the address for the same client (MAC,
        and DUID for DHCPv6); None for a lease of the other family (``release`` refuses it).
        Asked of every peer of a pair before any is released on."""
        if self._serve(lease) is not None:
            return None
        return self._held(lease)

    def _held(self, lease: Lease) -> tuple[Held, str]:
        what = lease.label
        current = self.client.call(f"lease{lease.ip.version}-get", _key(lease))
        if current.result == RESULT_EMPTY or not isinstance(current.arguments, Mapping):
            return Held.NONE, f"Kea has no lease for {what}"
        raw_mac = current.arguments.get("hw-address")
        mac = normalize_mac(str(raw_mac)) if raw_mac else None
        if mac != lease.mac:
            return Held.OTHER, f"{what} now belongs to {mac or 'a client without a MAC'}"
        duid = str(current.arguments.get("duid") or "") or None
        if lease.duid is not None and duid != lease.duid:
            return Held.OTHER, f"{what} now belongs to DUID {duid or '(none)'}"
        return Held.SAME, f"{what} for {mac}"

    def release(self, lease: Lease) -> tuple[Outcome, str]:
        """Delete ``lease`` if Kea still holds it for the same client: ``leaseN-get`` to
        re-check (``lookup``), then ``leaseN-del``."""
        refused = self._serve(lease)
        if refused is not None:
            return Outcome.REFUSED, refused
        what = lease.label
        if lease.mac is None:
            return Outcome.REFUSED, f"{what} has no MAC to re-check against the server"
        held, text = self._held(lease)
        if held is not Held.SAME:
            return (Outcome.NOT_FOUND if held is Held.NONE else Outcome.CHANGED), text
        family = lease.ip.version
        # Kea 2.2 has no compare-and-delete: a window of milliseconds remains between the
        # two commands. Only the same client could renew in it, and the plan releases only
        # MACs missing from every healthy inventory for the whole grace period.
        deleted = self.client.call(f"lease{family}-del", _key(lease))
        if deleted.result == RESULT_EMPTY:
            return Outcome.NOT_FOUND, f"{what} was gone before lease{family}-del"
        return Outcome.RELEASED, f"lease{family}-del {what} ({lease.mac}): {deleted.text}"

    def pair_state(self, relationship: str) -> tuple[str, bool] | None:
        """The server's own HA state (``ha-heartbeat``, to the daemon the last lease looked
        up named), asked right before a pair's release; None when it does not say."""
        del relationship  # a Kea server is in one relationship (checked by the reader)
        from leasewatch.leases.kea_ha import NORMAL_STATES, live_state

        state = live_state(self.client)
        return None if state is None else (state, state in NORMAL_STATES)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def _key(lease: Lease) -> dict[str, str]:
    """How Kea names a lease: by address, and for DHCPv6 by type too (a delegated prefix by
    its first address)."""
    key = {"ip-address": str(lease.ip)}
    if lease.ip.version == 6:
        key["type"] = TYPE_NAMES[lease.kind]
    return key
