"""Release through Kea's own API: ``lease4-get`` to re-check, then ``lease4-del``.

Deleting a lease with lease_cmds' ``lease4-del`` removes it from Kea's lease database at
once (the memfile gets a row with valid_lifetime 0); the address is free for the next
DHCPDISCOVER, which the lab measures (tests/reaper/test_kea.py). This is what the ISC side
cannot do: OMAPI has no lease removal, only a state write.
https://kea.readthedocs.io/en/kea-2.2.0/arm/hooks.html#the-lease4-del-lease6-del-commands
"""

from __future__ import annotations

from collections.abc import Mapping

from leasewatch.config import ServerConfig
from leasewatch.errors import ReleaseError
from leasewatch.leases.kea_api import RESULT_EMPTY, KeaClient
from leasewatch.model import Lease, Outcome, normalize_mac
from leasewatch.reaper.interface import ReleaseBackend


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

    def release(self, lease: Lease) -> tuple[Outcome, str]:
        # Over HTTP the lease's family names the daemon (kea-ctrl-agent forwards to it).
        service = "dhcp6" if lease.ip.version == 6 else "dhcp4"
        if self.config.service not in (None, service):
            return Outcome.REFUSED, (
                f"{lease.label} is an IPv{lease.ip.version} lease, the server's service is "
                f"{self.config.service}"
            )
        self.client.service = service
        if lease.ip.version == 6:
            from leasewatch.reaper.kea6 import release6  # DHCPv6: lease6-get, lease6-del

            return release6(self.client, lease)
        ip = str(lease.ip)
        if lease.mac is None:
            return Outcome.REFUSED, f"{ip} has no MAC to re-check against the server"
        current = self.client.call("lease4-get", {"ip-address": ip})
        if current.result == RESULT_EMPTY or not isinstance(current.arguments, Mapping):
            return Outcome.NOT_FOUND, f"Kea has no lease for {ip}"
        raw_mac = current.arguments.get("hw-address")
        mac = normalize_mac(str(raw_mac)) if raw_mac else None
        if mac != lease.mac:
            return Outcome.CHANGED, f"{ip} now belongs to {mac or 'a client without a MAC'}"
        # Kea 2.2 has no compare-and-delete: a window of milliseconds remains between the
        # two commands. Only the same MAC could renew in it, and the plan releases only MACs
        # missing from every healthy inventory for the whole grace period.
        deleted = self.client.call("lease4-del", {"ip-address": ip})
        if deleted.result == RESULT_EMPTY:
            return Outcome.NOT_FOUND, f"{ip} was gone before lease4-del"
        return Outcome.RELEASED, f"lease4-del {ip} ({mac}): {deleted.text}"

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
