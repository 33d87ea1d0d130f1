"""TOML configuration -> frozen dataclasses, validated once at the edge.

Every problem is collected and reported in one run (``check-config`` shows them all), each
as one line naming the file, the key, the line where it can be found, and what was expected.
Secrets are ``Secret`` values: any secret key ``x`` may instead be given as ``x_file`` (a
path, trailing newline dropped) or ``x_env`` (an environment variable's name); they print as
``<redacted>`` everywhere.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import timedelta
from ipaddress import IPv4Network, ip_network
from pathlib import Path
from typing import Any, TypeVar

from leasewatch.errors import ConfigError
from leasewatch.macpool import pool as macpool_pool
from leasewatch.model import Thresholds, normalize_mac, parse_duration

DEFAULT_PATH = Path("/etc/leasewatch/leasewatch.toml")

T = TypeVar("T")


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
    kind: str  # "isc" | "kea"
    leases: Path | None = None
    dhcpd_conf: Path | None = None
    omapi: OmapiConfig | None = None
    control_socket: Path | None = None
    control_agent: str | None = None
    username: str | None = None
    password: Secret | None = None
    timeout: float = 10.0
    page_size: int = 1000


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


@dataclass(frozen=True)
class ReaperConfig:
    apply: bool = False
    grace: timedelta = timedelta(minutes=30)
    max_per_run: int = 25
    max_shrink: float = 0.5
    protect_macs: frozenset[str] = frozenset()
    protect_networks: tuple[IPv4Network, ...] = ()


@dataclass(frozen=True)
class WebhookConfig:
    name: str
    format: str  # slack | mattermost | teams | discord | generic
    url: Secret
    timeout: float = 10.0


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


SERVER_KINDS = ("isc", "kea")
INVENTORY_KINDS = ("command", "file", "libvirt", "xenapi", "proxmox")
WEBHOOK_FORMATS = ("slack", "mattermost", "teams", "discord", "generic")
SECRET_KEYS = frozenset({"key", "password", "token_value", "url"})

_INVENTORY_KEYS: dict[str, tuple[set[str], set[str]]] = {
    # kind: (required keys, optional keys); name/kind/networks/timeout are common
    "command": ({"command"}, set()),
    "file": ({"path"}, set()),
    "libvirt": ({"uri"}, {"include_inactive"}),
    "xenapi": ({"url", "username", "password"}, {"verify_ssl"}),
    "proxmox": ({"host", "user", "token_name", "token_value"}, {"port", "verify_ssl"}),
}


class _Section:
    """Typed reads from one TOML table, collecting errors instead of raising."""

    def __init__(self, loader: _Loader, table: Mapping[str, Any], where: str) -> None:
        self.loader = loader
        self.table = table
        self.where = where
        self.used: set[str] = set()

    def error(self, key: str, message: str) -> None:
        self.loader.error(self.where, key, message)

    def has(self, key: str) -> bool:
        return key in self.table

    def get(self, key: str, kind: type | tuple[type, ...], default: Any, what: str) -> Any:
        self.used.add(key)
        if key not in self.table:
            return default
        value = self.table[key]
        # bool is an int in Python; a TOML `true` is never a number here
        if isinstance(value, bool) and kind is not bool:
            self.error(key, f"expected {what}, got {value!r}")
            return default
        if kind is float and isinstance(value, int):
            value = float(value)
        if not isinstance(value, kind):
            self.error(key, f"expected {what}, got {value!r}")
            return default
        return value

    def required(self, key: str, kind: type[T], what: str) -> T | None:
        if key not in self.table:
            self.used.add(key)
            self.error(key, f"missing; expected {what}")
            return None
        value: T | None = self.get(key, kind, None, what)
        return value

    def string(self, key: str, default: str | None = None) -> str | None:
        value: str | None = self.get(key, str, default, "a string")
        return value

    def path(self, key: str) -> Path | None:
        value = self.string(key)
        return Path(value) if value is not None else None

    def duration(self, key: str, default: timedelta | None) -> timedelta | None:
        value = self.get(key, str, None, "a duration like '30s', '15m', '6h' or '3d'")
        if value is None:
            return default
        try:
            return parse_duration(value)
        except ValueError as exc:
            self.error(key, str(exc))
            return default

    def strings(self, key: str) -> tuple[str, ...]:
        value: Any = self.get(key, (list, str), [], "a string or a list of strings")
        if isinstance(value, str):
            return (value,)
        if not all(isinstance(v, str) for v in value):
            self.error(key, f"expected a list of strings, got {value!r}")
            return ()
        return tuple(value)

    def secret(self, key: str, *, required: bool) -> Secret | None:
        """Read ``key``, ``key_file`` or ``key_env``: exactly one of them."""
        given = [k for k in (key, f"{key}_file", f"{key}_env") if k in self.table]
        self.used.update({key, f"{key}_file", f"{key}_env"})
        if len(given) > 1:
            self.error(key, f"give only one of {', '.join(given)}")
            return None
        if not given:
            if required:
                self.error(key, f"missing; expected {key}, {key}_file or {key}_env")
            return None
        chosen = given[0]
        value = self.table[chosen]
        if not isinstance(value, str):
            self.error(chosen, "expected a string")
            return None
        if chosen.endswith("_file"):
            try:
                # a secret file usually ends with a newline that is not part of the secret
                return Secret(Path(value).read_text(encoding="utf-8").rstrip("\r\n"))
            except OSError as exc:
                self.error(chosen, f"cannot read secret file {value}: {exc.strerror}")
                return None
        if chosen.endswith("_env"):
            env_value = self.loader.environ.get(value)
            if env_value is None:
                self.error(chosen, f"environment variable {value} is not set")
                return None
            return Secret(env_value)
        return Secret(value)

    def finish(self, allowed_extra: set[str] | None = None) -> None:
        for key in self.table:
            if key not in self.used and not (allowed_extra and key in allowed_extra):
                self.error(key, "unknown key")


class _Loader:
    def __init__(self, path: Path, text: str, environ: Mapping[str, str]) -> None:
        self.path = path
        self.lines = text.splitlines()
        self.environ = environ
        self.errors: list[str] = []

    def error(self, where: str, key: str, message: str) -> None:
        name = f"{where}.{key}" if where else key
        line = self._line_of(where, key)
        at = f"{self.path}:{line}" if line else str(self.path)
        self.errors.append(f"{at}: {name}: {message}")

    def _line_of(self, where: str, key: str) -> int | None:
        """Best effort: the line of ``key =`` inside the table named by ``where``.

        tomllib keeps no positions, so find the n-th header of the table (``servers[1]`` is
        the second ``[[servers]]``) and the first assignment of ``key`` after it.
        """
        header_line = 0
        if where:
            m = re.fullmatch(r"([\w.]+?)(?:\[(\d+)\])?(?:\.(\w+))?", where)
            if m:
                table, index, sub = m.group(1), int(m.group(2) or 0), m.group(3)
                found = -1
                for number, line in enumerate(self.lines, 1):
                    stripped = line.strip().replace(" ", "")
                    if stripped in (f"[[{table}]]", f"[{table}]"):
                        found += 1
                        if found == index:
                            header_line = number
                            break
                if sub and header_line:
                    key_pattern = re.compile(rf"^\s*{re.escape(key)}\s*=|\b{re.escape(key)}\s*=")
                    for number in range(header_line, len(self.lines) + 1):
                        text = self.lines[number - 1]
                        if re.match(rf"^\s*{re.escape(sub)}\s*[=.]", text) and key_pattern.search(
                            text
                        ):
                            return number
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
        for number in range(header_line + 1 if header_line else 1, len(self.lines) + 1):
            text = self.lines[number - 1]
            if number > header_line + 1 and header_line and text.strip().startswith("["):
                break
            if pattern.match(text):
                return number
        return header_line or None

    def section(self, table: Any, where: str) -> _Section | None:
        if not isinstance(table, dict):
            self.error("", where, f"expected a table, got {table!r}")
            return None
        return _Section(self, table, where)


def load(path: Path, environ: Mapping[str, str] | None = None) -> Config:
    """Read and validate the config file; raise ``ConfigError`` listing every problem."""
    environ = os.environ if environ is None else environ
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found (use -c PATH)") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    return parse(path, text, data, environ)


def parse(path: Path, text: str, data: Mapping[str, Any], environ: Mapping[str, str]) -> Config:
    loader = _Loader(path, text, environ)
    top = _Section(loader, data, "")
    servers = _list_of(top, "servers", _server, loader)
    inventory = _list_of(top, "inventory", _inventory, loader)
    reaper = _one(top, "reaper", _reaper, ReaperConfig(), loader)
    alerts = _one(top, "alerts", _alerts, AlertsConfig(), loader)
    daemon = _one(top, "daemon", _daemon, DaemonConfig(), loader)
    state = _one(top, "state", _state, StateConfig(), loader)
    macpool = _one(top, "macpool", _macpool, None, loader)
    top.finish()
    _unique(loader, "servers", [s.name for s in servers])
    _unique(loader, "inventory", [i.name for i in inventory])
    _unique(loader, "alerts.webhooks", [w.name for w in alerts.webhooks])
    if loader.errors:
        raise ConfigError(loader.errors)
    return Config(
        path=path,
        servers=tuple(servers),
        inventory=tuple(inventory),
        reaper=reaper,
        alerts=alerts,
        daemon=daemon,
        state=state,
        macpool=macpool,
    )


def _unique(loader: _Loader, table: str, names: list[str]) -> None:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            loader.error(f"{table}[{index}]", "name", f"duplicate name {name!r}")
        seen.add(name)


def _list_of(
    top: _Section, key: str, build: Callable[[_Section], T | None], loader: _Loader
) -> list[T]:
    raw = top.get(key, list, [], f"an array of tables ([[{key}]])")
    out = []
    for index, table in enumerate(raw):
        section = loader.section(table, f"{key}[{index}]")
        if section is None:
            continue
        item = build(section)
        section.finish()
        if item is not None:
            out.append(item)
    return out


def _one(top: _Section, key: str, build: Callable[[_Section], T], default: T, loader: _Loader) -> T:
    raw = top.get(key, dict, None, f"a table ([{key}])")
    if raw is None:
        return default
    section = _Section(loader, raw, key)
    item = build(section)
    section.finish()
    return item


def _name(section: _Section) -> str | None:
    name = section.required("name", str, "a name for this entry")
    if name is not None and not re.fullmatch(r"[A-Za-z0-9_.:-]+", name):
        section.error("name", f"expected letters, digits, '_', '.', ':' or '-', got {name!r}")
    return name


def _timeout(section: _Section, default: float) -> float:
    value: float = section.get("timeout", (int, float), default, "a number of seconds")
    if value <= 0:
        section.error("timeout", f"expected a positive number of seconds, got {value!r}")
        return default
    return float(value)


def _server(s: _Section) -> ServerConfig | None:
    name = _name(s)
    kind = s.required("kind", str, f"one of {', '.join(SERVER_KINDS)}")
    if kind is not None and kind not in SERVER_KINDS:
        s.error("kind", f"expected one of {', '.join(SERVER_KINDS)}, got {kind!r}")
        kind = None
    timeout = _timeout(s, 10.0)
    if kind == "isc":
        leases = s.required("leases", str, "the path of dhcpd.leases")
        conf = s.required("dhcpd_conf", str, "the path of dhcpd.conf")
        omapi = _omapi(s)
        if name is None or leases is None or conf is None:
            return None
        return ServerConfig(
            name=name,
            kind=kind,
            leases=Path(leases),
            dhcpd_conf=Path(conf),
            omapi=omapi,
            timeout=timeout,
        )
    if kind == "kea":
        socket = s.path("control_socket")
        agent = s.string("control_agent")
        leases_path = s.path("leases")
        username = s.string("username")
        password = s.secret("password", required=False)
        page_size = s.get("page_size", int, 1000, "a whole number of leases per page")
        if page_size < 1:
            s.error("page_size", f"expected a positive number, got {page_size}")
        if sum(x is not None for x in (socket, agent, leases_path)) != 1:
            s.error("control_socket", "give exactly one of control_socket, control_agent, leases")
            return None
        if name is None:
            return None
        return ServerConfig(
            name=name,
            kind=kind,
            leases=leases_path,
            control_socket=socket,
            control_agent=agent,
            username=username,
            password=password,
            timeout=timeout,
            page_size=page_size,
        )
    return None


def _omapi(s: _Section) -> OmapiConfig | None:
    raw = s.get("omapi", dict, None, "a table like { host = '127.0.0.1', port = 7911, ... }")
    if raw is None:
        return None
    sub = _Section(s.loader, raw, f"{s.where}.omapi")
    host = sub.get("host", str, "127.0.0.1", "a host name or address")
    port = sub.get("port", int, 7911, "a port number")
    key_name = sub.required("key_name", str, "the OMAPI key's name, as in dhcpd.conf")
    key = sub.secret("key", required=True)
    timeout = _timeout(sub, 5.0)
    sub.finish()
    if not 0 < port < 65536:
        sub.error("port", f"expected a port number, got {port}")
    if key_name is None or key is None:
        return None
    return OmapiConfig(host=host, port=port, key_name=key_name, key=key, timeout=timeout)


def _inventory(s: _Section) -> InventoryConfig | None:
    name = _name(s)
    kinds = ", ".join(INVENTORY_KINDS)
    kind = s.required("kind", str, f"one of {kinds}")
    networks = s.strings("networks")
    timeout = _timeout(s, 10.0)
    if kind is None:
        return None
    if kind not in _INVENTORY_KEYS:
        s.error("kind", f"expected one of {kinds}, got {kind!r}")
        return None
    required, optional = _INVENTORY_KEYS[kind]
    allowed = required | optional
    for key in required:
        if key in SECRET_KEYS:
            continue
        if not s.has(key):
            s.error(key, f"missing; required for kind = {kind!r}")
    values: dict[str, Any] = {}
    if "command" in allowed:
        command = s.strings("command")
        if s.has("command") and not command:
            s.error("command", "expected a non-empty list like ['virsh', 'list']")
        values["command"] = command
    if "path" in allowed:
        values["path"] = s.path("path")
    if "uri" in allowed:
        values["uri"] = s.strings("uri")
    if "include_inactive" in allowed:
        values["include_inactive"] = s.get("include_inactive", bool, True, "true or false")
    if "verify_ssl" in allowed:
        values["verify_ssl"] = s.get("verify_ssl", bool, True, "true or false")
    for key in ("url", "username", "host", "user", "token_name"):
        if key in allowed:
            values[key] = s.string(key)
    if "port" in allowed:
        values["port"] = s.get("port", int, 8006, "a port number")
    if "password" in allowed:
        values["password"] = s.secret("password", required=True)
    if "token_value" in allowed:
        values["token_value"] = s.secret("token_value", required=True)
    if name is None:
        return None
    return InventoryConfig(name=name, kind=kind, networks=networks, timeout=timeout, **values)


def _reaper(s: _Section) -> ReaperConfig:
    apply = s.get("apply", bool, False, "true or false")
    # "0s" is a valid grace (release at once): an empty timedelta is falsy, so no `or`.
    grace = s.duration("grace", ReaperConfig.grace)
    if grace is None:
        grace = ReaperConfig.grace
    max_per_run = s.get("max_per_run", int, 25, "a whole number of releases per scan")
    if max_per_run < 0:
        s.error("max_per_run", f"expected zero or more, got {max_per_run}")
    max_shrink = s.get("max_shrink", float, 0.5, "a fraction between 0 and 1")
    if not 0.0 <= max_shrink <= 1.0:
        s.error("max_shrink", f"expected a fraction between 0 and 1, got {max_shrink}")
    macs: set[str] = set()
    nets: list[IPv4Network] = []
    for item in s.strings("protect"):
        mac = normalize_mac(item)
        if mac is not None:
            macs.add(mac)
            continue
        try:
            net = ip_network(item, strict=False)
        except ValueError:
            s.error("protect", f"expected MACs or IPv4 addresses/CIDRs, got {item!r}")
            continue
        if not isinstance(net, IPv4Network):
            s.error("protect", f"expected an IPv4 address or CIDR, got {item!r}")
            continue
        nets.append(net)
    return ReaperConfig(
        apply=apply,
        grace=grace,
        max_per_run=max_per_run,
        max_shrink=max_shrink,
        protect_macs=frozenset(macs),
        protect_networks=tuple(nets),
    )


def _thresholds(s: _Section, base: Thresholds) -> Thresholds:
    warn_at = s.get("warn_at", float, base.warn_at, "a fraction between 0 and 1")
    critical_at = s.get("critical_at", float, base.critical_at, "a fraction between 0 and 1")
    for key, value in (("warn_at", warn_at), ("critical_at", critical_at)):
        if not 0.0 <= value <= 1.0:
            s.error(key, f"expected a fraction between 0 and 1 (0.8 = 80 %), got {value}")
    if warn_at > critical_at:
        s.error("warn_at", f"expected warn_at <= critical_at, got {warn_at} > {critical_at}")
    warn_free = s.get("warn_free", int, base.warn_free, "a number of free addresses")
    critical_free = s.get("critical_free", int, base.critical_free, "a number of free addresses")
    return Thresholds(warn_at, critical_at, warn_free, critical_free)


def _alerts(s: _Section) -> AlertsConfig:
    thresholds = _thresholds(s, Thresholds())
    overrides: dict[str, Thresholds] = {}
    raw_networks = s.get("networks", dict, {}, "a table of per-network thresholds")
    for network, table in raw_networks.items():
        sub = s.loader.section(table, f"alerts.networks.{network}")
        if sub is None:
            continue
        overrides[network] = _thresholds(sub, thresholds)
        sub.finish()
    repeat = s.duration("repeat", None)
    on_orphans = s.get("on_orphans", bool, False, "true or false")
    on_release = s.get("on_release", bool, False, "true or false")
    on_forecast = s.duration("on_forecast", None)
    webhooks = _list_of(s, "webhooks", _webhook, s.loader)
    return AlertsConfig(
        thresholds=thresholds,
        overrides=overrides,
        repeat=repeat,
        on_orphans=on_orphans,
        on_release=on_release,
        on_forecast=on_forecast,
        webhooks=tuple(webhooks),
    )


def _webhook(s: _Section) -> WebhookConfig | None:
    s.where = s.where.replace("webhooks", "alerts.webhooks", 1)
    name = s.string("name")
    fmt = s.required("format", str, f"one of {', '.join(WEBHOOK_FORMATS)}")
    if fmt is not None and fmt not in WEBHOOK_FORMATS:
        s.error("format", f"expected one of {', '.join(WEBHOOK_FORMATS)}, got {fmt!r}")
        fmt = None
    url = s.secret("url", required=True)
    timeout = _timeout(s, 10.0)
    if fmt is None or url is None:
        return None
    return WebhookConfig(name=name or fmt, format=fmt, url=url, timeout=timeout)


def _daemon(s: _Section) -> DaemonConfig:
    every = s.duration("every", None)
    cron = s.string("cron")
    if every is not None and cron is not None:
        s.error("cron", "give either every or cron, not both")
    if cron is not None and len(cron.split()) != 5:
        s.error("cron", f"expected five crontab fields like '*/5 * * * *', got {cron!r}")
    if every is not None and every.total_seconds() <= 0:
        s.error("every", "expected a positive duration")
    metrics = s.string("metrics")
    if metrics is not None and not re.fullmatch(r"\[?[\w.:-]*\]?:\d+", metrics):
        s.error("metrics", f"expected HOST:PORT like '127.0.0.1:9967', got {metrics!r}")
    if every is None and cron is None:
        every = DaemonConfig.every
    return DaemonConfig(every=every, cron=cron, metrics=metrics)


def _state(s: _Section) -> StateConfig:
    path = s.path("path") or StateConfig.path
    keep = s.duration("keep", StateConfig.keep) or StateConfig.keep
    window = s.duration("forecast_window", StateConfig.forecast_window)
    return StateConfig(path=path, keep=keep, forecast_window=window or StateConfig.forecast_window)


def _macpool(s: _Section) -> MacPoolConfig | None:
    given = [key for key in ("prefix", "range", "macs") if s.has(key)]
    prefix = s.string("prefix")
    ends = s.strings("range")
    macs = s.strings("macs")
    hold = s.duration("hold", MacPoolConfig.hold) or MacPoolConfig.hold
    networks = s.strings("networks")
    if not given:
        s.error("prefix", "missing; give one of prefix, range or macs")
        return None
    if len(given) > 1:
        s.error(given[1], f"give only one of prefix, range, macs (got {', '.join(given)})")
        return None
    if given == ["prefix"] and prefix is None:
        return None  # not a string: already reported
    try:
        if prefix is not None:
            pool = macpool_pool.from_prefix(prefix)
        elif given == ["range"]:
            if len(ends) != 2:
                raise ValueError(f"expected [first, last], two MACs, got {list(ends)!r}")
            pool = macpool_pool.from_range(*ends)
        else:
            pool = macpool_pool.from_list(macs)
    except ValueError as exc:
        s.error(given[0], str(exc))
        return None
    return MacPoolConfig(pool=pool, hold=hold, networks=networks)


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
        from leasewatch.model import format_duration

        return format_duration(value)
    if isinstance(value, Path | IPv4Network):
        return str(value)
    if isinstance(value, macpool_pool.MacPool):
        return value.describe()
    return value
