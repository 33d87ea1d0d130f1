"""Kea release backend (lease4-get, then lease4-del) against a real kea-dhcp4."""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from lab.kea import KeaLab, KeaServer, running_agent, running_kea
from leasewatch.config import Secret, ServerConfig
from leasewatch.errors import ReleaseError
from leasewatch.leases.kea import KeaLeaseSource
from leasewatch.model import BindingState, Lease, Outcome
from leasewatch.reaper import kinds
from leasewatch.reaper.kea import KeaReleaseBackend

MAC = "52:54:00:00:01:0a"


def config_for(server: KeaServer) -> ServerConfig:
    """A [[servers]] entry for the lab server's control socket."""
    return ServerConfig(name="kea1", kind="kea", control_socket=server.socket_path, timeout=5)


def orphan(ip: str = "198.18.1.10", mac: str | None = MAC) -> Lease:
    """The lease as the scan saw it."""
    now = datetime.now(UTC)
    return Lease(
        ip=IPv4Address(ip),
        state=BindingState.ACTIVE,
        mac=mac,
        starts=now,
        ends=now + timedelta(hours=1),
        server="kea1",
        subnet_id=1,
    )


def test_a_lease_still_held_by_the_same_mac_is_deleted(kea: KeaServer) -> None:
    """Same MAC on the server: lease4-del removes it, and the memfile records the deletion."""
    kea.add_lease("198.18.1.10", MAC)
    backend = KeaReleaseBackend(config_for(kea))
    outcome, detail = backend.release(orphan())
    backend.close()
    assert outcome is Outcome.RELEASED
    assert "lease4-del 198.18.1.10" in detail
    assert kea.command("lease4-get", {"ip-address": "198.18.1.10"})["result"] == 3
    last_row = kea.leases_file.read_text().splitlines()[-1].split(",")
    assert last_row[0] == "198.18.1.10" and last_row[3] == "0"  # valid_lifetime 0: deleted


def test_a_lease_now_held_by_another_mac_is_left_alone(kea: KeaServer) -> None:
    """The address went to another client since the scan: CHANGED, and nothing is deleted."""
    kea.add_lease("198.18.1.10", "52:54:00:00:01:ff")
    outcome, detail = KeaReleaseBackend(config_for(kea)).release(orphan())
    assert outcome is Outcome.CHANGED
    assert "52:54:00:00:01:ff" in detail
    answer = kea.command("lease4-get", {"ip-address": "198.18.1.10"})
    assert answer["result"] == 0
    assert answer["arguments"]["hw-address"] == "52:54:00:00:01:ff"


def test_a_lease_already_gone_is_not_found(kea: KeaServer) -> None:
    """No lease for the address any more (Kea result 3): NOT_FOUND, no error."""
    outcome, _ = KeaReleaseBackend(config_for(kea)).release(orphan())
    assert outcome is Outcome.NOT_FOUND


def test_a_lease_without_a_mac_is_refused_before_any_command(short_tmp: Path) -> None:
    """No MAC to compare: REFUSED, and the (missing) server is never contacted."""
    config = ServerConfig(name="kea1", kind="kea", control_socket=short_tmp / "none.sock")
    outcome, _ = KeaReleaseBackend(config).release(orphan(mac=None))
    assert outcome is Outcome.REFUSED


def test_the_backend_connects_only_when_it_releases(short_tmp: Path) -> None:
    """Building the backend for a missing socket opens nothing; release() names the server."""
    config = ServerConfig(name="kea1", kind="kea", control_socket=short_tmp / "none.sock")
    backend = KeaReleaseBackend(config)
    backend.close()  # nothing to close: nothing was opened
    with pytest.raises(ReleaseError) as caught:
        backend.release(orphan())
    assert str(caught.value) == (
        f"kea server 'kea1': lease4-get: control socket {short_tmp / 'none.sock'} does not exist"
    )


@pytest.mark.lab
def test_a_server_without_lease_cmds_cannot_release(short_tmp: Path) -> None:
    """Without the hook, the error names libdhcp_lease_cmds.so."""
    with (
        running_kea(short_tmp / "nohook", hooks=()) as server,
        pytest.raises(ReleaseError, match=r"libdhcp_lease_cmds\.so") as caught,
    ):
        KeaReleaseBackend(config_for(server)).release(orphan())
    assert "\n" not in str(caught.value)


