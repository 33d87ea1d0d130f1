"""A recorded sequence of scans with known numbers, fed through the real Scanner.

12 hours of scans every 10 minutes on one network ``lab`` (198.18.1.10-29, 20 addresses)
served with 3-hour leases that clients renew every 90 minutes (T1 = half the lease):

- two VMs (A, B) run the whole time, born before tracking began;
- six VMs (V1..V6) are born 1 h, 2 h, ... 6 h after the first scan and live 20, 40, 60, 80,
  100 and 120 minutes (seen by the inventory at both ends, inclusive).

The tests derive every expected number by hand from this description.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

from leasewatch.config import Config, InventoryConfig, ServerConfig, StateConfig
from leasewatch.inventory.interface import InventorySource
from leasewatch.leases.interface import LeaseSource
from leasewatch.model import BindingState, Lease, LeaseList, Range, ServerSnapshot
from leasewatch.scan import Scanner
from leasewatch.state import State

T0 = datetime(2026, 11, 25, 0, 0, tzinfo=UTC)  # the first scan
NOW = T0 + timedelta(hours=12)  # the last scan
EVERY = timedelta(minutes=10)
LEASE = timedelta(hours=3)
T1 = LEASE / 2
POOL = Range(
    IPv4Address("198.18.1.10"), IPv4Address("198.18.1.29"), IPv4Network("198.18.1.0/24"), "lab"
)


@dataclass(frozen=True)
class Vm:
    """One VM: its MAC, address and life (inclusive at both ends)."""

    mac: str
    ip: str
    born: datetime
    dies: datetime

    def alive(self, t: datetime) -> bool:
        return self.born <= t <= self.dies

    def lease(self, t: datetime) -> Lease | None:
        """The lease as the server would show it at ``t`` (renewed every T1 while alive)."""
        if t < self.born:
            return None
        renewals = int((min(t, self.dies) - self.born) / T1)
        starts = self.born + renewals * T1
        if t >= starts + LEASE:
            return None
        return Lease(
            IPv4Address(self.ip),
            BindingState.ACTIVE,
            mac=self.mac,
            starts=starts,
            ends=starts + LEASE,
            hostname=f"vm-{self.mac[-2:]}",
            server="dhcp1",
        )


LONG = [
    Vm("52:54:00:00:00:0a", "198.18.1.10", T0 - timedelta(days=2), NOW + timedelta(days=1)),
    Vm("52:54:00:00:00:0b", "198.18.1.11", T0 - timedelta(minutes=30), NOW + timedelta(days=1)),
]
LIFETIMES_MIN = (20, 40, 60, 80, 100, 120)
SHORT = [
    Vm(
        f"52:54:00:00:01:{k:02x}",
        f"198.18.1.{11 + k}",
        T0 + timedelta(hours=k),
        T0 + timedelta(hours=k, minutes=life),
    )
    for k, life in enumerate(LIFETIMES_MIN, start=1)
]
VMS = LONG + SHORT


class ReplayLeases(LeaseSource):
    """The server's leases at the scanner's clock time."""

    def __init__(self, clock: list[datetime]) -> None:
        self.name = "dhcp1"
        self.clock = clock

    def read(self) -> ServerSnapshot:
        leases = tuple(x for vm in VMS if (x := vm.lease(self.clock[0])) is not None)
        return ServerSnapshot(server="dhcp1", kind="isc", ranges=(POOL,), leases=LeaseList(leases))


class ReplayInventory(InventorySource):
    """The hypervisor's live VMs at the scanner's clock time."""

    def __init__(self, clock: list[datetime]) -> None:
        super().__init__("hv", "file")
        self.clock = clock

    def macs(self) -> frozenset[str]:
        return frozenset(vm.mac for vm in VMS if vm.alive(self.clock[0]))


def config(state_path: Path) -> Config:
    """A config naming the replayed server and inventory."""
    return Config(
        path=state_path.parent / "leasewatch.toml",
        servers=(
            ServerConfig(
                "dhcp1", "isc", leases=Path("/nonexistent"), dhcpd_conf=Path("/nonexistent")
            ),
        ),
        inventory=(InventoryConfig("hv", "file", path=Path("/nonexistent")),),
        state=StateConfig(
            path=state_path, keep=timedelta(days=30), forecast_window=timedelta(hours=12)
        ),
    )


def record(state_path: Path) -> Config:
    """Run every scan of the scenario (dry run, no alerts) into the state file."""
    cfg = config(state_path)
    clock = [T0]
    scanner = Scanner(
        cfg,
        clock=lambda: clock[0],
        lease_source=lambda _s: ReplayLeases(clock),
        inventory_source=lambda _i: ReplayInventory(clock),
    )
    state = State.open(state_path)
    try:
        while clock[0] <= NOW:
            scanner.scan(state, apply=False, send_alerts=False)
            clock[0] += EVERY
    finally:
        state.close()
    return cfg
