"""TOML configuration -> frozen dataclasses (``schema``), validated once at the edge.

Every problem is collected and reported in one run (``check-config`` shows them all), each
as one line naming the file, the key, the line where it can be found, and what was expected.
Secrets are ``Secret`` values: any secret key ``x`` may instead be given as ``x_file`` (a
path, trailing newline dropped) or ``x_env`` (an environment variable's name); they print as
``<redacted>`` everywhere.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
import re
from collections.abc import Callable, Mapping
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any, TypeVar

from leasewatch.config.reader import Loader, Section, is_http_url, read_toml
from leasewatch.config.schema import (
    INVENTORY_KEYS,
    INVENTORY_KINDS,
    KEA_SERVICES,
    SERVER_KINDS,
    WEBHOOK_FORMATS,
    AlertsConfig,
    Config,
    DaemonConfig,
    InventoryConfig,
    MacPoolConfig,
    OmapiConfig,
    ReaperConfig,
    ServerConfig,
    StateConfig,
    WebhookConfig,
)
from leasewatch.errors import ConfigError
from leasewatch.macpool import pool as macpool_pool
from leasewatch.model import Thresholds, normalize_mac

T = TypeVar("T")

# Inventory keys read with Section.secret (which reports a missing one itself).
_SECRET_INVENTORY_KEYS = frozenset({"password", "token_value"})


def load(path: Path, environ: Mapping[str, str] | None = None) -> Config:
    """Read and validate the config file; raise ``ConfigError`` listing every problem."""
    environ = os.environ if environ is None else environ
    text, data = read_toml(path)
    return parse(path, text, data, environ)


def parse(path: Path, text: str, data: Mapping[str, Any], environ: Mapping[str, str]) -> Config:
    loader = Loader(path, text, environ)
    top = Section(loader, data, "")
    servers = _list_of(top, "servers", _member, loader)
    inventory = _list_of(top, "inventory", _inventory, loader)
    reaper = _one(top, "reaper", _reaper, ReaperConfig(), loader)
    alerts = _one(top, "alerts", _alerts, AlertsConfig(), loader)
    daemon = _one(top, "daemon", _daemon, DaemonConfig(), loader)
    state = _one(top, "state", _state, StateConfig(), loader)
    macpool = _one(top, "macpool", _macpool, None, loader)
    top.finish()
    if not data.get("servers"):
        loader.error("", "servers", "none configured; expected at least one [[servers]] table")
    _unique(loader, "servers", [s.name for s in servers])
    servers = _partners(loader, servers)
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


def _partners(loader: Loader, servers: list[ServerConfig]) -> list[ServerConfig]:
    """``partner``: names another server of the same kind, whose partner is this one or
    unset (then set: a pair is declared once, on either member)."""
    by_name = {s.name: s for s in servers}
    partner_of = {s.name: s.partner for s in servers if s.partner is not None}
    for index, server in enumerate(servers):
        partner = server.partner
        if partner is None:
            continue
        where = f"servers[{index}]"
        other = by_name.get(partner)
        if partner == server.name:
            loader.error(where, "partner", f"names this server itself ({partner!r})")
        elif other is None:
            names = ", ".join(sorted(by_name)) or "none"
            loader.error(
                where,
                "partner",
                f"expected the name of a [[servers]] entry ({names}), got {partner!r}",
            )
        elif other.kind != server.kind:
            loader.error(
                where,
                "partner",
                f"{partner!r} is a {other.kind} server, this one {server.kind}: "
                "partners are of one kind",
            )
        elif partner_of.setdefault(partner, server.name) != server.name:
            loader.error(
                where, "partner", f"{partner!r} already has partner {partner_of[partner]!r}"
            )
    return [
        s
        if s.name not in partner_of or s.partner is not None
        else dataclasses.replace(s, partner=partner_of[s.name])
        for s in servers
    ]


def _unique(loader: Loader, table: str, names: list[str]) -> None:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            loader.error(f"{table}[{index}]", "name", f"duplicate name {name!r}")
        seen.add(name)


def _list_of(
    top: Section, key: str, build: Callable[[Section], T | None], loader: Loader
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


def _one(top: Section, key: str, build: Callable[[Section], T], default: T, loader: Loader) -> T:
    raw = top.get(key, dict, None, f"a table ([{key}])")
    if raw is None:
        return default
    section = Section(loader, raw, key)
    item = build(section)
    section.finish()
    return item


def _name(section: Section) -> str | None:
    name = section.required("name", str, "a name for this entry")
    if name is not None and not re.fullmatch(r"[A-Za-z0-9_.:-]+", name):
        section.error("name", f"expected letters, digits, '_', '.', ':' or '-', got {name!r}")
    return name


def _timeout(section: Section, default: float) -> float:
    value: float = section.get("timeout", (int, float), default, "a number of seconds")
    if value <= 0:
        section.error("timeout", f"expected a positive number of seconds, got {value!r}")
        return default
    return float(value)


def _member(s: Section) -> ServerConfig | None:
    """A server, and the partner it names (checked against the others in ``_partners``)."""
    partner = s.string("partner")
    server = _server(s)
    if server is None or partner is None:
        return server
    return dataclasses.replace(server, partner=partner)


def _server(s: Section) -> ServerConfig | None:
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
        return _kea_server(s, name, timeout)
    if kind == "dnsmasq":
        return _dnsmasq_server(s, name, timeout)
    return None


def _kea_server(s: Section, name: str | None, timeout: float) -> ServerConfig | None:
    """A Kea server: its UNIX socket, its HTTP(S) URL (``control_agent`` is an alias), or
    its memfile; basic auth and TLS only over HTTP(S)."""
    socket = s.path("control_socket")
    url = s.http_url("control_url")
    alias = s.http_url("control_agent")
    leases_path = s.path("leases")
    username = s.string("username")
    password = s.secret("password", required=False)
    tls = {key: s.path(key) for key in ("tls_ca", "tls_cert", "tls_key")}
    page_size = s.get("page_size", int, 1000, "a whole number of leases per page")
    if page_size < 1:
        s.error("page_size", f"expected a positive number, got {page_size}")
    service = s.string("service")
    if service is not None and service not in KEA_SERVICES:
        s.error("service", f"expected one of {', '.join(KEA_SERVICES)}, got {service!r}")
        service = None
    if s.has("control_url") and s.has("control_agent"):
        s.error("control_agent", "give only one of control_url, control_agent (its old name)")
        return None
    url_key = "control_agent" if s.has("control_agent") else "control_url"
    url = url if url is not None else alias
    if sum(s.has(k) for k in ("control_socket", url_key, "leases")) != 1:
        s.error("control_socket", "give exactly one of control_socket, control_url, leases")
        return None
    for key, value in tls.items():
        if value is not None and not (url or "").lower().startswith("https://"):
            s.error(key, f"expected only with an https:// {url_key}")
    if (tls["tls_cert"] is None) != (tls["tls_key"] is None):
        s.error("tls_cert", "give tls_cert and tls_key together (a client certificate and its key)")
    if password is not None and username is None:
        s.error("password", "expected with a username (HTTP basic auth)")
    if username is not None and url is None:
        s.error("username", "expected only with control_url (HTTP basic auth)")
    if service is not None and url is None:
        s.error("service", "expected only with control_url (a control socket is one daemon's)")
    if name is None:
        return None
    return ServerConfig(
        name=name,
        kind="kea",
        leases=leases_path,
        control_socket=socket,
        control_url=url,
        username=username,
        password=password,
        tls_ca=tls["tls_ca"],
        tls_cert=tls["tls_cert"],
        tls_key=tls["tls_key"],
        timeout=timeout,
        page_size=page_size,
        service=service,
    )


_IFNAME = re.compile(r"[^\s/:]{1,15}")  # Linux: IFNAMSIZ - 1 bytes, no '/', ':' or space
_DBUS_NAME = re.compile(r"[A-Za-z_-][\w-]*(?:\.[A-Za-z_-][\w-]*)+")  # a well-known bus name


def _dnsmasq_server(s: Section, name: str | None, timeout: float) -> ServerConfig | None:
    """A dnsmasq server: its lease file, libvirt's status file or a libvirt network."""
    leases = s.path("leases")
    conf = s.path("dnsmasq_conf")
    status = s.path("status")
    network = s.string("libvirt_network")
    uri = s.string("uri")
    interface = s.string("interface")
    netns = s.string("netns")
    dbus = s.string("dbus")
    sources = {"leases": leases, "status": status, "libvirt_network": network}
    given = [key for key, value in sources.items() if value is not None]
    if len(given) != 1:
        s.error("leases", "give exactly one of leases, status, libvirt_network")
        return None
    if network is None and conf is None:
        s.error("dnsmasq_conf", f"missing; {given[0]} needs the dhcp-range lines of dnsmasq.conf")
    if network is not None and conf is not None:
        s.error("dnsmasq_conf", "not with libvirt_network (its ranges come from the network XML)")
    if uri is not None and network is None:
        s.error("uri", "only with libvirt_network")
    if interface is not None and not _IFNAME.fullmatch(interface):
        s.error("interface", f"expected a network interface name like 'virbr0', got {interface!r}")
    if netns is not None and not re.fullmatch(r"[A-Za-z0-9_.-]+", netns):
        s.error("netns", f"expected a network namespace name (ip netns list), got {netns!r}")
    if dbus is not None and not _DBUS_NAME.fullmatch(dbus):
        s.error("dbus", f"expected a D-Bus name like 'uk.org.thekelleys.dnsmasq', got {dbus!r}")
    if name is None:
        return None
    return ServerConfig(
        name=name,
        kind="dnsmasq",
        leases=leases,
        dnsmasq_conf=conf,
        status=status,
        libvirt_network=network,
        uri=uri or ("qemu:///system" if network is not None else None),
        interface=interface,
        netns=netns,
        dbus=dbus,
        timeout=timeout,
    )


