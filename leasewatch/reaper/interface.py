"""The contract every release backend (ISC OMAPI, Kea lease4-del) fulfils, and the audit
journal the executor writes ahead to."""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Protocol

from leasewatch.model import AuditRecord, Lease, Outcome


class Held(enum.StrEnum):
    """What a server holds at a lease's address when asked right before a pair's release
    (its words in the audit record's detail)."""

    SAME = "holds it"  # an active lease of the same client: it may be released
    NONE = "no lease"  # nothing active there: nothing to free on this server
    OTHER = "changed"  # another client's now: release on no member


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

    def lookup(self, lease: Lease) -> tuple[Held, str] | None:
        """What the live server holds at ``lease``'s address now, with a short detail,
        asked of every member of a pair before any is released on; None where the backend
        cannot say ahead (its ``release`` re-checks by itself)."""
        del lease
        return None

    def pair_state(self, relationship: str) -> tuple[str, bool] | None:
        """The server's own live state in ``relationship`` (its name, and whether it is
        normal), asked right before a pair's release; None where the backend cannot tell
        (the plan's word stands)."""
        del relationship
        return None


class AuditJournal(Protocol):
    """Where the executor writes ahead (``leasewatch.state.State`` is one).

    ``begin`` commits records before any server is asked (a release's as
    ``Outcome.ATTEMPTING``) and returns a key per record; ``finish`` completes one after its
    server answered. A run that stops between the two leaves the attempt on record.
    """

    def begin(self, records: Sequence[AuditRecord]) -> list[int]: ...

    def finish(self, key: int, record: AuditRecord) -> None: ...
