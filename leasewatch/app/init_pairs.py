"""``leasewatch init``: the pairs a server's own config declares (a dhcpd ``failover peer``,
Kea's HA hook), and what init writes for the partner.

leasewatch recognises a pair from each member's own config (see the README's Pairs), so
every member needs its own ``[[servers]]`` entry. init sees one machine: it says which
partner the config names and where, writes a Kea HA peer's entry when the peer answers on
the URL the HA hook names (``ha-heartbeat``, one short call), and otherwise writes the
partner's entry commented out, to be filled in. No credential is ever copied: a peer's
``basic-auth-password`` is named by its file, never written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leasewatch.config import ServerConfig
from leasewatch.errors import Error, LeasesError

# how long init waits for a Kea HA peer to answer: a look, not a read
PROBE_TIMEOUT = 2.0
# Kea's JSON allows these comments (Kea ARM, "Comments and User Context"); strings kept
_KEA_COMMENTS = re.compile(r'("(?:[^"\\]|\\.)*")|#[^\n]*|//[^\n]*|/\*.*?\*/', re.DOTALL)


@dataclass(frozen=True)
class HaPeer:
    """A peer of Kea's HA hook: its name, URL and role, and whether it wants basic auth."""

    name: str
    url: str
    role: str
    auth_user: str | None = None


@dataclass(frozen=True)
class KeaHa:
    """The HA relationship kea-dhcp4.conf puts this server in."""

    this: str
    mode: str
    role: str
    peers: tuple[HaPeer, ...]  # the others


def entry_name(prefix: str, name: str) -> str:
    """A ``[[servers]]`` name from a name a server's config gives."""
    return f"{prefix}-{re.sub(r'[^A-Za-z0-9_.:-]', '-', name)}"


def kea_ha(text: str, where: Path) -> KeaHa | None:
    """The HA hook's relationship in kea-dhcp4.conf's ``text``; None without one.

    Raises ``Error`` naming ``where`` when the hook is there but cannot be read (an
    ``<?include?>``, several relationships). Read with the reader's own rules
    (``leasewatch.leases.kea_ha``), so init and the report agree on what a pair is.
    """
    from leasewatch.leases.kea_ha import HA_LIBRARY, ha_config, member_of

    if HA_LIBRARY not in text:
        return None
    try:
        doc = json.loads(_KEA_COMMENTS.sub(lambda m: m.group(1) or "", text))
    except json.JSONDecodeError as exc:
        raise Error(f"{where}: names {HA_LIBRARY} but is not JSON here ({exc.msg})") from None
    dhcp4 = doc.get("Dhcp4") if isinstance(doc, Mapping) else None
    if not isinstance(dhcp4, Mapping):
        return None
    try:
        relationship = ha_config(str(where), dhcp4)
        if relationship is None:
            return None
        member_of(str(where), relationship, None)  # checks this-server-name, peers, mode
    except LeasesError as exc:
        raise Error(str(exc)) from None
    this = str(relationship["this-server-name"])
    peers = [p for p in relationship.get("peers", []) if isinstance(p, Mapping)]
    mine = next(p for p in peers if str(p.get("name")) == this)
    return KeaHa(
        this=this,
        mode=str(relationship.get("mode")),
        role=str(mine.get("role", "")),
        peers=tuple(_peer(p) for p in peers if str(p.get("name")) != this),
    )


def _peer(raw: Mapping[str, Any]) -> HaPeer:
    user = raw.get("basic-auth-user")
    return HaPeer(
        name=str(raw.get("name", "")),
        url=str(raw.get("url", "")),
        role=str(raw.get("role", "")),
        auth_user=str(user) if user else None,
    )


def probe(peer: HaPeer) -> str | None:
    """Whether ``peer`` answers leasewatch on its HA URL: None when it does, else why not
    (one short line). Only ``ha-heartbeat`` is sent, without credentials."""
    from leasewatch.leases.kea_api import KeaClient

    # a peer of kea-dhcp4.conf's HA hook is a kea-dhcp4 (named, should an agent answer)
    config = ServerConfig(
        peer.name, "kea", control_url=peer.url, timeout=PROBE_TIMEOUT, service="dhcp4"
    )
    client = KeaClient.from_config(config)
    try:
        client.call("ha-heartbeat")
    except LeasesError as exc:
        return str(exc)
    finally:
        client.close()
    return None


