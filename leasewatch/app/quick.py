"""A quick look with no config file, as ``dhcpd-pools -c CONF -l LEASES`` gives one.

``leasewatch report --leases FILE --dhcpd-conf FILE`` (or ``--kea-socket PATH``) builds a
config of one server from the command line: no inventory, no alerts, and an in-memory state
(nothing is written). Each server kind that can be looked at this way is one ``QuickKind``
in ``QUICK_KINDS``; adding a kind's flags is adding an entry there.
"""

from __future__ import annotations

import argparse
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from leasewatch import config as config_module
from leasewatch.config import Config, ServerConfig, StateConfig
from leasewatch.errors import ConfigError, UsageError

# The quick look's config path: not a file. ``opened_state`` keeps its state in memory.
COMMAND_LINE = Path("(command line)")


@dataclass(frozen=True)
class Flag:
    """One quick-look option: ``--leases FILE`` sets ``dest``."""

    option: str
    dest: str
    metavar: str
    help: str


@dataclass(frozen=True)
class QuickKind:
    """A server kind's quick-look flags and how they make its ``ServerConfig``."""

    kind: str
    name: str  # the server's name in the report
    flags: tuple[Flag, ...]  # all of them are needed
    build: Callable[[Mapping[str, Path]], ServerConfig]


def _isc(values: Mapping[str, Path]) -> ServerConfig:
    return ServerConfig(
        name="dhcpd", kind="isc", leases=values["leases"], dhcpd_conf=values["dhcpd_conf"]
    )


def _kea(values: Mapping[str, Path]) -> ServerConfig:
    return ServerConfig(name="kea", kind="kea", control_socket=values["kea_socket"])


def _dnsmasq(values: Mapping[str, Path]) -> ServerConfig:
    return ServerConfig(
        name="dnsmasq",
        kind="dnsmasq",
        leases=values["dnsmasq_leases"],
        dnsmasq_conf=values["dnsmasq_conf"],
    )


QUICK_KINDS: tuple[QuickKind, ...] = (
    QuickKind(
        "isc",
        "dhcpd",
        (
            Flag("--leases", "leases", "FILE", "ISC dhcpd's leases file (quick look, no config)"),
            Flag("--dhcpd-conf", "dhcpd_conf", "FILE", "ISC dhcpd's config, for its ranges"),
        ),
        _isc,
    ),
    QuickKind(
        "kea",
        "kea",
        (Flag("--kea-socket", "kea_socket", "PATH", "Kea's control socket (quick look)"),),
        _kea,
    ),
    QuickKind(
        "dnsmasq",
        "dnsmasq",
        (
            Flag("--dnsmasq-leases", "dnsmasq_leases", "FILE", "dnsmasq's lease file (quick look)"),
            Flag("--dnsmasq-conf", "dnsmasq_conf", "FILE", "dnsmasq's config, for its dhcp-range"),
        ),
        _dnsmasq,
    ),
)


def add_flags(parser: argparse.ArgumentParser) -> None:
    """The quick-look options of every kind, in one group of the command's help."""
    group = parser.add_argument_group(
        "quick look (no config file)",
        "read one server directly; no inventory, nothing written",
    )
    for kind in QUICK_KINDS:
        for flag in kind.flags:
            group.add_argument(
                flag.option, dest=flag.dest, type=Path, metavar=flag.metavar, help=flag.help
            )


def usage_hint() -> str:
    """The quick-look flags as a user types them, for error messages."""
    return " or ".join(
        " ".join(f"{f.option} {f.metavar}" for f in kind.flags) for kind in QUICK_KINDS
    )


def config_from(args: argparse.Namespace, environ: Mapping[str, str]) -> Config | None:
    """The quick look's config when any quick-look flag was given, else None."""
    servers = []
    for kind in QUICK_KINDS:
        values = {f.dest: getattr(args, f.dest, None) for f in kind.flags}
        given = {k: v for k, v in values.items() if v is not None}
        if not given:
            continue
        missing = [f.option for f in kind.flags if values[f.dest] is None]
        if missing:
            named = ", ".join(f.option for f in kind.flags if values[f.dest] is not None)
            raise UsageError(f"{named} needs {' and '.join(missing)} too")
        servers.append(kind.build(given))
    if not servers:
        return None
    if getattr(args, "config", None) is not None:
        raise UsageError("give either -c/--config or the quick-look flags, not both")
    return Config(path=COMMAND_LINE, servers=tuple(servers), state=StateConfig())


# A dhcpd.conf line: a statement dhcpd knows, ending in ';' or opening a block.
_DHCPD_LINE = re.compile(
    r"^\s*(subnet|shared-network|host|option|authoritative|ddns-update-style|range|"
    r"default-lease-time|max-lease-time|failover|pool|include|class)\b[^\n]*[;{]\s*$",
    re.MULTILINE,
)


def load(given: Path | None, environ: Mapping[str, str]) -> Config:
    """The config file, with the messages a first-time user needs when it is not one."""
    path = given or Path(environ.get("LEASEWATCH_CONFIG", config_module.DEFAULT_PATH))
    explicit = given is not None or "LEASEWATCH_CONFIG" in environ
    if not explicit and not path.exists():
        raise ConfigError(
            f"{path}: config file not found: write one with `leasewatch init`, or take a "
            f"quick look with `leasewatch report {usage_hint()}`"
        )
    try:
        return config_module.load(path, environ)
    except ConfigError:
        if _looks_like_dhcpd_conf(path):
            raise ConfigError(
                f"{path}: this looks like a dhcpd.conf; leasewatch's config is TOML, see "
                "`leasewatch init` (or take a quick look with "
                f"`leasewatch report --leases FILE --dhcpd-conf {path}`)"
            ) from None
        raise


def _looks_like_dhcpd_conf(path: Path) -> bool:
    try:
        text = path.read_bytes()[: 1 << 20].decode("utf-8", "replace")
    except OSError:
        return False
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return _DHCPD_LINE.search(text) is not None
    return False
