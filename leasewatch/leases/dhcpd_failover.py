"""dhcpd failover: the ``failover peer`` declarations of dhcpd.conf, the ``failover peer ...
state`` blocks of dhcpd.leases, and what a server's reader makes of them (``PairMember``).

dhcpd.conf(5), "DHCP FAILOVER": ``failover peer "name" { primary; | secondary; address A;
port P; peer address B; peer port Q; mclt N; split N; | hba ...; ... }``, and a pool that
``failover peer "name";`` shares its addresses with that peer. dhcpd.leases(5) records the
pair's state as ``failover peer "name" state { my state S at T; partner state S at T; }``:
a server's last word, which a dead server's journal keeps saying (so it is shown, never
trusted: ``isc.py`` asks the live server over OMAPI).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from leasewatch.errors import LeasesError
from leasewatch.model import PairMember, PairMode


@dataclass(frozen=True, slots=True)
class FailoverPeer:
    """One ``failover peer`` declaration: this server's role, its and its peer's address."""

    name: str
    role: str  # "primary" | "secondary"
    address: str
    peer_address: str
    where: str  # FILE:LINE of the declaration

    @property
    def relationship(self) -> str:
        """What both servers of the pair compute alike: the name and both addresses."""
        ends = sorted((self.address, self.peer_address))
        return f'failover peer "{self.name}" {ends[0]} {ends[1]}'


def peer(name: str, body: Sequence[tuple[str, str]], where: str) -> FailoverPeer:
    """A declaration from its body's tokens, (kind, text) each (``dhcpd_conf`` read them)."""
    statements: list[list[str]] = [[]]
    for kind, text in body:
        if kind == "punct" and text == ";":
            statements.append([])
        else:
            statements[-1].append(text)
    role = address = peer_address = None
    for words in statements:
        lowered = [w.lower() for w in words]
        if lowered in (["primary"], ["secondary"]):
            role = lowered[0]
        elif lowered[:1] == ["address"] and len(words) == 2:
            address = words[1]
        elif lowered[:2] == ["peer", "address"] and len(words) == 3:
            peer_address = words[2]
    missing = [
        what
        for what, value in (
            ("'primary;' or 'secondary;'", role),
            ("'address ...;'", address),
            ("'peer address ...;'", peer_address),
        )
        if value is None
    ]
    if missing or role is None or address is None or peer_address is None:
        raise LeasesError(f'{where}: expected {" and ".join(missing)} in failover peer "{name}"')
    return FailoverPeer(name, role, address, peer_address, where)


def member(
    peers: Sequence[FailoverPeer],
    used: Sequence[str],
    journal_states: dict[str, tuple[str, str | None]],
    live: tuple[str, bool] | None,
) -> PairMember | None:
    """What the reader says of its server's relationship: the peer its pools name (the first
    if they name several), its state from OMAPI (``live``: the state's name, and whether it
    is normal) or else from the journal (shown, not trusted: ``normal`` stays None)."""
    named = [p for p in peers if p.name in used]
    if not named:
        return None
    p = named[0]
    mine = journal_states.get(p.name)
    if live is not None:
        state, normal, source = live[0], live[1], "omapi"
    elif mine is not None:
        state, normal, source = mine[0], None, "journal"
    else:
        state, normal, source = None, None, ""
    return PairMember(
        relationship=p.relationship,
        name=p.name,
        mode=PairMode.FAILOVER,
        role=p.role,
        state=state,
        normal=normal,
        state_from=source,
        peers=(p.peer_address,),
    )


def journal_state(
    words: Sequence[bytes], statements: Sequence[Sequence[bytes]]
) -> tuple[str, tuple[str, str | None]] | None:
    """A journal's ``failover peer "name" state { my state S ...; partner state S ...; }``:
    (name, (my state, partner state)), or None for another ``failover`` item."""
    if len(words) != 4 or [w.lower() for w in (words[0], words[1], words[3])] != [
        b"failover",
        b"peer",
        b"state",
    ]:
        return None
    mine = partner = None
    for s in statements:
        lowered = [w.lower() for w in s[:3]]
        if lowered[:2] == [b"my", b"state"] and len(s) > 2:
            mine = s[2].decode("ascii", "replace")
        elif lowered[:2] == [b"partner", b"state"] and len(s) > 2:
            partner = s[2].decode("ascii", "replace")
    if mine is None:
        return None
    return words[2].decode("utf-8", "replace"), (mine, partner)