def _omapi(s: Section) -> OmapiConfig | None:
    raw = s.get("omapi", dict, None, "a table like { host = '127.0.0.1', port = 7911, ... }")
    if raw is None:
        return None
    sub = Section(s.loader, raw, f"{s.where}.omapi")
    host = sub.get("host", str, "127.0.0.1", "a host name or address")
    port = sub.port("port", 7911)
    key_name = sub.required("key_name", str, "the OMAPI key's name, as in dhcpd.conf")
    key = sub.secret("key", required=True)
    if key is not None and not _is_base64(key.reveal()):
        # the value is a secret: name where it came from, never what it is
        sub.error("key", "expected the key's base64 secret, as in dhcpd.conf's `secret`")
        key = None
    timeout = _timeout(sub, 5.0)
    sub.finish()
    if key_name is None or key is None:
        return None
    return OmapiConfig(host=host, port=port, key_name=key_name, key=key, timeout=timeout)


def _is_base64(text: str) -> bool:
    try:
        return bool(base64.b64decode(text.strip(), validate=True))
    except (binascii.Error, ValueError):
        return False


def _inventory(s: Section) -> InventoryConfig | None:
    name = _name(s)
    kinds = ", ".join(INVENTORY_KINDS)
    kind = s.required("kind", str, f"one of {kinds}")
    networks = s.strings("networks")
    timeout = _timeout(s, 10.0)
    if kind is None:
        return None
    if kind not in INVENTORY_KEYS:
        s.error("kind", f"expected one of {kinds}, got {kind!r}")
        return None
    required, optional = INVENTORY_KEYS[kind]
    allowed = required | optional
    for key in required:
        if key in _SECRET_INVENTORY_KEYS:
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
        # a fleet of KVM hosts: `uris = [...]` (or `uri`, one or a list), each read apart
        values["uri"] = s.strings("uri") + s.strings("uris")
        if not (s.has("uri") or s.has("uris")):
            s.error("uri", f"missing; required for kind = {kind!r} (or uris = [...])")
    if "include_inactive" in allowed:
        values["include_inactive"] = s.get("include_inactive", bool, True, "true or false")
    if "verify_ssl" in allowed:
        values["verify_ssl"] = s.get("verify_ssl", bool, True, "true or false")
    if "tls_ca" in allowed:
        values["tls_ca"] = s.path("tls_ca")
        if values["tls_ca"] is not None and not values["verify_ssl"]:
            s.error("tls_ca", "give tls_ca (verify against it) or verify_ssl = false, not both")
    if "events" in allowed:
        values["events"] = s.get("events", bool, True, "true or false")
    if "url" in allowed:
        values["url"] = s.http_url("url")
    for key in ("username", "host", "user", "token_name"):
        if key in allowed:
            values[key] = s.string(key)
    if "port" in allowed:
        values["port"] = s.port("port", 8006)
    if "password" in allowed:
        values["password"] = s.secret("password", required=True)
    if "token_value" in allowed:
        values["token_value"] = s.secret("token_value", required=True)
    if name is None:
        return None
    return InventoryConfig(name=name, kind=kind, networks=networks, timeout=timeout, **values)


