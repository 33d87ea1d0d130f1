"""``leasewatch release`` against a real kea-dhcp4 (API only): reason codes in the audit, and
a crash after ``lease4-del`` leaves the attempt on record."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lab.kea import KeaServer, running_kea
from leasewatch.state import UNFINISHED
from tests.cli_helpers import run
from tests.reaper.crash import release_and_die

pytestmark = pytest.mark.lab  # a real kea-dhcp4 in every test

ALIVE, GONE = "52:54:00:00:02:0a", "52:54:00:00:02:0b"


@pytest.fixture
def kea_lab() -> Iterator[tuple[Path, KeaServer]]:
    """A real Kea holding a live VM's lease and a destroyed VM's, and a config over it."""
    root = Path(tempfile.mkdtemp(prefix="lwrel-"))  # short: a socket path fits 107 bytes
    try:
        with running_kea(root / "kea") as kea:
            expire = int((datetime.now(UTC) + timedelta(hours=1)).timestamp())
            for ip, mac in (("198.18.1.10", ALIVE), ("198.18.1.11", GONE)):
                kea.add_lease(ip, mac, **{"valid-lft": 7200, "expire": expire})
            (root / "macs").write_text(f"{ALIVE}\n")
            config = root / "leasewatch.toml"
            config.write_text(
                f'[[servers]]\nname = "kea1"\nkind = "kea"\ncontrol_socket = "{kea.socket_path}"\n'
                f'[[inventory]]\nname = "hv"\nkind = "file"\npath = "{root / "macs"}"\n'
                f'[state]\npath = "{root / "state.db"}"\n'
            )
            yield config, kea
    finally:
        shutil.rmtree(root, ignore_errors=True)


def kea_has(kea: KeaServer, ip: str) -> bool:
    """Whether Kea still holds a lease for ``ip``."""
    return int(kea.command("lease4-get", {"ip-address": ip})["result"]) == 0


def test_release_on_kea_audits_reason_codes(kea_lab: tuple[Path, KeaServer]) -> None:
    """The live VM's lease is refused (keep-vm-exists), the gone one's deleted from Kea
    (release-requested); both in the audit with their codes."""
    config, kea = kea_lab
    refused = run("-c", str(config), "release", "--mac", ALIVE, now=datetime.now(UTC))
    assert refused.status == 1 and "the VM still exists" in refused.out
    released = run("-c", str(config), "release", "--mac", GONE, now=datetime.now(UTC))
    assert released.status == 0, released.out + released.err
    assert released.out.startswith(f"released: 198.18.1.11 {GONE} on kea1")
    assert not kea_has(kea, "198.18.1.11") and kea_has(kea, "198.18.1.10")
    audit = json.loads(run("-c", str(config), "audit", "--format", "json").out)
    assert [(r["ip"], r["outcome"], r["reason_code"]) for r in audit] == [
        ("198.18.1.10", "refused", "keep-vm-exists"),
        ("198.18.1.11", "released", "release-requested"),
    ]


def test_a_crash_after_lease4_del_leaves_an_unfinished_attempt(
    kea_lab: tuple[Path, KeaServer],
) -> None:
    """Killed after Kea deleted the lease: the audit shows the attempt, unfinished."""
    path, kea = kea_lab
    release_and_die(path, GONE)
    assert not kea_has(kea, "198.18.1.11")
    (record,) = json.loads(run("-c", str(path), "audit", "--format", "json").out)
    assert (record["ip"], record["outcome"], record["detail"], record["reason_code"]) == (
        "198.18.1.11", "attempting", UNFINISHED, "release-requested",
    )  # fmt: skip
