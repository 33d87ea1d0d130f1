"""``leasewatch init``: a starting config from what this machine runs.

It looks where Debian and RHEL put dhcpd's files, reads Kea's own config for its control
socket and lease file, and notes dnsmasq and libvirt; of a server in a pair (dhcpd
failover, Kea HA) it names the partner and writes its entry (``init_pairs``). The config it
writes is report-only and passes ``check-config`` (it is checked before it is shown or
written): an OMAPI key found in dhcpd.conf is named, with its file and line, and never
copied; releasing stays a deliberate step. ``--root DIR`` looks under DIR instead of ``/``
(tests, chroots, images).
"""

from __future__ import annotations

import argparse
import importlib.resources
import importlib.util
import re
import shutil
import stat
import sys
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from leasewatch.app import init_pairs
from leasewatch.app.init_pairs import HaPeer
from leasewatch.config import DEFAULT_PATH, parse
from leasewatch.config import paths as config_paths
from leasewatch.errors import ConfigError, Error, UsageError

# Where packages put dhcpd's files: Debian/Ubuntu first, then RHEL/Fedora (and older RHEL's
# /etc/dhcpd.conf).
DHCPD_CONFS = ("etc/dhcp/dhcpd.conf", "etc/dhcpd.conf")
DHCPD_LEASES = ("var/lib/dhcp/dhcpd.leases", "var/lib/dhcpd/dhcpd.leases")
KEA_CONF = "etc/kea/kea-dhcp4.conf"
KEA_LEASES = "var/lib/kea/kea-leases4.csv"  # Debian's memfile default
DNSMASQ_LEASES = ("var/lib/misc/dnsmasq.leases", "var/lib/dnsmasq/dnsmasq.leases")
DNSMASQ_CONF = "etc/dnsmasq.conf"
LIBVIRT_NETWORKS = "var/lib/libvirt/dnsmasq"  # one NAME.conf per libvirt network
LIBVIRT_SOCKET = "run/libvirt/libvirt-sock"
CREDENTIAL = "/run/credentials/leasewatch.service/leasewatch.omapi-key"


@dataclass(frozen=True)
class OmapiFound:
    """OMAPI as dhcpd.conf sets it up: the port, and the key by name and place only."""

    port: int
    key_name: str | None
    key_at: str | None  # "FILE:LINE" of the key's block: where its secret is


