"""What a valid config is: the frozen dataclasses, the kinds, the keys and the limits.

The loader (``leasewatch.config.load``) turns a TOML file into these; every other room reads
only these. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import timedelta
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Any

from leasewatch.macpool import pool as macpool_pool
from leasewatch.model import Thresholds, format_duration

DEFAULT_PATH = Path("/etc/leasewatch/leasewatch.toml")

# The longest duration any key accepts. Durations are added to or taken from "now" (grace,
# keep, forecast windows) or handed to the scheduler (every): ten years keeps every such date
# far inside datetime's range (year 9999) and is longer than any sane retention or schedule.
MAX_DURATION = timedelta(days=3650)


class Secret:
    """A value that never prints: ``repr``/``str`` give ``<redacted>``; ``reveal()`` gives it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<redacted>"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class OmapiConfig:
    host: str
    port: int
    key_name: str
    key: Secret
    timeout: float = 5.0


@dataclass(frozen=True)
class ServerConfig:
    name: str
    kind: str  # "isc" | "kea" | "dnsmasq"
    leases: Path | None = None
    dhcpd_conf: Path | None = None
    omapi: OmapiConfig | None = None
    control_socket: Path | None = None
    # kea-dhcp4's own HTTP(S) control socket (Kea 2.7.2+) or kea-ctrl-agent: the same protocol
    control_url: str | None = None
    username: str | None = None
    password: Secret | None = None
    tls_ca: Path | None = None  # verify the server against this CA (else the system's)
    tls_cert: Path | None = None  # client certificate, for a Kea with cert-required
    tls_key: Path | None = None
    timeout: float = 10.0
    page_size: int = 1000
    # Kea over control_url: "dhcp4" or "dhcp6", the daemon kea-ctrl-agent forwards to; None:
    # found out from the URL's config-get (leasewatch.leases.kea_api.KeaClient.daemon_config)
    service: str | None = None
    # the [[servers]] entry holding copies of the same pools (a pair leasewatch cannot
    # detect, such as two offline files): made symmetric by the loader
    partner: str | None = None
    # dnsmasq only (see load._dnsmasq_server)
    dnsmasq_conf: Path | None = None
    interface: str | None = None
    status: Path | None = None
    libvirt_network: str | None = None
    uri: str | None = None
    netns: str | None = None
    dbus: str | None = None


@dataclass(frozen=True)
class InventoryConfig:
    name: str
    kind: str  # see INVENTORY_KEYS
    networks: tuple[str, ...] = ()
    timeout: float = 10.0
    command: tuple[str, ...] = ()
    path: Path | None = None
    uri: tuple[str, ...] = ()
    include_inactive: bool = True
    url: str | None = None
    username: str | None = None
    password: Secret | None = None
    host: str | None = None
    port: int | None = None
    user: str | None = None
    token_name: str | None = None
    token_value: Secret | None = None
    verify_ssl: bool = True
    tls_ca: Path | None = None  # verify the host against this CA (else the system's)
    # the source's event stream (leasewatch.events); kinds without one have no such key
    events: bool = True


@dataclass(frozen=True)
class ReaperConfig:
    apply: bool = False
    grace: timedelta = timedelta(minutes=30)
    max_per_run: int = 25
    max_shrink: float = 0.5
    protect_macs: frozenset[str] = frozenset()
    protect_networks: tuple[IPv4Network | IPv6Network, ...] = ()
    trust_duid_mac: bool = False  # a MAC taken out of a DHCPv6 DUID may make an orphan


@dataclass(frozen=True)
class WebhookConfig:
    name: str
    format: str  # slack | mattermost | teams | discord | generic
    url: Secret
    timeout: float = 10.0
    tls_ca: Path | None = None  # verify the receiver against this CA (else the system's)


@dataclass(frozen=True)
class AlertsConfig:
    thresholds: Thresholds = field(default_factory=Thresholds)
    overrides: Mapping[str, Thresholds] = field(default_factory=dict)
    repeat: timedelta | None = None
    on_orphans: bool = False
    on_release: bool = False
    on_forecast: timedelta | None = None
    webhooks: tuple[WebhookConfig, ...] = ()

    def for_network(self, network: str) -> Thresholds:
        return self.overrides.get(network, self.thresholds)


@dataclass(frozen=True)
class DaemonConfig:
    every: timedelta | None = timedelta(minutes=5)
    cron: str | None = None
    metrics: str | None = None  # "127.0.0.1:9967"
    site: str | None = None  # a `site` label on every metric (docs/sites.md)
    events: bool = True  # false: no inventory's event stream runs (leasewatch.events)


@dataclass(frozen=True)
class StateConfig:
    path: Path = Path("/var/lib/leasewatch/state.db")
    keep: timedelta = timedelta(days=30)
    forecast_window: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class MacPoolConfig:
    """``[macpool]``: the MACs ``leasewatch mac take`` hands out (leasewatch.macpool)."""

    pool: macpool_pool.MacPool
    hold: timedelta = timedelta(minutes=10)
    networks: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    path: Path
    servers: tuple[ServerConfig, ...] = ()
    inventory: tuple[InventoryConfig, ...] = ()
    reaper: ReaperConfig = ReaperConfig()
    alerts: AlertsConfig = AlertsConfig()
    daemon: DaemonConfig = DaemonConfig()
    state: StateConfig = StateConfig()
    macpool: MacPoolConfig | None = None

    @property
    def partners(self) -> dict[str, str]:
        """Each declared pair member's partner (``partner``), both ways."""
        return {s.name: s.partner for s in self.servers if s.partner is not None}


SERVER_KINDS = ("isc", "kea", "dnsmasq")
# a Kea server's `service` (leasewatch.leases.kea_api.SERVICES maps each to its config map)
KEA_SERVICES = ("dhcp4", "dhcp6")
INVENTORY_KINDS = ("command", "file", "libvirt", "xenapi", "proxmox")
WEBHOOK_FORMATS = ("slack", "mattermost", "teams", "discord", "generic")
SECRET_KEYS = frozenset({"key", "password", "token_value", "url"})

INVENTORY_KEYS: dict[str, tuple[set[str], set[str]]] = {
    # kind: (required keys, optional keys); name/kind/networks/timeout are common
    "command": ({"command"}, set()),
    "file": ({"path"}, set()),
    "libvirt": (set(), {"uri", "uris", "include_inactive", "events"}),  # uri or uris: load.py
    "xenapi": ({"url", "username", "password"}, {"verify_ssl", "tls_ca", "events"}),
    "proxmox": (
        {"host", "user", "token_name", "token_value"},
        {"port", "verify_ssl", "tls_ca", "events"},
    ),
}


def redacted(config: Config) -> dict[str, Any]:
    """The resolved config as plain data for display, every secret shown as ``<redacted>``."""
    return _plain(config)  # type: ignore[no-any-return]


def _plain(value: Any) -> Any:
    if isinstance(value, Secret):
        return "<redacted>"
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list | frozenset | set):
        items = [_plain(v) for v in value]
        return sorted(items, key=str) if isinstance(value, frozenset | set) else items
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, Path | IPv4Network | IPv6Network):
        return str(value)
    if isinstance(value, macpool_pool.MacPool):
        return value.describe()
    return value
