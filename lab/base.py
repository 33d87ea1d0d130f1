"""What every lab shares: a tag, a temp dir removed last, ``close()`` on failure and ``with``.

``LabBase`` gives a lab its unique ``tag`` (``new_tag``) and ``workdir`` (``lab_dir``) when
made; ``_built(build)`` runs the lab's start-up and, when any step fails, closes what was
built (nothing is left: processes, namespaces, files) before the error goes on; ``close()``
runs the lab's ``_teardown`` and removes the directory last, even when the teardown fails.

``VmLab`` adds a hypervisor of VMs (``boot``, ``destroy``, ``inventory_argv``); ``ServerLab``
adds the seed's shape of a lab: a DHCP server's namespace ``lw-<tag>-srv``
joined to a hypervisor of VMs (``lw-<tag>-hv``), torn down after the lab's servers stop.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Self

from lab.netns import CLEANUP, Namespace, lab_dir, new_tag
from lab.vm import Hypervisor, Vm


class LabBase:
    """A lab's life: made with a tag and a temp dir, closed once, also by ``with``."""

    def __init__(self, prefix: str = "lw") -> None:
        self.tag = new_tag()
        self.workdir, self._dir_token = lab_dir(self.tag, prefix)

    def _teardown(self) -> None:
        """Undo what the lab built, newest first (the temp dir goes after this)."""

    def close(self) -> None:
        """Stop what the lab runs, delete what it made; the temp dir last."""
        try:
            self._teardown()
        finally:
            CLEANUP.run(self._dir_token)

    def _built(self, build: Callable[[], None]) -> Self:
        """Run the start-up ``build``; when it fails, close the lab, then re-raise."""
        try:
            build()
        except BaseException:
            self.close()
            raise
        return self

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class VmLab(LabBase):
    """A lab with a hypervisor of VMs (``hv``, made by the lab's start-up)."""

    def __init__(self, prefix: str = "lw") -> None:
        super().__init__(prefix)
        self.hv: Hypervisor | None = None

    @property
    def hypervisor(self) -> Hypervisor:
        assert self.hv is not None
        return self.hv

    def boot(self, n: int = 1, timeout: float = 20.0) -> list[Vm]:
        return self.hypervisor.boot(n, timeout)

    def destroy(self, vm: Vm) -> None:
        self.hypervisor.destroy(vm)

    def inventory_argv(self) -> list[str]:
        return self.hypervisor.inventory_argv()


class ServerLab(VmLab):
    """A DHCP server's namespace and a hypervisor of VMs joined to it."""

    def __init__(self, prefix: str = "lw") -> None:
        super().__init__(prefix)
        self.server_ns: Namespace | None = None

    def _network(self) -> Hypervisor:
        """Create the server's namespace and the hypervisor (veth: ``hv.server_iface``)."""
        self.server_ns = Namespace.create(f"lw-{self.tag}-srv")
        self.hv = Hypervisor.create(self.server_ns, self.tag, self.workdir)
        return self.hv

    @property
    def netns(self) -> str:
        assert self.server_ns is not None
        return self.server_ns.name

    def _stop_servers(self) -> None:
        """Stop the lab's servers (before the VMs and the namespaces go)."""

    def _teardown(self) -> None:
        try:
            self._stop_servers()
        finally:
            if self.hv is not None:
                self.hv.close()
            if self.server_ns is not None:
                self.server_ns.delete()
