"""Many inventories read at once (issue 22): real slow commands, a fleet of libvirt URIs each
healthy or not on its own, and hung hosts that delay nobody."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

from leasewatch.config import InventoryConfig
from leasewatch.core.analysis import analyse
from leasewatch.inventory.fleet import read_all
from leasewatch.inventory.kinds import build
from leasewatch.model import BindingState, Lease, LeaseList, Range, ServerSnapshot, Verdict
from tests.inventory.inventory_lab import libvirt_domain, libvirt_node

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def _slow(directory: Path, n: int, seconds: float, timeout: float = 30.0) -> InventoryConfig:
    """A command inventory that stamps its start and end around a sleep and prints one MAC."""
    script = (
        f"date +%s.%N > {directory}/{n}.start; sleep {seconds}; "
        f"echo 52:54:00:00:00:{n:02x}; date +%s.%N > {directory}/{n}.end"
    )
    return InventoryConfig(
        name=f"hv{n}", kind="command", command=("sh", "-c", script), timeout=timeout
    )


def _stamps(directory: Path, suffix: str) -> list[float]:
    return [float(p.read_text()) for p in sorted(directory.glob(f"*.{suffix}"))]


def test_fifty_slow_inventories_are_read_at_once(tmp_path: Path) -> None:
    """Fifty commands that take a second each all run together: each starts before any ends."""
    started = time.monotonic()
    snaps = read_all([build(_slow(tmp_path, n, 1)) for n in range(50)])
    took = time.monotonic() - started
    assert [s.source for s in snaps] == [f"hv{n}" for n in range(50)]
    assert all(s.healthy and len(s.macs) == 1 for s in snaps)
    starts, ends = _stamps(tmp_path, "start"), _stamps(tmp_path, "end")
    assert len(starts) == len(ends) == 50
    assert max(starts) < min(ends)
    assert took < 25  # generous: one after another they take 50 s


def test_a_hung_inventory_is_unhealthy_at_its_timeout_and_delays_no_other(
    tmp_path: Path,
) -> None:
    """A command that hangs is cut at its own timeout; the others answer meanwhile."""
    hung = _slow(tmp_path, 99, 60, timeout=1.0)
    snaps = read_all([build(hung), *(build(_slow(tmp_path, n, 0.2)) for n in range(5))])
    assert not snaps[0].healthy
    assert snaps[0].reason == "sh timed out after 1s"
    assert all(s.healthy for s in snaps[1:])
    assert max(_stamps(tmp_path, "end")) - min(_stamps(tmp_path, "start")) < 30


def _fake_ssh(directory: Path, seconds: int) -> Path:
    """An ssh client that never answers (a hung KVM host): it notes its pid and sleeps."""
    path = directory / "hung-ssh"
    path.write_text(f"#!/bin/sh\necho $$ > {directory}/ssh.pid\nexec sleep {seconds}\n")
    path.chmod(0o755)
    return path


def _stop_fake_ssh(directory: Path) -> None:
    """Kill the hung ssh, so the abandoned libvirt call ends now rather than later."""
    pidfile = directory / "ssh.pid"
    if pidfile.exists():
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pidfile.read_text()), signal.SIGKILL)


def test_every_uri_of_an_entry_is_healthy_or_not_on_its_own(tmp_path: Path) -> None:
    """Two answering nodes merge under the entry's name; a missing node and a hung
    qemu+ssh host are unhealthy apart, scoped to the entry's networks."""
    one = libvirt_node(tmp_path / "one.xml", libvirt_domain("web01", ["52:54:00:aa:00:01"]))
    two = libvirt_node(tmp_path / "two.xml", libvirt_domain("db01", ["52:54:00:aa:00:02"]))
    missing = f"test://{tmp_path / 'missing.xml'}"
    hung = f"qemu+ssh://root@kvm7.example/system?command={_fake_ssh(tmp_path, 8)}&no_verify=1"
    config = InventoryConfig(
        name="kvm",
        kind="libvirt",
        uri=(one, missing, two, hung),
        networks=("lab",),
        timeout=1.0,
    )
    try:
        snaps = read_all([build(config)])
    finally:
        _stop_fake_ssh(tmp_path)
    merged, *broken = snaps
    assert (merged.source, merged.healthy, merged.networks) == ("kvm", True, ("lab",))
    assert merged.macs == {"52:54:00:aa:00:01", "52:54:00:aa:00:02"}
    assert [(s.source, s.healthy, s.networks) for s in broken] == [
        (f"kvm[{missing}]", False, ("lab",)),
        (f"kvm[{hung}]", False, ("lab",)),
    ]
    assert broken[0].reason is not None and "cannot connect to" in broken[0].reason
    assert broken[1].reason == f"libvirt {hung} timed out after 1s"


def test_a_silent_host_makes_unlisted_leases_unknown_not_orphans(tmp_path: Path) -> None:
    """A lease an answering host lists is live; one no answering host lists is unknown
    while a host of the entry is down, and an orphan once every host answers."""
    node = libvirt_node(tmp_path / "n.xml", libvirt_domain("web01", ["52:54:00:aa:00:01"]))
    other = libvirt_node(tmp_path / "o.xml", libvirt_domain("db01", ["52:54:00:aa:00:03"]))
    missing = f"test://{tmp_path / 'missing.xml'}"
    net = IPv4Network("198.18.0.0/24")
    server = ServerSnapshot(
        server="dhcp1",
        kind="isc",
        ranges=(Range(IPv4Address("198.18.0.10"), IPv4Address("198.18.0.99"), net, "lab"),),
        leases=LeaseList(
            Lease(
                IPv4Address(f"198.18.0.{10 + i}"),
                BindingState.ACTIVE,
                mac=mac,
                ends=NOW + timedelta(hours=1),
                server="dhcp1",
            )
            for i, mac in enumerate(["52:54:00:aa:00:01", "52:54:00:aa:00:02"])
        ),
    )

    def verdicts(*uris: str) -> tuple[int, list[Verdict], list[Verdict]]:
        config = InventoryConfig(name="kvm", kind="libvirt", uri=uris, timeout=5.0)
        result = analyse([server], read_all([build(config)]), now=NOW)
        return result.live, [f.verdict for f in result.orphans], [f.verdict for f in result.unknown]

    assert verdicts(node, missing) == (1, [], [Verdict.UNKNOWN])
    assert verdicts(node, other) == (1, [Verdict.ORPHAN], [])


def test_remote_uri_forms_fail_in_one_line(tmp_path: Path) -> None:
    """qemu+ssh-style and qemu+tls-style URIs (here on the test driver) that cannot connect
    say why in one line each, and neither blocks the other."""
    ssh = "test+ssh://leasewatch-test.invalid/default"
    tls = "test+tls://127.0.0.1:1/default"
    config = InventoryConfig(name="fleet", kind="libvirt", uri=(ssh, tls), timeout=5.0)
    snaps = read_all([build(config)])
    assert [s.source for s in snaps] == [f"fleet[{ssh}]", f"fleet[{tls}]"]
    assert not any(s.healthy for s in snaps)
    assert all(s.reason is not None and "\n" not in s.reason for s in snaps)
    # with ssh installed, ssh's own words; on a machine without it, libvirt's
    assert snaps[0].reason is not None
    assert any(
        why in snaps[0].reason for why in ("Could not resolve hostname", "Cannot find 'ssh'")
    )
