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
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from lab.netns import CLEANUP, LabError, Namespace, new_tag, sh, stop_process
from lab.tls import TlsFiles

LIBVIRTD = "/usr/sbin/libvirtd"
TLS_PORT = 16514  # libvirt's own, inside the lab's namespace


def domain_xml(name: str, mac: str) -> str:
    """A test-driver domain with one NIC."""
    return (
        "<domain type='test'>"
        f"<name>{name}</name><memory>1048576</memory><os><type>hvm</type></os>"
        f"<devices><interface type='network'><mac address='{mac}'/>"
        "<source network='default'/></interface></devices></domain>"
    )


class LibvirtdLab:
    """libvirtd with the test driver only; ``close()`` (or ``with``) removes it all."""

    def __init__(self, tag: str, workdir: Path) -> None:
        self.tag = tag
        self.workdir = workdir
        self.ns: Namespace | None = None
        self._libvirtd: subprocess.Popen[bytes] | None = None
        self._holder: Any = None
        self._dir_token = 0
        self.tls: TlsFiles | None = None

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
        tag = new_tag()
        # short: a UNIX socket path must fit in 107 bytes
        workdir = Path(tempfile.mkdtemp(prefix=f"lwv-{tag}-"))
        lab = cls(tag, workdir)
        lab.tls = tls
        lab._dir_token = CLEANUP.push(f"directory {workdir}", lambda: shutil.rmtree(workdir, True))
        try:
            lab.ns = Namespace.create(f"lw-{tag}-virt")
            (workdir / "drivers").mkdir()
            conf = (
                'auth_unix_ro = "none"\nauth_unix_rw = "none"\n'
                f'log_outputs = "3:file:{workdir / "libvirtd-debug.log"}"\n'
            )
            if tls is not None:
                conf += (
                    'listen_tls = 1\nlisten_tcp = 0\nlisten_addr = "127.0.0.1"\n'
                    f'tls_port = "{TLS_PORT}"\nca_file = "{tls.ca}"\n'
                    f'cert_file = "{tls.server_cert}"\nkey_file = "{tls.server_key}"\n'
                )
            (workdir / "libvirtd.conf").write_text(conf)
            lab._run()
        except BaseException:
            lab.close()
            raise
        return lab

    def _run(self) -> None:
        assert self.ns is not None
        root = self.workdir
        shutil.rmtree(root / "run", ignore_errors=True)
        (root / "run").mkdir()
        script = (
            f"mount --bind {root / 'run'} /run && "
            f"LIBVIRT_DRIVER_DIR={root / 'drivers'} "
            f"exec {LIBVIRTD} {'--listen ' if self.tls else ''}"
            f"-f {root / 'libvirtd.conf'} -p {root / 'libvirtd.pid'}"
        )
        argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script]
        self._libvirtd = self.ns.popen(argv, log=self.log_path)
        self._wait()
        self.hold()

    def _wait(self, timeout: float = 20.0) -> None:
        assert self._libvirtd is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._libvirtd.poll() is not None:
                raise LabError(f"libvirtd exited {self._libvirtd.returncode}")
            try:
                self.virsh("list", "--all")
                return
            except LabError:
                time.sleep(0.1)
        raise LabError(f"libvirtd not answering after {timeout}s")

    def hold(self) -> None:
        """Keep one connection open: the test driver keeps its domains while one stays."""
        import libvirt

        self._holder = libvirt.open(self.uri)

    def virsh(self, *args: str) -> str:
        """``virsh`` against this lab's libvirtd."""
        return sh("virsh", "-q", "-c", self.uri, *args)

    def define(self, name: str, mac: str, *, start: bool = True) -> None:
        """Define a domain with one NIC of ``mac`` (and start it: a running VM)."""
        xml = self.workdir / f"{name}.xml"
        xml.write_text(domain_xml(name, mac), encoding="utf-8")
        self.virsh("define", str(xml))
        if start:
            self.virsh("start", name)

    def kill(self) -> None:
        """Stop libvirtd (SIGKILL: no goodbye to its clients); the holder goes with it."""
        if self._libvirtd is not None:
            stop_process(self._libvirtd, signal.SIGKILL)
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

    def close(self) -> None:
        """Stop libvirtd, delete the namespace and the temp dir."""
        self._drop_holder()
        if self._libvirtd is not None:
            stop_process(self._libvirtd)
        if self.ns is not None:
            self.ns.delete()
        CLEANUP.run(self._dir_token)

    def __enter__(self) -> LibvirtdLab:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
