"""The seed's story the other way: clone and destroy VMs one after another, never releasing
a lease, with MACs from leasewatch's pool (every VM gets an address) or random ones (the
pool runs dry after its size). Used by ``make demo`` and tests/lab/test_macpool_story.py.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from pathlib import Path

from lab.isc import IscLab
from lab.kea import KeaLab
from lab.netns import LabError
from leasewatch.cli import Env, main

POOL_PREFIX = "52:54:00:5e"


@dataclass
class Churn:
    """What each cycle's VM got: its MAC and address (None: no address, the pool is dry)."""

    macs: list[str] = field(default_factory=list)
    ips: list[IPv4Address | None] = field(default_factory=list)

    @property
    def served(self) -> int:
        return sum(ip is not None for ip in self.ips)


def leasewatch(config: Path, *args: str) -> str:
    """Run the leasewatch CLI in-process; its stdout, or LabError with its stderr."""
    out, err = io.StringIO(), io.StringIO()
    status = main(["-c", str(config), *args], Env(stdout=out, stderr=err, color=False))
    if status != 0:
        raise LabError(f"leasewatch {' '.join(args)} exited {status}: {err.getvalue().strip()}")
    return out.getvalue()


def pool_config(lab: IscLab | KeaLab) -> Path:
    """The lab's leasewatch config with ``[macpool]`` and the reaper off (dry run)."""
    config = lab.workdir / "leasewatch-macpool.toml"
    text = lab.leasewatch_toml(lab.workdir / "macpool-state.db", reaper="apply = false")
    config.write_text(f'{text}\n[macpool]\nprefix = "{POOL_PREFIX}"\n', encoding="utf-8")
    return config


def churn(
    lab: IscLab | KeaLab,
    cycles: int,
    config: Path | None,
    *,
    timeout: float = 20.0,
    prefix: str = "clone",
    each: Callable[[int, str, IPv4Address | None], None] | None = None,
) -> Churn:
    """Clone a VM, wait for its lease, destroy it without a release; ``cycles`` times.

    With ``config`` each VM's MAC comes from ``leasewatch mac take`` and goes back with
    ``leasewatch mac give`` (the teardown hook); without, each clone has a random MAC and
    the loop stops at the first VM that gets no address.
    """
    done = Churn()
    for number in range(1, cycles + 1):
        name = f"{prefix}-{number:03d}"
        mac = leasewatch(config, "mac", "take", "--vm", name).strip() if config else None
        vm = lab.hypervisor.start(name, mac)
        lab.hypervisor.wait([vm], timeout=timeout)
        lab.destroy(vm)
        if config is not None:
            leasewatch(config, "mac", "give", vm.mac)
        done.macs.append(vm.mac)
        done.ips.append(vm.ip)
        if each is not None:
            each(number, vm.mac, vm.ip)
        if vm.ip is None:
            break
    return done