def _reaper(s: Section) -> ReaperConfig:
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
    trust_duid_mac = s.get("trust_duid_mac", bool, False, "true or false")
    macs: set[str] = set()
    nets: list[IPv4Network | IPv6Network] = []
    for item in s.strings("protect"):
        mac = normalize_mac(item)
        if mac is not None:
            macs.add(mac)
            continue
        try:
            net = ip_network(item, strict=False)
        except ValueError:
            s.error("protect", f"expected MACs or IP addresses/CIDRs, got {item!r}")
            continue
        nets.append(net)
    return ReaperConfig(
        apply=apply,
        grace=grace,
        max_per_run=max_per_run,
        max_shrink=max_shrink,
        protect_macs=frozenset(macs),
        protect_networks=tuple(nets),
        trust_duid_mac=trust_duid_mac,
    )


def _thresholds(s: Section, base: Thresholds) -> Thresholds:
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


def _alerts(s: Section) -> AlertsConfig:
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


def _webhook(s: Section) -> WebhookConfig | None:
    s.where = s.where.replace("webhooks", "alerts.webhooks", 1)
    name = s.string("name")
    fmt = s.required("format", str, f"one of {', '.join(WEBHOOK_FORMATS)}")
    if fmt is not None and fmt not in WEBHOOK_FORMATS:
        s.error("format", f"expected one of {', '.join(WEBHOOK_FORMATS)}, got {fmt!r}")
        fmt = None
    url = s.secret("url", required=True)
    if url is not None and not is_http_url(url.reveal()):
        # webhook URLs carry their token: never shown
        s.error("url", "expected an http:// or https:// URL (not shown: it is a secret)")
        url = None
    timeout = _timeout(s, 10.0)
    tls_ca = s.path("tls_ca")
    if fmt is None or url is None:
        return None
    return WebhookConfig(name=name or fmt, format=fmt, url=url, timeout=timeout, tls_ca=tls_ca)


