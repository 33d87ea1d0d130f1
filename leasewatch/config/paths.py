"""``check-config``: can the user running it read every file the config names?

Loading checks what a value says; this checks what it points at, as the current user, so a
typo'd leases path or a state directory the service cannot write is found before the first
scan, not by it. Secret files (``*_file``) are read at load already.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
from pathlib import Path

from leasewatch.config.reader import Loader
from leasewatch.config.schema import Config


def _user() -> str:
    uid = os.geteuid()
    try:
        return f"user {pwd.getpwuid(uid).pw_name}"
    except KeyError:  # a uid with no passwd entry (a container, DynamicUser=)
        return f"uid {uid}"


def _access(path: Path, mode: int) -> bool:
    return os.access(path, mode, effective_ids=os.access in os.supports_effective_ids)


def _file_problem(path: Path) -> str | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return "no such file"
    except OSError as exc:
        return f"cannot look at it: {exc.strerror}"
    if stat.S_ISDIR(st.st_mode):
        return "is a directory, expected a file"
    if not _access(path, os.R_OK):
        return f"not readable by {_user()}"
    return None


def _socket_problem(path: Path) -> str | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return "no such socket (is the server running?)"
    except OSError as exc:
        return f"cannot look at it: {exc.strerror}"
    if not stat.S_ISSOCK(st.st_mode):
        return "not a socket"
    if not _access(path, os.W_OK):  # connect(2) needs write permission on the socket
        return f"{_user()} may not connect to it"
    return None


def _command_problem(argv0: str) -> str | None:
    if "/" not in argv0:
        return None if shutil.which(argv0) else "not found on PATH"
    path = Path(argv0)
    if not path.exists():
        return "no such file"
    if not _access(path, os.X_OK) or path.is_dir():
        return f"not executable by {_user()}"
    return None


def _state_problem(path: Path) -> str | None:
    """The state file is read and written; a missing one is created with its directories."""
    if path.exists():
        if path.is_dir():
            return "is a directory, expected a file"
        if not _access(path, os.R_OK | os.W_OK):
            return f"not writable by {_user()}"
        return None
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        return f"{parent} is not a directory"
    if not _access(parent, os.W_OK | os.X_OK):
        return f"cannot be created: {parent} is not writable by {_user()}"
    return None


def problems(config: Config, text: str | None = None) -> list[str]:
    """One line per path the current user cannot use, named by file, line and key
    (the lines found in ``text``, else in the config file)."""
    if text is None:
        try:
            text = config.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            text = ""  # a config built from command-line flags has no file: no line numbers
    loader = Loader(config.path, text, {})

    def check(where: str, key: str, path: Path | str, problem: str | None) -> None:
        if problem is not None:
            loader.error(where, key, f"{path}: {problem}")

    for index, server in enumerate(config.servers):
        where = f"servers[{index}]"
        if server.dhcpd_conf is not None:
            check(where, "dhcpd_conf", server.dhcpd_conf, _file_problem(server.dhcpd_conf))
        if server.leases is not None:
            check(where, "leases", server.leases, _file_problem(server.leases))
        if server.dnsmasq_conf is not None:
            conf = server.dnsmasq_conf
            check(where, "dnsmasq_conf", conf, _file_problem(conf))
        if server.status is not None:
            check(where, "status", server.status, _file_problem(server.status))
        if server.control_socket is not None:
            socket = server.control_socket
            check(where, "control_socket", socket, _socket_problem(socket))
        for key in ("tls_ca", "tls_cert", "tls_key"):
            if (path := getattr(server, key)) is not None:
                check(where, key, path, _file_problem(path))
    for index, inventory in enumerate(config.inventory):
        where = f"inventory[{index}]"
        if inventory.kind == "file" and inventory.path is not None:
            check(where, "path", inventory.path, _file_problem(inventory.path))
        if inventory.kind == "command" and inventory.command:
            argv0 = inventory.command[0]
            check(where, "command", argv0, _command_problem(argv0))
        if inventory.tls_ca is not None:
            check(where, "tls_ca", inventory.tls_ca, _file_problem(inventory.tls_ca))
    for index, webhook in enumerate(config.alerts.webhooks):
        if webhook.tls_ca is not None:
            where = f"alerts.webhooks[{index}]"
            check(where, "tls_ca", webhook.tls_ca, _file_problem(webhook.tls_ca))
    check("state", "path", config.state.path, _state_problem(config.state.path))
    return loader.errors
