"""A real libvirtd (Debian libvirt-daemon) that loads only libvirt's built-in test driver.

``LibvirtdLab.start()`` runs ``libvirtd -f CONF -p PIDFILE`` in a namespace of its own and a
private mount namespace (``unshare -m``) whose /run is the lab's directory, so its sockets
land in ``<workdir>/run/libvirt`` and the host's /run is never touched.
``LIBVIRT_DRIVER_DIR`` points at an empty folder: no hypervisor or network driver loads,
only the test driver built into libvirt.so. Clients reach it as
``test+unix:///default?socket=<workdir>/run/libvirt/libvirt-sock`` (``lab.uri``) and share
one test driver: its domains and their lifecycle events.

The test driver drops its state when its last client leaves, so the lab keeps one
connection open (``hold``); ``kill()`` and ``restart()`` stop and start the daemon (the
driver then starts over from its default state: define the domains again).

``run_libvirtd`` is the one libvirtd launcher of the lab: this lab's test-driver daemon and
the dnsmasq lab's ``flavour="libvirtd"`` (its real network driver, ``system_mounts``) both
start theirs with it.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lab.base import LabBase
from lab.launch import Daemon, launch, probe, with_mounts
from lab.netns import Namespace, sh
from lab.tls import TlsFiles

LIBVIRTD = "/usr/sbin/libvirtd"
TLS_PORT = 16514  # libvirt's own, inside the lab's namespace


def virsh(uri: str, *args: str) -> str:
    """``virsh`` against the libvirtd at ``uri``."""
    return sh("virsh", "-q", "-c", uri, *args)


def run_libvirtd(
    ns: Namespace,
    root: Path,
    *,
    uri: str,
    conf: str = "",
    mounts: Sequence[tuple[Path, str]] = (),
    drivers: Path | None = None,
    listen: bool = False,
    answers: Sequence[str] = ("list", "--all"),
    logs: Sequence[Path] = (),
    timeout: float = 20.0,
) -> Daemon:
    """libvirtd with its config, pid file and debug log in ``root``, in ``ns`` and a private
    mount namespace whose /run is ``root/run`` (afresh: its sockets land in
    ``root/run/libvirt``) and where ``mounts`` are bound too; ready once ``virsh <answers>``
    on ``uri`` does.

    ``conf`` is added to the config (no authentication on the UNIX sockets, a debug log);
    ``drivers``: ``LIBVIRT_DRIVER_DIR`` (an empty one: only the built-in test driver);
    ``listen``: ``--listen`` (TCP/TLS, as ``conf`` says).
    """
    run = root / "run"
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir()
    config = root / "libvirtd.conf"
    config.write_text(
        'auth_unix_ro = "none"\nauth_unix_rw = "none"\n'
        f'log_outputs = "3:file:{root / "libvirtd-debug.log"}"\n' + conf
    )
    pid_file = root / "libvirtd.pid"
    argv = [LIBVIRTD, *(["--listen"] if listen else []), "-f", str(config), "-p", str(pid_file)]
    env = {"LIBVIRT_DRIVER_DIR": str(drivers)} if drivers is not None else {}
    return launch(
        "libvirtd",
        with_mounts(argv, [*mounts, (run, "/run")], **env),
        ns=ns,
        log=root / "libvirtd.log",
        ready=[probe(f"virsh {' '.join(answers)}", lambda: virsh(uri, *answers))],
        timeout=timeout,
        files=[pid_file],
        logs=logs,
    )


def system_mounts(root: Path) -> list[tuple[Path, str]]:
    """What a libvirtd with its real drivers (network, QEMU) needs of its own: the lab's
    /etc/libvirt, /var/lib, /var/cache and /var/log, and an /etc/passwd and /etc/group with
    the ``libvirt-qemu`` user (made under ``root``; bind them with ``run_libvirtd``)."""
    for sub in ("etc", "varlib", "varcache", "varlog"):
        (root / sub).mkdir()
    for conf in Path("/etc/libvirt").glob("*.conf"):
        shutil.copy(conf, root / "etc" / conf.name)
    # The QEMU driver resolves its compiled-in user at start and fails the whole daemon
    # without it: the lab's /etc/passwd has it (visible to libvirtd only).
    (root / "etc" / "qemu.conf").write_text('user = "root"\ngroup = "root"\n')
    passwd = (
        Path("/etc/passwd").read_text()
        + "libvirt-qemu:x:64055:64055::/nonexistent:/usr/sbin/nologin\n"
    )
    (root / "passwd").write_text(passwd)
    (root / "group").write_text(Path("/etc/group").read_text() + "libvirt-qemu:x:64055:\n")
    return [
        (root / "passwd", "/etc/passwd"),
        (root / "group", "/etc/group"),
        (root / "etc", "/etc/libvirt"),
        (root / "varlib", "/var/lib"),
        (root / "varcache", "/var/cache"),
        (root / "varlog", "/var/log"),
    ]


def domain_xml(name: str, mac: str) -> str:
    """A test-driver domain with one NIC."""
    return (
        "<domain type='test'>"
        f"<name>{name}</name><memory>1048576</memory><os><type>hvm</type></os>"
        f"<devices><interface type='network'><mac address='{mac}'/>"
        "<source network='default'/></interface></devices></domain>"
    )


class LibvirtdLab(LabBase):
    """libvirtd with the test driver only; ``close()`` (or ``with``) removes it all."""

    def __init__(self, tls: TlsFiles | None) -> None:
        super().__init__("lwv")  # short: a UNIX socket path must fit in 107 bytes
        self.tls = tls
        self.ns: Namespace | None = None
        self.libvirtd: Daemon | None = None
        self._holder: Any = None

    @property
    def uri(self) -> str:
        return f"test+unix:///default?socket={self.workdir / 'run' / 'libvirt' / 'libvirt-sock'}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "libvirtd.log"

    @classmethod
    def start(cls, tls: TlsFiles | None = None) -> LibvirtdLab:
        """Start libvirtd and hold one connection; wait until it answers. With ``tls`` it
        also listens for ``+tls`` clients on 127.0.0.1:TLS_PORT in its namespace, with
        that CA's server certificate, and requires a client certificate of the same CA."""
        lab = cls(tls)
        return lab._built(lab._build)

    def _build(self) -> None:
        self.ns = Namespace.create(f"lw-{self.tag}-virt")
        (self.workdir / "drivers").mkdir()
        self._run()

    def _run(self) -> None:
        assert self.ns is not None
        conf = ""
        if self.tls is not None:
            tls = self.tls
            conf = (
                'listen_tls = 1\nlisten_tcp = 0\nlisten_addr = "127.0.0.1"\n'
                f'tls_port = "{TLS_PORT}"\nca_file = "{tls.ca}"\n'
                f'cert_file = "{tls.server_cert}"\nkey_file = "{tls.server_key}"\n'
            )
        self.libvirtd = run_libvirtd(
            self.ns,
            self.workdir,
            uri=self.uri,
            conf=conf,
            drivers=self.workdir / "drivers",
            listen=self.tls is not None,
        )
        self.hold()

    def hold(self) -> None:
        """Keep one connection open: the test driver keeps its domains while one stays."""
        import libvirt

        self._holder = libvirt.open(self.uri)

    def virsh(self, *args: str) -> str:
        """``virsh`` against this lab's libvirtd."""
        return virsh(self.uri, *args)

    def define(self, name: str, mac: str, *, start: bool = True) -> None:
        """Define a domain with one NIC of ``mac`` (and start it: a running VM)."""
        xml = self.workdir / f"{name}.xml"
        xml.write_text(domain_xml(name, mac), encoding="utf-8")
        self.virsh("define", str(xml))
        if start:
            self.virsh("start", name)

    def kill(self) -> None:
        """Stop libvirtd (SIGKILL: no goodbye to its clients); the holder goes with it."""
        if self.libvirtd is not None:
            self.libvirtd.kill()
        self._drop_holder()

    def restart(self) -> None:
        """Start libvirtd again (the test driver starts from its default state)."""
        self._run()

    def _drop_holder(self) -> None:
        holder, self._holder = self._holder, None
        if holder is not None:
            # a connection to a dead daemon may refuse to close: it is gone either way
            with contextlib.suppress(Exception):
                holder.close()

    def _teardown(self) -> None:
        """Stop libvirtd, delete the namespace."""
        self._drop_holder()
        if self.libvirtd is not None:
            self.libvirtd.stop()
        if self.ns is not None:
            self.ns.delete()
