"""``leasewatch daemon`` as a real subprocess: metrics, faults injected live, signals.

The daemon scans every second an ISC dhcpd.conf + dhcpd.leases written here, with a
``command`` inventory (a shell script whose output and behaviour the test changes), a
webhook on loopback that accepts connections and never answers, and an OMAPI port that is
closed while ``apply = true``. Every fault must be one log line and one
``leasewatch_scan_errors_total{source=...}``, with the daemon still scanning afterwards.
"""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parent.parent

MAC_LIVE = "52:54:00:12:34:01"
MAC_GONE = "52:54:00:12:34:02"

DHCPD_CONF = """\
# two networks: a shared network of two subnets, and a subnet standing alone
authoritative;
shared-network lab {
  subnet 198.18.1.0 netmask 255.255.255.0 {
    range 198.18.1.100 198.18.1.109;
  }
  subnet 198.18.2.0 netmask 255.255.255.0 {
    range 198.18.2.100 198.18.2.109;
  }
}
subnet 198.18.3.0 netmask 255.255.255.0 {
  range 198.18.3.10 198.18.3.13;
}
"""


def _lease(ip: str, mac: str, state: str = "active") -> str:
    return (
        f"lease {ip} {{\n"
        "  starts 4 2024/05/02 10:00:00;\n"
        "  ends 4 2099/05/02 10:00:00;\n"
        "  cltt 4 2024/05/02 10:00:00;\n"
        f"  binding state {state};\n"
        "  next binding state free;\n"
        f"  hardware ethernet {mac};\n"
        "}\n"
    )


LEASES = (
    "# The format of this file is documented in the dhcpd.leases(5) manual page.\n"
    + _lease("198.18.1.100", MAC_LIVE)
    + _lease("198.18.1.101", MAC_GONE)
    + _lease("198.18.3.10", "52:54:00:12:34:03")
    + _lease("198.18.3.11", "52:54:00:12:34:04")
    + _lease("198.18.3.12", "52:54:00:12:34:05", state="free")
)

# The inventory: prints the live MACs, or hangs (past its 1 s timeout) while a flag exists.
INVENTORY = """\
#!/bin/sh
echo $$ > "{dir}/inventory.pid"
if [ -e "{dir}/hang" ]; then exec sleep 30; fi
cat "{dir}/macs"
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(d: Path, *, metrics_port: int, omapi_port: int, webhook_port: int) -> str:
    key = base64.b64encode(b"leasewatch-test-key-0123456789ab").decode()
    return f"""\
[[servers]]
name = "dhcp1"
kind = "isc"
leases = "{d}/dhcpd.leases"
dhcpd_conf = "{d}/dhcpd.conf"

[servers.omapi]
host = "127.0.0.1"
port = {omapi_port}
key_name = "omapi_key"
key = "{key}"
timeout = 1

[[inventory]]
name = "hv"
kind = "command"
command = ["{d}/inventory.sh"]
timeout = 1

[reaper]
apply = true
grace = "1s"
max_shrink = 1.0

[alerts]
warn_at = 0.1
critical_at = 0.2
on_orphans = true

[[alerts.webhooks]]
name = "sink"
format = "generic"
url = "http://127.0.0.1:{webhook_port}/hook"
timeout = 1

[daemon]
every = "1s"
metrics = "127.0.0.1:{metrics_port}"

[state]
path = "{d}/state.db"
"""


@dataclass
class Running:
    """A daemon subprocess and what the test needs to poke and read it."""

    proc: subprocess.Popen[bytes]
    dir: Path
    config: Path
    log: Path
    metrics_port: int

    def scrape(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """GET /metrics and parse it as the exposition format (raises if it is not valid)."""
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=3) as response:
            text = response.read().decode()
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }

    def value(self, name: str, **labels: str) -> float | None:
        return self.scrape().get((name, tuple(sorted(labels.items()))))

    def logs(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, what: str, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"daemon exited:\n{self.logs()}"
            with contextlib.suppress(OSError):
                if predicate():
                    return
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}; log:\n{self.logs()[-3000:]}")

    def wait_scans(self, n: int = 2, timeout: float = 10.0) -> None:
        """Wait until ``n`` more scans have been counted."""
        start = self.value("leasewatch_scans_total") or 0
        self.wait_for(
            f"{n} scans",
            lambda: (self.value("leasewatch_scans_total") or 0) >= start + n,
            timeout,
        )


@pytest.fixture
def webhook_port() -> Iterator[int]:
    """A TCP listener on loopback that never accepts: POSTs connect, then time out."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(64)
        yield int(s.getsockname()[1])


