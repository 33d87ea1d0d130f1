"""``leasewatch daemon`` over a real kea-dhcp4 that crashes and comes back.

While Kea is down the daemon keeps scanning, reports the server down (one log line and one
``leasewatch_scan_errors_total{source="kea1"}`` per scan) and releases nothing; once Kea is
back with its memfile, the next scans read it again and the reaper releases the orphan with
``lease4-del``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.kea import running_kea
from tests.test_daemon import Running, _free_port, launch

pytestmark = pytest.mark.lab  # a real kea-dhcp4 in every test

LIVE = "52:54:00:12:35:01"
GONE = "52:54:00:12:35:02"


def _config(d: Path, socket_path: Path, metrics_port: int) -> str:
    return f"""\
[[servers]]
name = "kea1"
kind = "kea"
control_socket = "{socket_path}"
timeout = 2

[[inventory]]
name = "hv"
kind = "file"
path = "{d}/macs"

[reaper]
apply = true
grace = "1s"

[daemon]
every = "1s"
metrics = "127.0.0.1:{metrics_port}"

[state]
path = "{d}/state.db"
"""


@pytest.fixture
def kea_root() -> Iterator[Path]:
    """A short directory (a UNIX socket path must fit 107 bytes) for Kea and the daemon."""
    with tempfile.TemporaryDirectory(prefix="lwdk-") as tmp:
        yield Path(tmp)


def _daemon(d: Path, socket_path: Path) -> Running:
    metrics_port = _free_port()
    config = d / "leasewatch.toml"
    config.write_text(_config(d, socket_path, metrics_port))
    return launch(d, config, metrics_port)


def _released(daemon: Running) -> float:
    return daemon.value("leasewatch_releases_total", server="kea1", outcome="released") or 0


def test_daemon_rides_out_a_kea_crash(kea_root: Path) -> None:
    """Kea killed: server down, errors counted, nothing released; Kea back: orphan released."""
    kea_dir = kea_root / "kea"
    daemon: Running | None = None
    try:
        with running_kea(kea_dir) as kea:
            # both VMs alive while Kea runs: nothing to release yet
            (kea_root / "macs").write_text(f"{LIVE}\n{GONE}\n")
            kea.add_lease("198.18.1.10", LIVE, hostname="vm-live")
            kea.add_lease("198.18.1.11", GONE, hostname="vm-gone")
            daemon = _daemon(kea_root, kea.socket_path)
            daemon.wait_for(
                "kea1 to be up", lambda: daemon.value("leasewatch_server_up", server="kea1") == 1
            )
            kea.kill()  # SIGKILL: the socket file stays behind, as after a crash
        errors = "leasewatch_scan_errors_total"
        daemon.wait_for(
            "kea1 to be down", lambda: daemon.value("leasewatch_server_up", server="kea1") == 0
        )
        (kea_root / "macs").write_text(f"{LIVE}\n")  # the VM is gone, but Kea is down
        before = daemon.value(errors, source="kea1") or 0
        daemon.wait_scans(2)
        assert (daemon.value(errors, source="kea1") or 0) >= before + 2
        assert _released(daemon) == 0
        assert "kea server 'kea1'" in daemon.logs()
        assert "Traceback" not in daemon.logs()

        with running_kea(kea_dir):  # the same memfile: both leases are back
            daemon.wait_for(
                "kea1 to be back",
                lambda: daemon.value("leasewatch_server_up", server="kea1") == 1,
            )
            daemon.wait_for("the orphan's release", lambda: _released(daemon) == 1)
            daemon.wait_scans(2)
            assert _released(daemon) == 1  # the live VM's lease stays
            assert daemon.value("leasewatch_orphans", server="kea1", network="lab-shared") == 0
    finally:
        if daemon is not None and daemon.proc.poll() is None:
            daemon.proc.kill()
            daemon.proc.wait()
