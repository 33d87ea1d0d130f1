"""Release a dnsmasq lease with ``dhcp_release``, and believe it only once the lease is gone.

dnsmasq has no lease API in its default build. ``dhcp_release IFACE IP MAC`` (Debian package
dnsmasq-utils, contrib/lease-tools in dnsmasq's source) sends it a DHCPRELEASE that looks
like the client's, from a socket bound to IFACE, to the server address of IFACE. It gets no
answer, and it exits 0 whether dnsmasq took it or not (dnsmasq logs "unknown lease" for a
wrong MAC or address and silently drops a packet that arrives on an interface it does not
serve). So the release counts only when a re-read of the lease file (or libvirt's status or
API) shows the lease gone within the server's ``timeout``; otherwise the audit says failed
(and the run tries no further release on that server).

A DHCPv6 lease goes with ``dhcp_release6 --iface IFACE --server-id DUID --client-id DUID
--iaid N --ip ADDRESS`` (same package): the server's DUID is the lease file's ``duid`` line
(libvirt's status copies it into each entry), the client's DUID and IAID are the lease's.
Unlike dhcp_release it waits for dnsmasq's Reply and exits with its status code (0 released,
3 NoBinding), and the re-read still confirms it. It releases IA_NA addresses only: a
temporary (IA_TA) lease is refused. libvirt's API gives no server DUID: a v6 lease read
through ``libvirt_network`` is refused unless ``dbus`` is set.

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
from ipaddress import IPv6Address

from leasewatch.config import ServerConfig
from leasewatch.errors import LeasesError, ReleaseError
from leasewatch.leases.dnsmasq import DnsmasqLeaseSource, bridge_of_status, holders
from leasewatch.model import Lease, Outcome, PoolKind
from leasewatch.reaper.interface import ReleaseBackend

DHCP_RELEASE = "dhcp_release"
DHCP_RELEASE6 = "dhcp_release6"
_NO_BINDING = 3  # dhcp_release6 exits with the Reply's status code: 3 is NoBinding
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
        command6: str = DHCP_RELEASE6,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if not can_release(config):
            raise ReleaseError(
                f"dnsmasq server {config.name!r}: releasing needs interface (the one dnsmasq "
                "serves the leases on)"
            )
        self.config = config
        self.command = command
        self.command6 = command6
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
        if isinstance(lease.ip, IPv6Address):
            return self._release6(lease)
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
        return self._confirm(lambda: self._holders().get(ip) == lease.mac, how, why_not)

    def _confirm(self, held: Callable[[], bool], how: str, why_not: str) -> tuple[Outcome, str]:
        """Released once a re-read no longer shows the lease (``held`` false) within the
        server's timeout; else raise."""
        started = time.monotonic()
        deadline = started + self.config.timeout
        while True:
            if not held():
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

    # ------------------------------------------------------------- DHCPv6: dhcp_release6

    def _v6_holders(self) -> tuple[dict[str, tuple[str | None, int | None]], str | None]:
        """Address -> (client DUID, IAID) of the DHCPv6 leases active now, and dnsmasq's
        server DUID (the lease file's ``duid`` line, or libvirt's ``server-duid``)."""
        try:
            found = self.source.read_leases()
        except LeasesError as exc:
            raise ReleaseError(f"dnsmasq server {self.config.name!r}: re-read: {exc}") from None
        now = self.clock()
        held = {
            str(v6.ip): (v6.duid.lower() if v6.duid else None, v6.lease(self.config.name).iaid)
            for v6 in found.v6
            if v6.ends is None or v6.ends > now
        }
        return held, found.server_duid

    def _release6(self, lease: Lease) -> tuple[Outcome, str]:
        """A DHCPv6 lease: ``dhcp_release6`` (or D-Bus), checked and confirmed as for v4.

        dhcp_release6 sends a RELEASE for one IA_NA address with the client's DUID and IAID
        and the server's DUID (the lease file's ``duid`` line) and waits for dnsmasq's
        Reply: exit 0 is released, 3 is NoBinding (contrib/lease-tools/dhcp_release6.c).
        The lease must still belong to the same DUID and IAID before it is sent.
        """
        ip = str(lease.ip)
        if lease.kind is PoolKind.TEMPORARY and self.config.dbus is None:
            # dhcp_release6 builds an IA_NA option only: an IA_TA lease never matches
            return (
                Outcome.REFUSED,
                f"{ip} is a temporary address: dhcp_release6 releases IA_NA only",
            )
        if lease.duid is None or lease.iaid is None:
            return Outcome.REFUSED, f"{ip} has no client DUID and IAID to release it with"
        wanted = (lease.duid.lower(), lease.iaid)
        before, server_duid = self._v6_holders()
        if ip not in before:
            return Outcome.NOT_FOUND, f"dnsmasq holds no active lease for {ip}"
        if before[ip] != wanted:
            return Outcome.CHANGED, f"{ip} now belongs to another client (DUID {before[ip][0]})"
        if self.config.dbus is not None:
            if not self._delete_over_dbus(ip):
                return Outcome.NOT_FOUND, f"DeleteDhcpLease {ip}: dnsmasq has no such lease"
            how = f"DeleteDhcpLease {ip} over D-Bus ({self.config.dbus})"
            why_not = "it answered true, yet kept the lease"
        else:
            if server_duid is None:
                return Outcome.REFUSED, (
                    f"{ip}: dnsmasq's server DUID is unknown (no 'duid' line read), which "
                    "dhcp_release6 needs"
                )
            interface = self._interface()
            argv = [self.command6, "--iface", interface, "--server-id", server_duid]
            argv += ["--client-id", lease.duid, "--iaid", str(lease.iaid), "--ip", ip]
            if self.config.netns is not None:
                argv = ["ip", "netns", "exec", self.config.netns, *argv]
            done = self._run(argv)
            said = " ".join((done.stderr or done.stdout).split()) or "no message"
            if done.returncode == _NO_BINDING:
                return Outcome.NOT_FOUND, f"dhcp_release6 {ip}: dnsmasq answered NoBinding ({said})"
            how = f"dhcp_release6 --iface {interface} --ip {ip} --iaid {lease.iaid}"
            why_not = "it answered, yet kept the lease"
            if done.returncode != 0:
                # Not root, dhcp_release6 cannot bind port 546 and never sees the Reply
                # ("Response timed out", exit 255), yet dnsmasq took the RELEASE (measured
                # in the lab as nobody): the re-read decides, as for dhcp_release.
                how += f" (exit {done.returncode}: {said})"
                why_not = f"{' '.join(argv)} exited {done.returncode}; {_NAMESPACE_HINT}"
        return self._confirm(lambda: self._v6_holders()[0].get(ip) == wanted, how, why_not)

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