def _start(tmp_path: Path, webhook_port: int) -> Running:
    d = tmp_path
    (d / "dhcpd.conf").write_text(DHCPD_CONF)
    (d / "dhcpd.leases").write_text(LEASES)
    (d / "macs").write_text(f"{MAC_LIVE}\n52:54:00:12:34:03\n52:54:00:12:34:04\n")
    script = d / "inventory.sh"
    script.write_text(INVENTORY.format(dir=d))
    script.chmod(0o755)
    metrics_port = _free_port()
    omapi_port = _free_port()  # nothing listens there: OMAPI is "down"
    config = d / "leasewatch.toml"
    config.write_text(
        _config(d, metrics_port=metrics_port, omapi_port=omapi_port, webhook_port=webhook_port)
    )
    return launch(d, config, metrics_port)


def launch(d: Path, config: Path, metrics_port: int) -> Running:
    """``leasewatch -c CONFIG daemon`` in the background, logging to ``d/daemon.log``."""
    log = d / "daemon.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "leasewatch", "-c", str(config), "daemon"],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Running(proc, d, config, log, metrics_port)


def _stop(running: Running) -> None:
    if running.proc.poll() is None:
        running.proc.kill()
        running.proc.wait()
    pid_file = running.dir / "inventory.pid"
    if pid_file.exists():  # a hung inventory script the daemon abandoned
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.killpg(int(pid_file.read_text()), signal.SIGKILL)


@pytest.fixture
def daemon(tmp_path: Path, webhook_port: int) -> Iterator[Running]:
    """A running daemon over fresh fixture files; killed (with its children) at the end."""
    running = _start(tmp_path, webhook_port)
    try:
        running.wait_for("the metrics endpoint", lambda: running.scrape() is not None)
        yield running
    finally:
        _stop(running)