def test_a_dead_kea_is_a_release_error_not_an_outcome(kea: KeaServer) -> None:
    """Kea killed: the release raises ReleaseError (the executor records FAILED)."""
    kea.add_lease("198.18.1.10", MAC)
    kea.kill(signal.SIGKILL)
    with pytest.raises(ReleaseError, match=r"^kea server 'kea1': lease4-get: .*refused"):
        KeaReleaseBackend(config_for(kea)).release(orphan())


def test_release_through_the_agent_with_basic_auth(kea: KeaServer) -> None:
    """Through kea-ctrl-agent with basic auth the same re-check and delete happen."""
    kea.add_lease("198.18.1.10", MAC)
    kea.add_lease("198.18.1.11", "52:54:00:00:01:0b")
    with running_agent(kea, username="reaper", password="agent-pw") as agent:
        config = ServerConfig(
            name="kea1",
            kind="kea",
            control_url=agent.url,
            username="reaper",
            password=Secret("agent-pw"),
        )
        backend = KeaReleaseBackend(config)
        first = backend.release(orphan())
        second = backend.release(orphan("198.18.1.11"))  # MAC differs
        backend.close()
    assert first[0] is Outcome.RELEASED
    assert second[0] is Outcome.CHANGED
    assert kea.command("lease4-get", {"ip-address": "198.18.1.11"})["result"] == 0


def test_a_wrong_agent_password_never_shows_in_the_error(kea: KeaServer) -> None:
    """HTTP 401: ReleaseError names the server and user, not the password."""
    with running_agent(kea, username="reaper", password="agent-pw") as agent:
        config = ServerConfig(
            name="kea1",
            kind="kea",
            control_url=agent.url,
            username="reaper",
            password=Secret("not-the-pw"),
        )
        with pytest.raises(ReleaseError) as caught:
            KeaReleaseBackend(config).release(orphan())
    assert "kea1" in str(caught.value) and "401" in str(caught.value)
    assert "not-the-pw" not in str(caught.value) and "agent-pw" not in str(caught.value)


def test_an_offline_lease_file_has_no_release_backend(short_tmp: Path) -> None:
    """leases = <csv> is report-only: no backend is built for it."""
    config = ServerConfig(name="kea1", kind="kea", leases=short_tmp / "kea-leases4.csv")
    assert kinds.build(config) is None
    with pytest.raises(ReleaseError, match="report-only"):
        KeaReleaseBackend(config)


@pytest.mark.lab
def test_a_deleted_address_is_immediately_usable_by_a_new_client() -> None:
    """Real dhclients: pool dry, lease4-del of the dead VM's lease, a new VM binds at once."""
    with KeaLab.start(pool_size=2) as lab:
        started = time.monotonic()
        first = lab.boot(2)
        baseline = time.monotonic() - started
        assert sorted(vm.ip for vm in first if vm.ip) == lab.layout.pool
        dead = first[0]
        lab.destroy(dead)
        late = lab.boot(1, timeout=4)[0]
        assert late.ip is None  # the pool is dry: the dead VM's lease holds the address
        lab.destroy(late)

        snapshot = KeaLeaseSource(config_for(lab.kea)).read()
        lease = next(lease for lease in snapshot.leases if lease.mac == dead.mac)
        backend = KeaReleaseBackend(config_for(lab.kea))
        outcome, _ = backend.release(lease)
        backend.close()
        assert outcome is Outcome.RELEASED

        released_at = time.monotonic()
        new = lab.boot(1, timeout=10)[0]
        bound_after = time.monotonic() - released_at
        assert new.ip == dead.ip
        live = KeaLeaseSource(config_for(lab.kea)).read().leases
        assert {(str(x.ip), x.mac) for x in live} == {
            (str(first[1].ip), first[1].mac),
            (str(new.ip), new.mac),
        }
    print(
        f"\nkea: 2 VMs bound in {baseline:.2f}s; after lease4-del a new VM bound in "
        f"{bound_after:.2f}s"
    )
    assert bound_after < 5
