"""``python -m lab.inventory <state dir>``: print the lab's live VMs' MACs, one per line.

The hypervisor's own view of its VMs (what ``virsh domiflist`` would be on a real host);
leasewatch reads it through ``[[inventory]] kind = "command"``. Exit 2 when the directory
is not a lab's state directory, so a mistyped path is a failed inventory, not an empty one.
This file imports nothing from the lab, so it also runs as a plain script
(``python /path/to/lab/inventory.py <dir>``) from any working directory.
"""

from __future__ import annotations

import sys
from pathlib import Path


def live_macs(workdir: Path) -> list[str]:
    """The MACs of the VMs not destroyed (each live VM has a ``vms/<name>/mac`` file)."""
    return sorted(p.read_text(encoding="utf-8").strip() for p in workdir.glob("vms/*/mac"))


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m lab.inventory <state dir>", file=sys.stderr)
        return 2
    workdir = Path(argv[0])
    if not (workdir / "vms").is_dir():
        print(f"{workdir}: not a lab state directory (no vms/)", file=sys.stderr)
        return 2
    for mac in live_macs(workdir):
        print(mac)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