def test_daemon_serves_metrics_survives_faults_and_stops(daemon: Running) -> None:
    """Scrape, break each input in turn, reload a bad config, then SIGTERM exits 0 in 5 s."""
    errors = "leasewatch_scan_errors_total"

    # --- healthy: per-network utilization, scans counted -------------------------------
    daemon.wait_scans(2)
    metrics = daemon.scrape()
    assert metrics[("leasewatch_network_size", (("network", "lab"), ("server", "dhcp1")))] == 20
    lab = (("network", "lab"), ("server", "dhcp1"))
    assert metrics[("leasewatch_network_utilization", lab)] == 2 / 20
    alone = (("network", "198.18.3.0/24"), ("server", "dhcp1"))
    assert metrics[("leasewatch_network_utilization", alone)] == 2 / 4
    pool = (("network", "198.18.3.0/24"), ("range", "198.18.3.10-198.18.3.13"), ("server", "dhcp1"))
    assert metrics[("leasewatch_pool_utilization", pool)] == 0.5
    assert metrics[("leasewatch_orphans", lab)] == 1  # MAC_GONE
    assert metrics[("leasewatch_inventory_healthy", (("source", "hv"),))] == 1
    assert metrics[("leasewatch_inventory_vms", (("source", "hv"),))] == 3
    assert metrics[("leasewatch_last_successful_scan_timestamp_seconds", ())] > 0
    scans = metrics[("leasewatch_scans_total", ())]
    daemon.wait_scans(1)
    assert (daemon.value("leasewatch_scans_total") or 0) > scans

    # --- OMAPI down with apply = true: the orphan's release fails, counted, logged -------
    daemon.wait_for(
        "a failed release",
        lambda: (
            (daemon.value("leasewatch_releases_total", server="dhcp1", outcome="failed") or 0) >= 1
        ),
    )
    assert "release on dhcp1 failed" in daemon.logs()

    # --- webhook that never answers: counted under source="alerts" ----------------------
    daemon.wait_for(
        "an undelivered alert", lambda: (daemon.value(errors, source="alerts") or 0) >= 1
    )
    assert "webhook 'sink' (generic): no answer within 1s" in daemon.logs()

    # --- leases file vanishes, then comes back ----------------------------------------
    before = daemon.value(errors, source="dhcp1") or 0
    leases = daemon.dir / "dhcpd.leases"
    leases.rename(daemon.dir / "dhcpd.leases.away")
    daemon.wait_for(
        "the server to be down", lambda: daemon.value("leasewatch_server_up", server="dhcp1") == 0
    )
    assert (daemon.value(errors, source="dhcp1") or 0) > before
    assert "cannot read leases file" in daemon.logs()
    (daemon.dir / "dhcpd.leases.away").rename(leases)
    daemon.wait_for(
        "the server to be back", lambda: daemon.value("leasewatch_server_up", server="dhcp1") == 1
    )

    # --- leases file being rewritten: a half-written tail is not released from ----------
    leases.write_text(LEASES + "lease 198.18.1.102 {\n  starts 4 2024/05/02")
    daemon.wait_for("a truncated-file warning", lambda: "not releasing" in daemon.logs())
    leases.write_text(LEASES)

    # --- inventory command hangs past its timeout: unhealthy, nothing reaped ------------
    (daemon.dir / "hang").touch()
    daemon.wait_for(
        "the inventory to be unhealthy",
        lambda: daemon.value("leasewatch_inventory_healthy", source="hv") == 0,
    )
    failed = daemon.value("leasewatch_releases_total", server="dhcp1", outcome="failed")
    hv_errors = daemon.value(errors, source="hv") or 0
    daemon.wait_scans(2)
    assert (daemon.value(errors, source="hv") or 0) > hv_errors
    # unknown, not orphaned: no further release was even attempted
    assert daemon.value("leasewatch_releases_total", server="dhcp1", outcome="failed") == failed
    assert "timed out after 1s" in daemon.logs()
    (daemon.dir / "hang").unlink()
    daemon.wait_for(
        "the inventory to recover",
        lambda: daemon.value("leasewatch_inventory_healthy", source="hv") == 1,
    )

    # --- SIGHUP with an invalid config: the old one stays ------------------------------
    good = daemon.config.read_text()
    daemon.config.write_text(good.replace('every = "1s"', 'every = "soon"'))
    daemon.proc.send_signal(signal.SIGHUP)
    daemon.wait_for(
        "the reload to be refused",
        lambda: "reload failed, keeping the old config" in daemon.logs(),
    )
    assert "daemon.every" in daemon.logs()
    daemon.wait_scans(2)  # still scanning every second on the old config

    # --- SIGHUP with a non-UTF-8 byte: one line, the old config, metrics still served ----
    refused = daemon.logs().count("reload failed")
    daemon.config.write_bytes(good.encode() + b"# caf\xe9\n")
    daemon.proc.send_signal(signal.SIGHUP)
    daemon.wait_for("the reload to be refused", lambda: "is not UTF-8" in daemon.logs())
    assert daemon.logs().count("reload failed") == refused + 1
    daemon.wait_scans(2)
    assert daemon.value("leasewatch_server_up", server="dhcp1") == 1
    daemon.config.write_text(good)

    # --- SIGTERM: exit 0 within 5 s -----------------------------------------------------
    started = time.monotonic()
    daemon.proc.send_signal(signal.SIGTERM)
    code = daemon.proc.wait(timeout=5)
    elapsed = time.monotonic() - started
    assert code == 0, daemon.logs()
    assert elapsed < 5
    assert "Traceback" not in daemon.logs()
    assert daemon.logs().rstrip().endswith("info leasewatch.daemon: stopped")


def test_sigterm_abandons_a_scan_stuck_before_releases(daemon: Running) -> None:
    """A scan stuck on a hung inventory is abandoned on SIGTERM: exit 0 well within 5 s."""
    daemon.wait_scans(1)
    # a long inventory timeout, and a command that hangs: the next scan sticks
    text = daemon.config.read_text()
    daemon.config.write_text(text.replace("timeout = 1\n\n[reaper]", "timeout = 60\n\n[reaper]"))
    daemon.proc.send_signal(signal.SIGHUP)
    daemon.wait_for("the reload", lambda: "reloaded" in daemon.logs())
    (daemon.dir / "hang").touch()
    pid_file = daemon.dir / "inventory.pid"

    def hanging() -> bool:
        cmdline = Path(f"/proc/{pid_file.read_text().strip()}/cmdline").read_bytes()
        return cmdline.startswith(b"sleep")

    daemon.wait_for("the inventory to hang", hanging)
    started = time.monotonic()
    daemon.proc.send_signal(signal.SIGTERM)
    assert daemon.proc.wait(timeout=5) == 0, daemon.logs()
    assert time.monotonic() - started < 5
    assert "abandoning the scan in progress" in daemon.logs()
