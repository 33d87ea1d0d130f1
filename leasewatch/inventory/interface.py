"""The contract every inventory source (command, file, libvirt, XenAPI, Proxmox) fulfils."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Set

from leasewatch.errors import InventoryError
from leasewatch.macset import MacSet
from leasewatch.model import InventorySnapshot


class InventorySource(ABC):
    """Lists the MACs of every VM that is alive (or will boot again) on one source.

    Adapters implement ``macs`` and raise ``InventoryError`` with one line naming the source
    and the reason (never a secret). ``fetch`` turns that into an unhealthy snapshot, so a
    failing source makes its leases unknown instead of stopping the scan.
    """

    def __init__(self, name: str, kind: str, networks: tuple[str, ...] = ()) -> None:
        self.name = name
        self.kind = kind
        self.networks = networks

    @abstractmethod
    def macs(self) -> Set[str]:
        """Return the MACs of the live VMs: a ``MacSet``, or normalized strings
        (``aa:bb:cc:dd:ee:ff``) that ``fetch`` packs into one."""

    def fetch(self) -> InventorySnapshot:
        started = time.monotonic()
        try:
            macs = self.macs()
        except InventoryError as exc:
            reason = str(exc)
        except Exception as exc:
            # Safety over completeness: an unexpected failure makes the source unhealthy
            # (its leases unknown, never orphaned) instead of stopping the whole scan. Only
            # the type is shown: SDK messages may carry URLs or credentials.
            reason = f"inventory {self.name}: unexpected {type(exc).__name__}"
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
