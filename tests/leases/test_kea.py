"""Kea lease source against a real kea-dhcp4 (API-only: no interfaces) and its memfile."""

from __future__ import annotations

import shutil
import signal
import socket
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any

import pytest

from lab.kea import KeaServer, running_agent, running_kea
from leasewatch.config import Secret, ServerConfig
from leasewatch.errors import LeasesError
from leasewatch.leases import kea as kea_module
from leasewatch.leases.kea import KeaLeaseSource, read_memfile
from leasewatch.leases.kea_api import KeaClient
from leasewatch.model import BindingState, FixedHost, Range

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "kea"


def socket_config(server: KeaServer, **changes: Any) -> ServerConfig:
    """A [[servers]] entry pointing at the lab server's control socket."""
    base = ServerConfig(
        name="kea1", kind="kea", control_socket=server.socket_path, timeout=5.0, page_size=3
    )
    return replace(base, **changes)


def add_leases(server: KeaServer, count: int, subnet: int = 1) -> list[str]:
    """Add ``count`` leases in 198.18.<subnet>.10 and up (pool and beyond: Kea allows it)."""
    ips = [f"198.18.{subnet}.{10 + i}" for i in range(count)]
    for index, ip in enumerate(ips):
        server.add_lease(ip, f"52:54:00:00:{subnet:02x}:{index:02x}", hostname=f"vm{index}")
    return ips


class CallSpy:
    """Counts the commands a real KeaClient sends (and can act after a given one)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, after: Any = None) -> None:
        self.commands: list[str] = []
        self.after = after
        real = KeaClient.call

        def call(client: KeaClient, command: str, arguments: Any = None) -> Any:
            self.commands.append(command)
            answer = real(client, command, arguments)
            if self.after is not None:
                self.after(self.commands)
            return answer

        monkeypatch.setattr(KeaClient, "call", call)


def test_pools_shared_networks_and_reservations_come_from_config_get(kea: KeaServer) -> None:
    """config-get gives both pool forms, shared-network names, CIDR names and reservations."""
    snapshot = KeaLeaseSource(socket_config(kea)).read()
    assert snapshot.kind == "kea"
    assert snapshot.server == "kea1"
    assert snapshot.complete
    assert set(snapshot.ranges) == {
        Range(
            IPv4Address("198.18.3.100"),
            IPv4Address("198.18.3.120"),
            IPv4Network("198.18.3.0/24"),
            "198.18.3.0/24",
        ),
        Range(
            IPv4Address("198.18.1.10"),
            IPv4Address("198.18.1.20"),
            IPv4Network("198.18.1.0/24"),
            "lab-shared",
        ),
        Range(
            IPv4Address("198.18.2.0"),
            IPv4Address("198.18.2.15"),
            IPv4Network("198.18.2.0/24"),
            "lab-shared",
        ),
    }
    assert snapshot.fixed == (
        FixedHost(name="fixed-one", mac="52:54:00:00:03:05", ip=IPv4Address("198.18.3.5")),
    )


def test_lease_fields_and_states_map_onto_the_model(kea: KeaServer) -> None:
    """State 0/1/2 map to active/declined/expired; expiry is cltt + valid-lft; subnet kept."""
    kea.add_lease("198.18.1.10", "52:54:00:AA:00:01", hostname="vm-a", **{"valid-lft": 600})
    kea.add_lease("198.18.2.3", "52:54:00:aa:00:02", state=1)
    kea.add_lease("198.18.3.100", "52:54:00:aa:00:03", state=2)
    before = datetime.now(UTC).replace(microsecond=0)
    leases = {str(lease.ip): lease for lease in KeaLeaseSource(socket_config(kea)).read().leases}
    after = datetime.now(UTC)
    active = leases["198.18.1.10"]
    assert active.state is BindingState.ACTIVE
    assert active.mac == "52:54:00:aa:00:01"
    assert active.hostname == "vm-a"
    assert active.subnet_id == 1
    assert active.server == "kea1"
    assert active.starts is not None and active.ends is not None
    assert before.timestamp() - 2 <= active.starts.timestamp() <= after.timestamp()
    assert (active.ends - active.starts).total_seconds() == 600
    assert active.is_active(after)
    assert leases["198.18.2.3"].state is BindingState.DECLINED
    assert leases["198.18.2.3"].hostname is None
    assert leases["198.18.3.100"].state is BindingState.EXPIRED
    assert leases["198.18.3.100"].subnet_id == 3


def test_pages_of_three_over_ten_leases_read_every_lease_once(
    kea: KeaServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """page_size 3 over 10 leases: four lease4-get-page calls, each lease once, in order."""
    ips = add_leases(kea, 10)
    spy = CallSpy(monkeypatch)
    snapshot = KeaLeaseSource(socket_config(kea, page_size=3)).read()
    assert [str(lease.ip) for lease in snapshot.leases] == ips
    assert spy.commands == ["config-get"] + ["lease4-get-page"] * 4


def test_an_exact_multiple_of_the_page_size_ends_on_kea_empty_result(
    kea: KeaServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """9 leases in pages of 3: the fourth page is Kea's result 3 ("0 leases found")."""
    add_leases(kea, 9)
    spy = CallSpy(monkeypatch)
    snapshot = KeaLeaseSource(socket_config(kea, page_size=3)).read()
    assert len(snapshot.leases) == 9
    assert spy.commands.count("lease4-get-page") == 4


