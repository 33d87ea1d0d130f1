"""The contract every lease source (ISC dhcpd files, Kea's API or memfile) fulfils."""

from __future__ import annotations

from abc import ABC, abstractmethod

from leasewatch.model import ServerSnapshot


class LeaseSource(ABC):
    """Reads one DHCP server's pools and current leases.

    ``read`` raises ``leasewatch.errors.LeasesError`` (one line naming the file and line, or
    the server and command) when nothing trustworthy could be read. A readable but imperfect
    result (a truncated journal tail) is returned with ``complete=False`` and a warning.
    """

    name: str

    @abstractmethod
    def read(self) -> ServerSnapshot:
        """Return the server's ranges, current leases (one per address) and fixed hosts."""
