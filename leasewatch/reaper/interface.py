"""The contract every release backend (ISC OMAPI, Kea lease4-del) fulfils."""

from __future__ import annotations

from abc import ABC, abstractmethod

from leasewatch.model import Lease, Outcome


class ReleaseBackend(ABC):
    """Gives one lease's address back to its server.

    ``release`` first looks the lease up on the live server and releases it only if it
    still belongs to ``lease.mac`` (returning ``Outcome.CHANGED`` otherwise). It raises
    ``ReleaseError`` for transport or authentication failures (one line naming the server,
    never the key). Backends connect lazily: a run that releases nothing opens no connection.
    """

    @abstractmethod
    def release(self, lease: Lease) -> tuple[Outcome, str]:
        """Release the lease; return the outcome and a short detail for the audit record."""

    def close(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing
        """Drop any connection held."""
