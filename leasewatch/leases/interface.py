"""The contract every lease source (ISC dhcpd files, Kea's API or memfile) fulfils."""

from __future__ import annotations

from abc import ABC, abstractmethod

from leasewatch.errors import LeasesError
from leasewatch.model import PairMember, ServerSnapshot


class UnreadMemberError(LeasesError):
    """A read failed, but the reader knows which pair its server is in (dhcpd.conf read,
    the journal not): the pair is reported from its partner, this error as a warning."""

    def __init__(self, message: str, pairing: PairMember) -> None:
        super().__init__(message)
        self.pairing = pairing


class LeaseSource(ABC):
    """Reads one DHCP server's pools and current leases.

    ``read`` raises ``leasewatch.errors.LeasesError`` (one line naming the file and line, or
    the server and command) when nothing trustworthy could be read (``UnreadMemberError`` when
    it still knows the server's pair). A readable but imperfect
    result (a truncated journal tail) is returned with ``complete=False`` and a warning.
    """

    name: str

    @abstractmethod
    def read(self) -> ServerSnapshot:
        """Return the server's ranges, current leases (one per address) and fixed hosts."""