@dataclass
class Found:
    """What ``discover`` saw: TOML tables to write, and comments on what it did not use."""

    servers: list[dict[str, object]] = field(default_factory=list)
    omapi: dict[str, OmapiFound] = field(default_factory=dict)  # by server name
    inventories: list[dict[str, object]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # commented-out entries written after a server's (its pair's partners), by server name
    after: dict[str, list[list[str]]] = field(default_factory=dict)


def _first(root: Path, candidates: tuple[str, ...]) -> Path | None:
    return next((root / c for c in candidates if (root / c).is_file()), None)


def _strip_comments(text: str) -> str:
    """dhcpd.conf without ``#`` comments (quoted strings kept as they are)."""
    return re.sub(r'("(?:[^"\\]|\\.)*")|#[^\n]*', lambda m: m.group(1) or "", text)


def omapi_of(conf: Path) -> OmapiFound | None:
    """OMAPI's port and key name in ``conf`` (not its includes), never the secret.

    A scan, not a parse: leasewatch's dhcpd.conf parser reads ranges; here three statements
    are enough, and a config dhcpd rejects is reported by the parser at the first report.
    """
    try:
        text = _strip_comments(conf.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return None
    port = re.search(r"^\s*omapi-port\s+(\d+)\s*;", text, re.MULTILINE)
    if port is None:
        return None
    name = re.search(r'^\s*omapi-key\s+"?([\w.-]+)"?\s*;', text, re.MULTILINE)
    key_at = None
    if name is not None:
        block = re.search(rf'^\s*key\s+"?{re.escape(name[1])}"?\s*\{{', text, re.MULTILINE)
        if block is not None:
            key_at = f"{conf}:{text.count(chr(10), 0, block.start()) + 1}"
    return OmapiFound(int(port[1]), name[1] if name else None, key_at)


def _kea_value(text: str, key: str) -> str | None:
    found = re.search(rf'"{re.escape(key)}"\s*:\s*"([^"]+)"', text)
    return found[1] if found else None


def _is_socket(path: Path) -> bool:
    try:
        return stat.S_ISSOCK(path.stat().st_mode)
    except OSError:
        return False


def _under(root: Path, path: str) -> Path:
    """An absolute path named in a server's config, as seen under ``root``."""
    return root / path.lstrip("/")


def discover(root: Path, probe: Callable[[HaPeer], str | None] = init_pairs.probe) -> Found:
    """Look at ``root`` (``/`` on a real machine) for DHCP servers and VM hosts; ``probe``
    asks a Kea HA peer named in kea-dhcp4.conf whether it answers (None: it does)."""
    found = Found()
    conf = _first(root, DHCPD_CONFS)
    leases = _first(root, DHCPD_LEASES)
    if conf is not None and leases is not None:
        name = "dhcpd"
        found.servers.append(
            {"name": name, "kind": "isc", "leases": str(leases), "dhcpd_conf": str(conf)}
        )
        omapi = omapi_of(conf)
        if omapi is not None:
            found.omapi[name] = omapi
        notes, partners = init_pairs.failover_lines(conf, name)
        found.notes += notes
        found.after[name] = partners
    elif conf is not None:
        found.notes.append(f"{conf} is there but no dhcpd.leases next to it: dhcpd not used?")

    kea_conf = root / KEA_CONF
    if kea_conf.is_file():
        try:
            text = kea_conf.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            found.notes.append(f"{kea_conf}: cannot read it ({exc.strerror}): Kea not added")
            text = None
        if text is not None:
            _kea(root, kea_conf, text, found, probe)

    _dnsmasq(root, found)
    networks = root / LIBVIRT_NETWORKS
    names = sorted(p.stem for p in networks.glob("*.conf")) if networks.is_dir() else []
    for network in names:
        # libvirt runs one dnsmasq per network: NAME.conf has its dhcp-range lines and
        # NAME.status its leases (JSON), both read as files, no SDK needed
        status, conf = networks / f"{network}.status", networks / f"{network}.conf"
        if status.is_file() and _has_range(conf):
            found.servers.append(
                {
                    "name": "libvirt-" + re.sub(r"[^A-Za-z0-9_.:-]", "-", network),
                    "kind": "dnsmasq",
                    "status": str(status),
                    "dnsmasq_conf": str(conf),
                }
            )
    if names or (root / LIBVIRT_SOCKET).exists():
        entry: dict[str, object] = {"name": "libvirt", "kind": "libvirt", "uri": ["qemu:///system"]}
        if importlib.util.find_spec("libvirt") is None:
            found.notes.append(
                "libvirt runs here but its Python SDK is missing (apt install python3-libvirt):"
                " the inventory below is commented out"
            )
            entry["#"] = True
        found.inventories.append(entry)
        if names:
            found.notes.append(f"libvirt networks (libvirt's own dnsmasq): {', '.join(names)}")
    return found


def _kea(
    root: Path, conf: Path, text: str, found: Found, probe: Callable[[HaPeer], str | None]
) -> None:
    """kea-dhcp4 by its control socket, else its memfile; its HA peers (init_pairs)."""
    try:
        ha = init_pairs.kea_ha(text, conf)
    except Error as exc:
        found.notes.append(f"{exc}: its HA peers were not looked for")
        ha = None
    name = init_pairs.entry_name("kea", ha.this) if ha is not None else "kea"
    socket = _kea_value(text, "socket-name")
    memfile = _kea_value(text, "name")
    lease_file = _under(root, memfile) if memfile else root / KEA_LEASES
    if socket is not None and _is_socket(_under(root, socket)):
        found.servers.append(
            {"name": name, "kind": "kea", "control_socket": str(_under(root, socket))}
        )
    elif lease_file.is_file():
        found.servers.append({"name": name, "kind": "kea", "leases": str(lease_file)})
        why = f"no control socket at {socket}" if socket else "no control-socket"
        found.notes.append(
            f"Kea: {why} (is kea-dhcp4 running, with libdhcp_lease_cmds.so?), so its"
            " lease file is read instead: report-only"
        )
    else:
        found.notes.append(f"{conf} is there but neither its socket nor its leases")
        return
    if ha is not None:
        answers = {peer.name: probe(peer) for peer in ha.peers}
        notes, entries, partners = init_pairs.ha_lines(ha, conf, answers)
        found.notes += notes
        found.servers += entries
        found.after[name] = partners


def _has_range(conf: Path) -> bool:
    """Whether a dnsmasq config (not its conf-dir) has a dhcp-range line."""
    try:
        text = conf.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return re.search(r"^\s*dhcp-range\s*=", text, re.MULTILINE) is not None


def _dnsmasq(root: Path, found: Found) -> None:
    """dnsmasq's own lease file, with its ranges from /etc/dnsmasq.conf."""
    leases = _first(root, DNSMASQ_LEASES)
    if leases is None:
        return
    conf = root / DNSMASQ_CONF
    if _has_range(conf):
        found.servers.append(
            {"name": "dnsmasq", "kind": "dnsmasq", "leases": str(leases), "dnsmasq_conf": str(conf)}
        )
    else:
        found.notes.append(
            f"dnsmasq's leases at {leases}, but no dhcp-range in {conf}: add a [[servers]]"
            ' with kind = "dnsmasq" and the dnsmasq_conf that has them'
        )


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def render(found: Found, root: Path) -> str:
    """The config as TOML text, with comments saying what was found and what to do next."""
    lines = [
        "# Written by `leasewatch init` from what it found on this machine; report-only:",
        "# nothing is released until [servers.omapi] (or Kea's socket) and an inventory are",
        "# set and [reaper] apply = true. Check it with `leasewatch check-config`.",
    ]
    # a note quotes names from servers' configs: one line each, whatever they hold
    lines += ["# - " + " ".join(note.splitlines()) for note in found.notes]
    for server in found.servers:
        lines += ["", "[[servers]]"]
        lines += [f"{k} = {_toml(v)}" for k, v in server.items()]
        omapi = found.omapi.get(str(server["name"]))
        if omapi is not None:
            where = f" (its secret is in {omapi.key_at})" if omapi.key_at else ""
            lines += [
                "",
                f"# dhcpd answers OMAPI on port {omapi.port}. To release through it, copy the",
                f"# key's secret{where} into /etc/credstore/leasewatch.omapi-key (mode 0600);",
                "# leasewatch init never copies a secret. Then uncomment:",
                "#[servers.omapi]",
                '#host = "127.0.0.1"',
                f"#port = {omapi.port}",
                f'#key_name = "{omapi.key_name or "omapi_key"}"',
                f'#key_file = "{CREDENTIAL}"',
            ]
        for block in found.after.get(str(server["name"]), []):
            lines += ["", *block]
    for inventory in found.inventories:
        prefix = "#" if inventory.get("#") else ""
        lines += ["", f"{prefix}[[inventory]]"]
        lines += [f"{prefix}{k} = {_toml(v)}" for k, v in inventory.items() if k != "#"]
    if not found.inventories:
        lines += ["", "# No VM host found: add an [[inventory]] to find orphaned leases."]
    state = root / "var/lib/leasewatch/state.db"
    lines += [
        "",
        "[reaper]",
        "apply = false",
        "",
        "[daemon]",
        'every = "5m"',
        'metrics = "127.0.0.1:9967"',
        "",
        "[state]",
        f"path = {_toml(state)}",
    ]
    return "\n".join(lines) + "\n"


def add_flags(p: argparse.ArgumentParser) -> None:
    """``leasewatch init``'s options."""
    what = p.add_mutually_exclusive_group()
    what.add_argument(
        "--print", dest="print_only", action="store_true", help="print it; write nothing"
    )
    what.add_argument(
        "--example", action="store_true", help="print the example config with every section"
    )
    what.add_argument(
        "--unit", action="store_true", help="print the systemd unit for this leasewatch"
    )
    p.add_argument("--force", action="store_true", help="replace an existing config file")
    p.add_argument(
        "--root", type=Path, default=Path("/"), metavar="DIR", help="look under DIR, not /"
    )


def packaged(name: str) -> str:
    """A file the wheel carries in leasewatch/data (the unit, the example config)."""
    return importlib.resources.files("leasewatch").joinpath("data", name).read_text("utf-8")


def unit_text() -> str:
    """The unit, its ExecStart= at the leasewatch that runs now (pipx, venv or /usr/local)."""
    here = shutil.which("leasewatch") or sys.argv[0]
    text = packaged("leasewatch.service")
    if here and Path(here).is_absolute():
        text = text.replace("/usr/local/bin/leasewatch", here)
    return text


def run(
    args: argparse.Namespace, config: Path | None, environ: Mapping[str, str], out: TextIO
) -> int:
    """``leasewatch init``: print or write the config; 0 when done."""
    if args.example:
        out.write(packaged("leasewatch.toml"))
        return 0
    if args.unit:
        out.write(unit_text())
        return 0
    root = args.root
    if not root.is_dir():
        raise UsageError(f"--root {root}: not a directory")
    found = discover(root)
    if not found.servers:
        looked = ", ".join(str(root / p) for p in (*DHCPD_CONFS, KEA_CONF))
        notes = "".join(f"; {note}" for note in found.notes)
        raise Error(
            f"no DHCP server found (looked at {looked}){notes}; `leasewatch init --example`"
            " prints a config to fill in"
        )
    target = config or Path(environ.get("LEASEWATCH_CONFIG", DEFAULT_PATH))
    text = render(found, root)
    # what init writes must pass check-config: checked here, before anyone relies on it
    checked = parse(target, text, tomllib.loads(text), environ)
    unusable = config_paths.problems(checked, text)
    if unusable:
        raise ConfigError(unusable)
    if args.print_only:
        out.write(text)
        return 0
    if target.exists() and not args.force:
        raise Error(
            f"{target} exists; `leasewatch init --print` shows the new one, --force replaces it"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    target.chmod(0o644)  # no secret in it: the service and the operator read it
    kinds = ", ".join(f"{s['name']} ({s['kind']})" for s in found.servers)
    out.write(f"wrote {target}: {kinds}; check it with `leasewatch -c {target} check-config`\n")
    return 0
