"""Release a dnsmasq lease with ``dhcp_release``, and believe it only once the lease is gone.

dnsmasq has no lease API in its default build. ``dhcp_release IFACE IP MAC`` (Debian package
dnsmasq-utils, contrib/lease-tools in dnsmasq's source) sends it a DHCPRELEASE that looks
like the client's, from a socket bound to IFACE, to the server address of IFACE. It gets no
answer, and it exits 0 whether dnsmasq took it or not (dnsmasq logs "unknown lease" for a
wrong MAC or address and silently drops a packet that arrives on an interface it does not
serve). So the release counts only when a re-read of the lease file (or libvirt's status or
API) shows the lease gone within the server's ``timeout``; otherwise the audit says failed.

It must run as root on the dnsmasq host, in dnsmasq's network namespace (``netns`` runs it
through ``ip netns exec``). leasewatch never edits the lease file and never restarts dnsmasq:
dnsmasq keeps its leases in memory and would write an edited file back.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime

from leasewatch.config import ServerConfig
from leasewatch.errors import LeasesError, ReleaseError
from leasewatch.leases.dnsmasq import DnsmasqLeaseSource, bridge_of_status, holders
from leasewatch.model import Lease, Outcome
from leasewatch.reaper.interface import ReleaseBackend

DHCP_RELEASE = "dhcp_release"
POLL_INTERVAL = 0.01  # dnsmasq rewrites the file 0-4 ms after the packet (measured, lab)

_NAMESPACE_HINT = (
    "dhcp_release must run as root on the dnsmasq host, in dnsmasq's network namespace "
    "(set netns = '<name>' for 'ip netns exec'), where the interface exists"
)


def release_interface(config: ServerConfig) -> str | None:
    """The interface to send a release on: given, or libvirt's bridge from the status name.

    For ``libvirt_network`` the bridge comes from the network's XML (read when releasing).
    """
    if config.interface is not None:
        return config.interface
    if config.status is not None:
        return bridge_of_status(config.status)
    return None


def can_release(config: ServerConfig) -> bool:
    """Whether a release can be attempted (an interface is known or can be read)."""
    return release_interface(config) is not None or config.libvirt_network is not None


class DnsmasqReleaseBackend(ReleaseBackend):
    """Releases orphaned leases of one dnsmasq server with dhcp_release, confirmed by a re-read."""

    def __init__(
        self,
        config: ServerConfig,
        *,
        command: str = DHCP_RELEASE,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if not can_release(config):
            raise ReleaseError(
                f"dnsmasq server {config.name!r}: releasing needs interface (the one dnsmasq "
                "serves the leases on)"
            )
        self.config = config
        self.command = command
        self.clock = clock
        self.source = DnsmasqLeaseSource(config)

    def _holders(self) -> dict[str, str | None]:
        try:
            found = self.source.read_leases()
        except LeasesError as exc:
            raise ReleaseError(f"dnsmasq server {self.config.name!r}: re-read: {exc}") from None
        return {str(ip): mac for ip, mac in holders(found, self.clock()).items()}

    def _interface(self) -> str:
        interface = release_interface(self.config)
        if interface is None and self.source.network is not None:
            interface = self.source.network.bridge
        if interface is None:
            raise ReleaseError(
                f"dnsmasq server {self.config.name!r}: no interface to release on "
                "(set interface; the libvirt network names no bridge)"
            )
        return interface

    def release(self, lease: Lease) -> tuple[Outcome, str]:
        ip = str(lease.ip)
        if lease.mac is None:
            return Outcome.REFUSED, f"{ip} has no MAC to re-check against the server"
        before = self._holders()
        if ip not in before:
            return Outcome.NOT_FOUND, f"dnsmasq holds no active lease for {ip}"
        if before[ip] != lease.mac:
            return Outcome.CHANGED, f"{ip} now belongs to {before[ip] or 'a client without a MAC'}"
        interface = self._interface()
        self._send(interface, ip, lease.mac)
        started = time.monotonic()
        deadline = started + self.config.timeout
        while True:
            now_held = self._holders().get(ip)
            if now_held != lease.mac:
                waited = (time.monotonic() - started) * 1000
                return (
                    Outcome.RELEASED,
                    f"dhcp_release {interface} {ip} {lease.mac}: gone from dnsmasq's leases "
                    f"after {waited:.0f} ms",
                )
            if time.monotonic() >= deadline:
                return (
                    Outcome.FAILED,
                    f"dhcp_release {interface} {ip} {lease.mac} sent, but dnsmasq still holds "
                    f"the lease after {self.config.timeout:g}s: it ignored the DHCPRELEASE "
                    f"(does dnsmasq serve {ip} on {interface}?)",
                )
            time.sleep(POLL_INTERVAL)

    def _send(self, interface: str, ip: str, mac: str) -> None:
        argv = [self.command, interface, ip, mac]
        if self.config.netns is not None:
            argv = ["ip", "netns", "exec", self.config.netns, *argv]
        name = self.config.name
        try:
            done = subprocess.run(
                argv, capture_output=True, text=True, timeout=self.config.timeout, check=False
            )
        except FileNotFoundError:
            raise ReleaseError(
                f"dnsmasq server {name!r}: {argv[0]} not found (install dnsmasq-utils)"
            ) from None
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ReleaseError(f"dnsmasq server {name!r}: {' '.join(argv)}: {exc}") from None
        if done.returncode != 0:
            said = " ".join((done.stderr or done.stdout).split()) or "no message"
            raise ReleaseError(
                f"dnsmasq server {name!r}: {' '.join(argv)} exited {done.returncode} "
                f"({said}); {_NAMESPACE_HINT}"
            )