def ha_lines(ha: KeaHa, conf: Path, answers: Mapping[str, str | None]) -> tuple[
    list[str], list[dict[str, object]], list[list[str]]
]:  # fmt: skip
    """Notes, the entries of peers that answered (``answers``: ``probe``'s, by peer name),
    and commented-out entries for the others."""
    others = ", ".join(f'"{p.name}" ({p.role}, {p.url})' for p in ha.peers)
    notes = [
        f'{conf} makes this Kea "{ha.this}" ({ha.role}) in a {ha.mode} HA relationship with'
        f" {others}: every peer keeps its own copy of the leases, so each needs its own"
        " [[servers]] entry; without one the pair is reported but nothing of it is released"
        " (keep-pair-peer-missing)"
    ]
    entries: list[dict[str, object]] = []
    commented: list[list[str]] = []
    for peer in ha.peers:
        name = entry_name("kea", peer.name)
        why = answers.get(peer.name)
        if why is None:
            notes.append(f'Kea HA peer "{peer.name}" answered at {peer.url}: added as "{name}"')
            entries.append({"name": name, "kind": "kea", "control_url": peer.url})
            continue
        notes.append(
            f'Kea HA peer "{peer.name}" did not answer from here ({why}): its entry is'
            " commented out below"
        )
        lines = [
            f"# Kea HA peer {_quoted(peer.name)} ({_quoted(peer.role)}): uncomment once"
            " leasewatch reaches it.",
            "#[[servers]]",
            f"#name = {_quoted(name)}",
            '#kind = "kea"',
            f"#control_url = {_quoted(peer.url)}",
        ]
        if peer.auth_user is not None:
            lines += [
                "# Its HA partner logs in with basic auth; the password, in kea-dhcp4.conf,",
                "# is never copied by init: put it in the file named here.",
                f"#username = {_quoted(peer.auth_user)}",
                '#password_file = "/etc/credstore/leasewatch.kea-password"',
            ]
        commented.append(lines)
    return notes, entries, commented


def _quoted(text: str) -> str:
    """A TOML string (JSON's escapes are TOML's): a name or URL from a server's config
    cannot end the comment line it is written in."""
    return json.dumps(text)


def failover_lines(conf: Path, server: str) -> tuple[list[str], list[list[str]]]:
    """Notes and commented-out partner entries for each ``failover peer`` dhcpd.conf's
    pools name; nothing when it declares none (or cannot be parsed: the report says why)."""
    from leasewatch.leases.dhcpd_conf import parse

    try:
        parsed = parse(conf)
    except LeasesError:
        return [], []
    notes: list[str] = []
    commented: list[list[str]] = []
    for peer in parsed.failover:
        if peer.name not in parsed.used_peers:
            continue
        partner = entry_name(server, "partner")
        notes.append(
            f'{peer.where}: failover peer "{peer.name}": this dhcpd is its {peer.role}'
            f" ({peer.address}), its partner is {peer.peer_address}; leasewatch recognises the"
            " pair from dhcpd.conf: add the partner as a second [[servers]] entry (its"
            " dhcpd.leases and dhcpd.conf, or copies of them) so the pool is counted once with"
            " both members' health, and a release is confirmed in both journals"
        )
        commented.append(
            [
                f"# The failover partner of {_quoted(server)} (failover peer"
                f" {_quoted(peer.name)}, {peer.peer_address}): fill in and uncomment.",
                "#[[servers]]",
                f'#name = "{partner}"',
                '#kind = "isc"',
                '#leases = "/path/to/the/partner/dhcpd.leases"',
                '#dhcpd_conf = "/path/to/the/partner/dhcpd.conf"',
            ]
        )
    return notes, commented
