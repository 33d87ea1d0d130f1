"""Release a dnsmasq lease with ``dhcp_release``, and believe it only once the lease is gone.

dnsmasq has no lease API in its default build. ``dhcp_release IFACE IP MAC`` (Debian package
dnsmasq-utils, contrib/lease-tools in dnsmasq's source) sends it a DHCPRELEASE that looks
like the client's, from a socket bound to IFACE, to the server address of IFACE. It gets no
answer, and it exits 0 whether dnsmasq took it or not (dnsmasq logs "unknown lease" for a
wrong MAC or address and silently drops a packet that arrives on an interface it does not
serve). So the release counts only when a re-read of the lease file (or libvirt's status or
API) shows the lease gone within the server's ``timeout``; otherwise the audit says failed
(and the run tries no further release on that server).

It must run on the dnsmasq host, in dnsmasq's network namespace (``netns`` runs it
through ``ip netns exec``). leasewatch never edits the lease file and never restarts dnsmasq:
dnsmasq keeps its leases in memory and would write an edited file back.

When dnsmasq runs with ``--enable-dbus[=NAME]`` (Debian's build has D-Bus; Proxmox SDN runs it
so), ``dbus = "NAME"`` releases with its ``DeleteDhcpLease`` method instead (src/dbus.c): an
answer comes back (true: deleted, false: no such lease), no interface or namespace is needed,
and the lease is still confirmed gone by a re-read. ``dbus-send`` (Debian package dbus-bin)
calls it on the system bus (``DBUS_SYSTEM_BUS_ADDRESS`` chooses another bus).
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
DBUS_SEND = "dbus-send"
DBUS_PATH = "/uk/org/thekelleys/dnsmasq"  # dnsmasq's object, whatever its bus name
POLL_INTERVAL = 0.01  # dnsmasq rewrites the file 0-4 ms after the packet (measured, lab)

_NAMESPACE_HINT = (
    "dhcp_release must run on the dnsmasq host, in dnsmasq's network namespace "
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
    """Whether a release can be attempted (D-Bus, or an interface known or readable)."""
    return (
        config.dbus is not None
        or release_interface(config) is not None
        or config.libvirt_network is not None
    )


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
        if self.config.dbus is not None:
            if not self._delete_over_dbus(ip):
                return Outcome.NOT_FOUND, f"DeleteDhcpLease {ip}: dnsmasq has no such lease"
            how = f"DeleteDhcpLease {ip} over D-Bus ({self.config.dbus})"
            why_not = "it answered true, yet kept the lease"
        else:
            interface = self._interface()
            self._send(interface, ip, lease.mac)
            how = f"dhcp_release {interface} {ip} {lease.mac}"
            why_not = f"it ignored the DHCPRELEASE (does dnsmasq serve {ip} on {interface}?)"
        started = time.monotonic()
        deadline = started + self.config.timeout
        while True:
            now_held = self._holders().get(ip)
            if now_held != lease.mac:
                waited = (time.monotonic() - started) * 1000
                return (
                    Outcome.RELEASED,
                    f"{how}: gone from dnsmasq's leases after {waited:.0f} ms",
                )
            if time.monotonic() >= deadline:
                # Raised, not returned: a release dnsmasq ignores means a wrong interface or
                # bus name, and every further release on this server would wait as long in
                # vain; the executor records this one and the rest of the run as failed.
                raise ReleaseError(
                    f"dnsmasq server {self.config.name!r}: {how} sent, but dnsmasq still holds "
                    f"the lease after {self.config.timeout:g}s: {why_not}"
                )
            time.sleep(POLL_INTERVAL)

    def _delete_over_dbus(self, ip: str) -> bool:
        """``DeleteDhcpLease(ip)``: True when dnsmasq deleted it, False when it had none."""
        name = self.config.dbus
        argv = [DBUS_SEND, "--system", "--print-reply", f"--dest={name}", DBUS_PATH]
        argv += [f"{name}.DeleteDhcpLease", f"string:{ip}"]
        done = self._run(argv)
        if done.returncode != 0:
            said = " ".join((done.stderr or done.stdout).split()) or "no message"
            raise ReleaseError(
                f"dnsmasq server {self.config.name!r}: D-Bus DeleteDhcpLease {ip} on {name}: "
                f"{said} (is dnsmasq running with --enable-dbus={name}, and may leasewatch "
                "call it on the system bus?)"
            )
        words = done.stdout.split()
        if words[-2:] not in (["boolean", "true"], ["boolean", "false"]):
            raise ReleaseError(
                f"dnsmasq server {self.config.name!r}: D-Bus DeleteDhcpLease {ip}: unexpected "
                f"answer {' '.join(words)[:120]!r}"
            )
        return words[-1] == "true"

    def _run(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                argv, capture_output=True, text=True, timeout=self.config.timeout, check=False
            )
        except FileNotFoundError:
            package = "dbus-bin" if argv[0] == DBUS_SEND else "dnsmasq-utils"
            raise ReleaseError(
                f"dnsmasq server {self.config.name!r}: {argv[0]} not found (install {package})"
            ) from None
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ReleaseError(
                f"dnsmasq server {self.config.name!r}: {' '.join(argv)}: {exc}"
            ) from None

    def _send(self, interface: str, ip: str, mac: str) -> None:
        argv = [self.command, interface, ip, mac]
        if self.config.netns is not None:
            argv = ["ip", "netns", "exec", self.config.netns, *argv]
        name = self.config.name
        done = self._run(argv)
        if done.returncode != 0:
            said = " ".join((done.stderr or done.stdout).split()) or "no message"
            raise ReleaseError(
                f"dnsmasq server {name!r}: {' '.join(argv)} exited {done.returncode} "
                f"({said}); {_NAMESPACE_HINT}"
            )
