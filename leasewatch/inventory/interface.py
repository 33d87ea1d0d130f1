"""The contract every inventory source (command, file, libvirt, XenAPI, Proxmox) fulfils."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Sequence, Set

from leasewatch.errors import InventoryError
from leasewatch.macset import MacSet
from leasewatch.model import InventorySnapshot


class InventorySource(ABC):
    """Lists the MACs of every VM that is alive (or will boot again) on one source.

    Adapters implement ``macs`` and raise ``InventoryError`` with one line naming the source
    and the reason (never a secret). ``fetch`` turns that into an unhealthy snapshot, so a
    failing source makes its leases unknown instead of stopping the scan.
    """

    timeout: float = 10.0  # seconds; adapters set theirs from the config

    def __init__(self, name: str, kind: str, networks: tuple[str, ...] = ()) -> None:
        self.name = name
        self.kind = kind
        self.networks = networks

    def parts(self) -> Sequence[InventorySource]:
        """The sources to read at once for this one (``leasewatch.inventory.fleet``): itself,
        or one per host for an entry that lists many (libvirt ``uris``)."""
        return (self,)

    def combine(self, snapshots: Sequence[InventorySnapshot]) -> list[InventorySnapshot]:
        """What the parts' snapshots make: one healthy snapshot under this entry's name of
        every host that answered, and each failed host's own unhealthy one.

        A failed host's snapshot covers the entry's networks, so a lease no answering host
        lists is unknown, never an orphan (its VM may live on the silent host); a lease an
        answering host lists is live. The entry's VM count (empty, shrunk) is judged on the
        merged snapshot, as for a single source.
        """
        if len(snapshots) == 1 and snapshots[0].source == self.name:
            return list(snapshots)
        healthy = [s for s in snapshots if s.healthy]
        out = []
        if healthy:
            out.append(
                InventorySnapshot(
                    source=self.name,
                    kind=self.kind,
                    macs=MacSet().union(*(s.macs for s in healthy)),
                    networks=self.networks,
                    duration=max(s.duration for s in healthy),
                )
            )
        out.extend(s for s in snapshots if not s.healthy)
        return out

    @abstractmethod
    def macs(self) -> Set[str]:
        """Return the MACs of the live VMs: a ``MacSet``, or normalized strings
        (``aa:bb:cc:dd:ee:ff``) that ``fetch`` packs into one."""

    def fetch(self) -> InventorySnapshot:
        started = time.monotonic()
        try:
            macs = self.macs()
        except InventoryError as exc:
            # the snapshot carries its source's name: every reader puts it beside the
            # reason, so the reason does not repeat it ("hv: inventory hv: ...")
            reason = str(exc).removeprefix(f"inventory {self.name}: ")
        except Exception as exc:
            # Safety over completeness: an unexpected failure makes the source unhealthy
            # (its leases unknown, never orphaned) instead of stopping the whole scan. Only
            # the type is shown: SDK messages may carry URLs or credentials.
            reason = f"unexpected {type(exc).__name__}"
        else:
            return InventorySnapshot(
                source=self.name,
                kind=self.kind,
                macs=macs if isinstance(macs, MacSet) else MacSet(macs),
                networks=self.networks,
                duration=time.monotonic() - started,
            )
        return InventorySnapshot(
            source=self.name,
            kind=self.kind,
            healthy=False,
            reason=reason,
            networks=self.networks,
            duration=time.monotonic() - started,
        )