def _daemon(s: Section) -> DaemonConfig:
    every = s.duration("every", None)
    cron = s.string("cron")
    if every is not None and cron is not None:
        s.error("cron", "give either every or cron, not both")
    if cron is not None:
        problem = _cron_problem(cron)
        if problem:
            s.error("cron", f"expected crontab fields like '*/5 * * * *', got {cron!r}: {problem}")
    if every is not None and every.total_seconds() <= 0:
        s.error("every", "expected a positive duration")
    metrics = s.string("metrics")
    if metrics is not None:
        found = re.fullmatch(r"\[?[\w.:-]*\]?:(\d+)", metrics)
        if not found:
            s.error("metrics", f"expected HOST:PORT like '127.0.0.1:9967', got {metrics!r}")
        elif not 0 < int(found[1]) < 65536:
            s.error("metrics", f"expected a port number from 1 to 65535, got {found[1]}")
    site = s.string("site")
    # A label value, but also a word in Alertmanager matchers and receiver names: the
    # characters of an entry's name, never empty (Prometheus reads site="" as no label).
    if site is not None and not re.fullmatch(r"[A-Za-z0-9_.:-]+", site):
        s.error("site", f"expected letters, digits, '_', '.', ':' or '-', got {site!r}")
        site = None
    events = s.get("events", bool, True, "true or false")
    if every is None and cron is None:
        every = DaemonConfig.every
    return DaemonConfig(every=every, cron=cron, metrics=metrics, site=site, events=events)


def _cron_problem(cron: str) -> str | None:
    """What APScheduler says about a crontab line, checked now rather than at the first run."""
    from apscheduler.triggers.cron import CronTrigger

    if len(cron.split()) != 5:
        return f"{len(cron.split())} fields, expected 5"
    try:
        CronTrigger.from_crontab(cron)
    except ValueError as exc:
        return str(exc)
    return None


def _state(s: Section) -> StateConfig:
    path = s.path("path") or StateConfig.path
    # zero is an error, not "the default": a 0s history would be silently 30 days
    keep = s.positive_duration("keep", StateConfig.keep)
    window = s.positive_duration("forecast_window", StateConfig.forecast_window)
    return StateConfig(path=path, keep=keep, forecast_window=window)


def _macpool(s: Section) -> MacPoolConfig | None:
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