def test_an_empty_server_gives_no_leases(kea: KeaServer) -> None:
    """No leases at all: the first page is result 3, and the snapshot is empty but complete."""
    snapshot = KeaLeaseSource(socket_config(kea)).read()
    assert snapshot.leases == ()
    assert snapshot.complete


@pytest.mark.lab
def test_a_large_answer_arriving_in_many_chunks_is_read_whole(
    short_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """1500 leases in one page (about 280 kB): Kea's answer takes several reads, parsed whole."""
    reads: list[int] = []

    class CountingSocket(socket.socket):
        """A real socket that records the size of every read."""

        def recv(self, size: int, flags: int = 0) -> bytes:
            data = super().recv(size, flags)
            reads.append(len(data))
            return data

    subnets = {
        "subnet4": [
            {"id": 1, "subnet": "198.18.0.0/20", "pools": [{"pool": "198.18.0.10 - 198.18.7.250"}]}
        ]
    }
    with running_kea(short_tmp / "big", subnets=subnets) as server:
        for i in range(1500):
            server.add_lease(
                f"198.18.{i // 250}.{i % 250 + 1}", f"52:54:00:01:{i >> 8:02x}:{i & 255:02x}"
            )
        monkeypatch.setattr(socket, "socket", CountingSocket)
        snapshot = KeaLeaseSource(socket_config(server, page_size=2000)).read()
    assert len(snapshot.leases) == 1500
    assert len(reads) > 2  # config-get, then the big page in several pieces


@pytest.mark.lab
def test_a_server_without_lease_cmds_names_the_hook_to_load(short_tmp: Path) -> None:
    """Without libdhcp_lease_cmds.so Kea answers result 2; the error names the library."""
    with (
        running_kea(short_tmp / "nohook", hooks=()) as server,
        pytest.raises(LeasesError) as caught,
    ):
        KeaLeaseSource(socket_config(server)).read()
    message = str(caught.value)
    assert "kea1" in message
    assert "lease4-get-page" in message
    assert "libdhcp_lease_cmds.so" in message
    assert "\n" not in message


def test_a_missing_socket_is_one_line_naming_server_and_command(short_tmp: Path) -> None:
    """A control socket path that does not exist: LeasesError naming server and command."""
    config = ServerConfig(name="kea1", kind="kea", control_socket=short_tmp / "nope.sock")
    with pytest.raises(LeasesError) as caught:
        KeaLeaseSource(config).read()
    assert str(caught.value) == (
        f"kea server 'kea1': config-get: control socket {short_tmp / 'nope.sock'} does not exist"
    )


def test_a_dead_server_leaves_a_socket_that_refuses(kea: KeaServer) -> None:
    """Kea killed with SIGKILL leaves its socket file; connecting is refused: one clear line."""
    kea.kill(signal.SIGKILL)
    assert kea.socket_path.exists()
    with pytest.raises(LeasesError) as caught:
        KeaLeaseSource(socket_config(kea)).read()
    assert "kea server 'kea1': config-get:" in str(caught.value)
    assert "refused" in str(caught.value)


def test_a_socket_that_never_answers_times_out(short_tmp: Path) -> None:
    """A listening UNIX socket that accepts nothing and says nothing: error after the timeout."""
    path = short_tmp / "hung.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(path))
        listener.listen(1)
        config = ServerConfig(name="kea1", kind="kea", control_socket=path, timeout=0.5)
        started = time.monotonic()
        with pytest.raises(LeasesError) as caught:
            KeaLeaseSource(config).read()
        elapsed = time.monotonic() - started
    assert str(caught.value) == (
        f"kea server 'kea1': config-get: no answer from control socket {path} within 0.5s"
    )
    assert elapsed < 3


def test_a_server_that_answers_half_and_closes_is_an_error(short_tmp: Path) -> None:
    """A truncated answer (connection closed mid-JSON) is an error, not a short lease list."""
    path = short_tmp / "half.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(path))
        listener.listen(1)

        def answer_half() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(b'{ "result": 0, "arguments": { "Dhcp4": { "subnet4": [')

        thread = threading.Thread(target=answer_half, daemon=True)
        thread.start()
        config = ServerConfig(name="kea1", kind="kea", control_socket=path, timeout=5)
        with pytest.raises(LeasesError, match="incomplete or invalid answer"):
            KeaLeaseSource(config).read()
        thread.join(5)


def test_kea_killed_mid_scan_gives_one_error_and_no_partial_snapshot(
    kea: KeaServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kea dies after the first page: read() raises one line instead of returning 3 leases."""
    add_leases(kea, 10)

    def kill_after_first_page(commands: list[str]) -> None:
        if commands.count("lease4-get-page") == 1:
            kea.kill(signal.SIGKILL)

    CallSpy(monkeypatch, after=kill_after_first_page)
    with pytest.raises(LeasesError) as caught:
        KeaLeaseSource(socket_config(kea, page_size=3)).read()
    message = str(caught.value)
    assert message.startswith("kea server 'kea1': lease4-get-page: control socket ")
    assert "\n" not in message


def test_the_control_agent_with_basic_auth_gives_the_same_snapshot(kea: KeaServer) -> None:
    """kea-ctrl-agent over HTTP with basic auth reads what the socket reads."""
    add_leases(kea, 5)
    with running_agent(kea, username="leasewatch", password="s3cret-pw") as agent:
        over_http = KeaLeaseSource(
            ServerConfig(
                name="kea1",
                kind="kea",
                control_url=agent.url,
                username="leasewatch",
                password=Secret("s3cret-pw"),
                page_size=2,
            )
        ).read()
    over_socket = KeaLeaseSource(socket_config(kea)).read()
    assert over_http == over_socket
    assert len(over_http.leases) == 5


def test_a_wrong_agent_password_is_refused_without_echoing_it(kea: KeaServer) -> None:
    """HTTP 401 from the agent: one line naming the user, never the password."""
    with running_agent(kea, username="leasewatch", password="right-pw") as agent:
        config = ServerConfig(
            name="kea1",
            kind="kea",
            control_url=agent.url,
            username="leasewatch",
            password=Secret("wrong-pw"),
        )
        with pytest.raises(LeasesError) as caught:
            KeaLeaseSource(config).read()
    message = str(caught.value)
    assert message == (
        f"kea server 'kea1': config-get: unauthorized: control URL {agent.url} refused user "
        "'leasewatch' (401 Unauthorized)"
    )
    assert "wrong-pw" not in message and "right-pw" not in message


def test_credentials_in_the_agent_url_never_reach_a_message(short_tmp: Path) -> None:
    """A URL with user:password@ is shown without them when the agent is unreachable."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = ServerConfig(
        name="kea1", kind="kea", control_url=f"http://admin:pw-in-url@127.0.0.1:{port}/"
    )
    with pytest.raises(LeasesError) as caught:
        KeaLeaseSource(config).read()
    assert str(caught.value) == (
        f"kea server 'kea1': config-get: cannot connect to control URL "
        f"http://127.0.0.1:{port}/: connection refused"
    )


def test_an_agent_that_never_answers_times_out(short_tmp: Path) -> None:
    """A TCP listener on loopback that never answers HTTP: error after the read timeout."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
        config = ServerConfig(name="kea1", kind="kea", control_url=url, timeout=0.5)
        started = time.monotonic()
        with pytest.raises(LeasesError) as caught:
            KeaLeaseSource(config).read()
        elapsed = time.monotonic() - started
    assert str(caught.value) == (
        f"kea server 'kea1': config-get: no answer from control URL {url} within 0.5s"
    )
    assert elapsed < 3


def test_the_agent_in_front_of_a_dead_server_reports_kea_text(kea: KeaServer) -> None:
    """The agent is up but kea-dhcp4 is gone: Kea's result 1 text, on one line."""
    with running_agent(kea) as agent:
        kea.kill(signal.SIGKILL)
        config = ServerConfig(name="kea1", kind="kea", control_url=agent.url)
        with pytest.raises(LeasesError) as caught:
            KeaLeaseSource(config).read()
    message = str(caught.value)
    assert message.startswith("kea server 'kea1': config-get: Kea answered result 1: ")
    assert "\n" not in message


# -- the memfile CSV, as written by a real Kea (python -m lab.kea fixture fixtures/kea) ----


def copy_fixture(dest: Path, *names: str) -> Path:
    """Copy some fixture files into ``dest``; return the path of the main lease file."""
    for name in names:
        shutil.copy(FIXTURES / name, dest / name)
    return dest / "kea-leases4.csv"


def test_memfile_replay_matches_what_the_api_said(short_tmp: Path) -> None:
    """.2 then the main file, last row wins, valid_lifetime 0 deletes: same as lease4-get-all."""
    import json

    path = copy_fixture(short_tmp, "kea-leases4.csv", "kea-leases4.csv.2")
    leases, warnings = read_memfile(path, "kea1")
    assert warnings == []
    api = json.loads((FIXTURES / "api-leases.json").read_text())
    expected = [kea_module.lease_from_api("kea1", item) for item in api]
    assert leases == sorted(expected, key=lambda lease: lease.ip)
    by_ip = {str(lease.ip): lease for lease in leases}
    assert "198.18.3.100" not in by_ip  # deleted after the cleanup
    assert by_ip["198.18.1.11"].mac == "52:54:00:00:01:99"  # re-assigned after the cleanup
    assert by_ip["198.18.1.12"].hostname == "web,frontend"  # Kea wrote web&#x2cfrontend
    assert by_ip["198.18.2.3"].state is BindingState.DECLINED
    assert by_ip["198.18.3.101"].state is BindingState.EXPIRED


def test_memfile_without_the_cleanup_file_misses_older_leases(short_tmp: Path) -> None:
    """Only kea-leases4.csv (no .2): just the rows written since the last cleanup."""
    path = copy_fixture(short_tmp, "kea-leases4.csv")
    leases, _ = read_memfile(path, "kea1")
    assert [str(lease.ip) for lease in leases] == ["198.18.1.11", "198.18.1.13"]


def test_memfile_completed_file_wins_over_previous_and_input(short_tmp: Path) -> None:
    """With <file>.completed present (LFC interrupted), Kea ignores .2/.1: so do we."""
    copy_fixture(short_tmp, "kea-leases4.csv")
    shutil.copy(FIXTURES / "kea-leases4.csv.2", short_tmp / "kea-leases4.csv.completed")
    (short_tmp / "kea-leases4.csv.2").write_text(
        "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,"
        "hostname,state,user_context\n198.18.1.77,52:54:00:00:01:77,,3600,1795641383,1,0,0,,0,\n"
    )
    leases, _ = read_memfile(short_tmp / "kea-leases4.csv", "kea1")
    assert "198.18.1.77" not in {str(lease.ip) for lease in leases}
    assert len(leases) == 6


def test_memfile_incomplete_last_row_is_a_warning(short_tmp: Path) -> None:
    """A last row cut mid-write (no newline) is skipped with a warning naming file and line."""
    path = copy_fixture(short_tmp, "kea-leases4.csv")
    path.write_text(path.read_text() + "198.18.1.50,52:54:00:00")
    leases, warnings = read_memfile(path, "kea1")
    assert len(leases) == 2
    assert warnings == [f"{path}:5: incomplete last row ignored"]


def test_memfile_bad_row_names_file_and_line(short_tmp: Path) -> None:
    """A malformed row in the middle is one LeasesError naming file, line and what was expected."""
    path = copy_fixture(short_tmp, "kea-leases4.csv")
    lines = path.read_text().splitlines()
    lines.insert(2, "198.18.1.60,oops")
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(LeasesError) as caught:
        read_memfile(path, "kea1")
    assert str(caught.value).startswith(f"{path}:3: expected 11 comma-separated fields")


def test_memfile_with_a_foreign_header_is_refused(short_tmp: Path) -> None:
    """A file that is not a Kea v4 lease file (a v6 one, say) fails on line 1."""
    path = short_tmp / "kea-leases6.csv"
    path.write_text("address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type\n")
    with pytest.raises(LeasesError, match=r"kea-leases6\.csv:1: expected a Kea DHCPv4 lease"):
        read_memfile(path, "kea1")


def test_memfile_source_is_report_only(short_tmp: Path) -> None:
    """leases = <csv>: leases without pools, marked incomplete so nothing is ever released."""
    path = copy_fixture(short_tmp, "kea-leases4.csv", "kea-leases4.csv.2")
    snapshot = KeaLeaseSource(ServerConfig(name="kea1", kind="kea", leases=path)).read()
    assert snapshot.kind == "kea"
    assert not snapshot.complete
    assert snapshot.ranges == ()
    assert len(snapshot.leases) == 6
    assert any("report only" in warning for warning in snapshot.warnings)


def test_memfile_missing_is_one_line(short_tmp: Path) -> None:
    """A lease file that does not exist: LeasesError naming it."""
    path = short_tmp / "kea-leases4.csv"
    with pytest.raises(LeasesError, match="Kea lease file not found"):
        KeaLeaseSource(ServerConfig(name="kea1", kind="kea", leases=path)).read()


@pytest.mark.lab
def test_live_memfile_after_cleanup_matches_the_api(short_tmp: Path) -> None:
    """A running Kea with LFC every second: the replayed files equal lease4-get-page's answer."""
    from lab.kea import wait_for_lfc

    with running_kea(short_tmp / "lfc", lfc_interval=1) as server:
        add_leases(server, 6)
        wait_for_lfc(server)
        server.add_lease("198.18.2.5", "52:54:00:00:02:05")
        assert server.command("lease4-del", {"ip-address": "198.18.1.10"})["result"] == 0
        live = KeaLeaseSource(socket_config(server)).read().leases
        offline, _ = read_memfile(server.leases_file, "kea1")
    assert list(live) == offline
    assert len(offline) == 6


@pytest.mark.parametrize("address", ["19\u0662.18.1.10", "198.18.1", "198.018.1.10", "x"])
def test_a_malformed_api_address_is_one_error_line(address: str) -> None:
    """An address Kea would never send (non-ASCII digits, three octets, a leading zero) is a
    LeasesError naming the server, never a crash of the scan."""
    item = {"ip-address": address, "hw-address": "52:54:00:00:01:10", "cltt": 1, "valid-lft": 1}
    with pytest.raises(LeasesError, match="kea server 'kea1': unexpected lease entry"):
        kea_module.lease_from_api("kea1", item)


def test_memfile_columns_are_found_by_name(short_tmp: Path) -> None:
    """Kea 2.4+'s pool_id and a column no Kea wrote yet, in another order: read by name."""
    path = short_tmp / "kea-leases4.csv"
    path.write_text(
        "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,"
        "hostname,state,user_context,pool_id,future_column\n"
        "198.18.1.10,52:54:00:00:01:0a,,3600,1790003600,1,0,0,vm-a,0,,2,x\n"
        "198.18.1.11,52:54:00:00:01:0b,,3600,1790003600,1,0,0,,3,,0,y\n"
    )
    leases, warnings = read_memfile(path, "kea1")
    assert warnings == []
    assert [(str(x.ip), x.state, x.hostname) for x in leases] == [
        ("198.18.1.10", BindingState.ACTIVE, "vm-a"),
        ("198.18.1.11", BindingState.RELEASED, None),  # Kea 3.0's state 3
    ]


def test_memfile_without_a_required_column_names_it(short_tmp: Path) -> None:
    """A header lacking the state column: file:1 and the missing column's name."""
    path = short_tmp / "kea-leases4.csv"
    path.write_text("address,hwaddr,client_id,valid_lifetime,expire,subnet_id,hostname\n")
    with pytest.raises(LeasesError) as caught:
        read_memfile(path, "kea1")
    assert str(caught.value).startswith(
        f"{path}:1: Kea lease file header lacks the column(s) state "
    )
