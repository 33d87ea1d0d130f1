"""The process dying right after the DHCP server answered a release: a real backend wrapped
so that a BaseException (as a SIGKILL would) follows its answer, before the audit is
completed. Shared by the crash tests against dhcpd (OMAPI) and Kea (lease4-del)."""

from __future__ import annotations

from pathlib import Path

import pytest

from leasewatch import config as config_module
from leasewatch.config import ServerConfig
from leasewatch.model import Lease, Outcome
from leasewatch.reaper import kinds as reaper_kinds
from leasewatch.reaper.interface import ReleaseBackend
from leasewatch.scan import Scanner
from leasewatch.state import State


class Killed(BaseException):
    """The process dying right after the server answered."""


class DiesAfterRelease(ReleaseBackend):
    """The real backend, and a death between its answer and the audit's completion."""

    def __init__(self, inner: ReleaseBackend) -> None:
        self.inner = inner

    def release(self, lease: Lease) -> tuple[Outcome, str]:
        self.inner.release(lease)
        raise Killed

    def close(self) -> None:
        self.inner.close()


def release_and_die(path: Path, mac: str) -> None:
    """Release ``mac``'s lease with the config at ``path``; the process "dies" right after
    the server answered (the audit record stays as it was before the server was asked)."""
    config = config_module.load(path)

    def dying(server: ServerConfig) -> ReleaseBackend | None:
        real = reaper_kinds.build(server)
        return None if real is None else DiesAfterRelease(real)

    state = State.open(config.state.path)
    try:
        with pytest.raises(Killed):
            Scanner(config, backend=dying).release_one(
                state, mac=mac, ip=None, server=None, force=False, dry_run=False
            )
    finally:
        state.close()
