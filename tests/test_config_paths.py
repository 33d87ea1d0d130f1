"""check-config checks what the config points at, as the user who runs it."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli_helpers import run


def config_text(base: Path, **over: str) -> str:
    """A config whose every path lies under ``base`` unless ``over`` says otherwise."""
    paths = {
        "leases": str(base / "dhcpd.leases"),
        "conf": str(base / "dhcpd.conf"),
        "macs": str(base / "macs.txt"),
        "state": str(base / "state" / "state.db"),
        "command": "true",
    }
    paths.update(over)
    return f"""[[servers]]
name = "dhcp1"
kind = "isc"
leases = "{paths["leases"]}"
dhcpd_conf = "{paths["conf"]}"

[[inventory]]
name = "cmdb"
kind = "file"
path = "{paths["macs"]}"

[[inventory]]
name = "script"
kind = "command"
command = ["{paths["command"]}"]

[state]
path = "{paths["state"]}"
"""


@pytest.fixture
def base() -> Iterator[Path]:
    """A directory every user may enter (pytest's tmp_path is root's alone)."""
    with tempfile.TemporaryDirectory(prefix="lw-paths-") as name:
        path = Path(name)
        path.chmod(0o755)
        for file in ("dhcpd.leases", "dhcpd.conf", "macs.txt"):
            (path / file).write_text("")
            (path / file).chmod(0o644)
        yield path


def test_every_named_path_is_checked_with_file_and_line(base: Path) -> None:
    """Missing files, a directory for a file and a missing command: one line each, exit 3."""
    config = base / "leasewatch.toml"
    config.write_text(
        config_text(
            base,
            leases=str(base / "nope.leases"),
            conf=str(base),
            macs=str(base / "gone.txt"),
            command="/nonexistent/list-macs",
        )
    )
    result = run("-c", str(config), "check-config")
    assert result.status == 3, result.err
    lines = result.err.strip().splitlines()
    assert f"{config}:4: servers[0].leases: {base}/nope.leases: no such file" in lines[1]
    assert f"{config}:5: servers[0].dhcpd_conf: {base}: is a directory" in lines[0]
    assert f"{config}:10: inventory[0].path: {base}/gone.txt: no such file" in result.err
    assert f"{config}:15: inventory[1].command: /nonexistent/list-macs: no such" in result.err
    assert len(lines) == 4


def test_all_readable_is_ok(base: Path) -> None:
    """With every file there, check-config passes (the state directory will be created)."""
    config = base / "leasewatch.toml"
    config.write_text(config_text(base))
    result = run("-c", str(config), "check-config")
    assert result.status == 0, result.err


def as_nobody(config: Path) -> tuple[int, str]:
    """``leasewatch check-config`` in a child process that became the user nobody.

    A fork, not a new interpreter: the child already holds leasewatch in memory, so the test
    does not depend on nobody being able to read the checkout (CI may clone it under /root).
    """
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop to nobody, run, report, never return into pytest
        status = 99
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            result = run("-c", str(config), "check-config")
            status = result.status
            os.write(write, result.err.encode())
        finally:
            os._exit(status)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        err = pipe.read().decode()
    _, wait_status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(wait_status), err


def test_unreadable_for_the_user_who_runs_it(base: Path) -> None:
    """A leases file only root may read, and a state directory nobody may not create in."""
    assert os.geteuid() == 0, "the suite runs as root (the lab needs it)"
    config = base / "leasewatch.toml"
    config.write_text(config_text(base))
    config.chmod(0o644)
    (base / "dhcpd.leases").chmod(0o600)
    status, err = as_nobody(config)
    assert status == 3, err
    assert f"servers[0].leases: {base}/dhcpd.leases: not readable by user nobody" in err
    assert (
        f"state.path: {base}/state/state.db: cannot be created: {base} is not writable by"
        " user nobody" in err
    )
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 2, lines


def test_tls_ca_files_are_checked_for_inventories_and_webhooks(base: Path) -> None:
    """A ``tls_ca`` that is missing, for an inventory or a webhook: one line each, exit 3."""
    config = base / "leasewatch.toml"
    config.write_text(
        config_text(base)
        + f"""
[[inventory]]
name = "pve"
kind = "proxmox"
host = "pve1.example"
user = "leasewatch@pve"
token_name = "inventory"
token_value = "x"
tls_ca = "{base}/pve-ca.pem"

[[alerts.webhooks]]
format = "generic"
url = "https://hooks.example/x"
tls_ca = "{base}/hooks-ca.pem"
"""
    )
    result = run("-c", str(config), "check-config")
    assert result.status == 3, result.err
    lines = result.err.strip().splitlines()
    assert f"inventory[2].tls_ca: {base}/pve-ca.pem: no such file" in lines[0]
    assert f"alerts.webhooks[0].tls_ca: {base}/hooks-ca.pem: no such file" in lines[1]
    assert len(lines) == 2
