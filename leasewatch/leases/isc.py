"""ISC dhcpd: pools from dhcpd.conf, current leases from the dhcpd.leases journal.

dhcpd.leases(5) is a journal: dhcpd appends a ``lease IP { ... }`` block on every change,
and a later block for an address replaces every earlier one until dhcpd rewrites the whole
file (a new file renamed into place, so a new inode). Replaying it gives one current lease
per address, in every binding state.

Why a hand-written parser and not isc-dhcp-leases (the library the card names): measured
with ``python -m bench`` on this machine (2 shared cores) on generated journals,
``IscDhcpLeases.get()`` takes 2.3 s and 324 MB for 100,000 blocks (35 MB of file) and
33 s and 3.1 GB for 1,000,000 blocks (353 MiB), where dhcpd-pools takes 2.8 s and 83 MB.
It reads the whole file into one string and builds a dict and a Lease per block,
superseded ones too. It is also wrong for us: ``get_current()`` keys active blocks by MAC,
so a superseded active block outlives a later release (upstream issue #37), and ``get()``
drops blocks with no ``hardware`` (failover ``backup`` leases) unless
``include_backups=True``.

So the replay streams the file in 1 MiB byte chunks, by job:

- ``isc_journal``: the loop over chunks and the fast path, one regular expression over
  bytes that takes every block exactly as dhcpd writes it (``write_lease`` in server/db.c);
- ``isc_blocks``: the slow path, token by token, for anything else (hand-edited files,
  other versions, ``host`` blocks, odd values), and the rule for a block read in part;
- ``isc_table``: the result, a compact row per address (``JournalTable``); ``Lease``
  objects are built only when asked;
- this module: the source, which reads dhcpd.conf and the journal into a snapshot;
- ``isc6`` and ``isc6_journal``: the same for dhcpd -6 (dhcpd6.conf, dhcpd6.leases), chosen
  by what the two files hold (``dhcpd6_conf`` tells a DHCPv6 configuration by its statements,
  ``isc6_journal.family`` a journal by its blocks); a pair of two families is an error.

Measured on the 1,000,000-block bench file: the parse takes 3.4 s (1.5 s of it inside
the regular expression engine, the floor for Python) and the whole report 3.9 s and
214 MB, where one ``Lease`` per address took 10.3 s and 410 MB.
tests/leases/test_isc_differential.py compares every address with isc-dhcp-leases'
``get(include_backups=True)`` replayed per address, on generated journals.

An ``IscLeaseSource`` kept across reads (the daemon keeps one) re-parses only what dhcpd
appended since the last read: same file (device, inode), not shorter, and the 4 KiB it
read last unchanged; anything else is a full parse. dhcpd never edits the file in place
(it appends, or writes a new file and renames it over the old one), so these checks catch
every rewrite it makes; a hand edit that keeps the inode, the length and those last bytes
would go unnoticed until dhcpd's next rewrite. A re-read writes its rows to a small
overlay (``Journal.newer``), folded into a new table once it holds a quarter as many
rows: a snapshot already returned never changes, and nothing copies a million rows
(8 ms for 1,000 appended blocks on the 1M file, 0.2 % of a full parse).
"""

from __future__ import annotations

import os
from typing import BinaryIO

from leasewatch.config import ServerConfig
from leasewatch.errors import LeasesError, ReleaseError
from leasewatch.leases import (
    dhcpd6_conf,
    dhcpd_conf,
    dhcpd_failover,
    isc6,
    isc6_journal,
    isc_split,
)
from leasewatch.leases.interface import LeaseSource, UnreadMemberError
from leasewatch.leases.isc_blocks import Journal
from leasewatch.leases.isc_journal import LeasesParser, Progress
from leasewatch.leases.isc_table import JournalTable, Row
from leasewatch.model import ServerSnapshot

__all__ = ["IscLeaseSource", "JournalTable", "LeasesParser", "Progress", "Row"]

_PEEK = 1 << 16  # bytes read to tell an empty journal from one that holds something else


class IscLeaseSource(LeaseSource):
    """One ISC dhcpd server: ``read()`` parses dhcpd.conf and replays dhcpd.leases.

    Keep the object between reads and it re-parses only what dhcpd appended since (see the
    module docstring); a new object always does a full parse.
    """

    def __init__(self, config: ServerConfig, progress: Progress | None = None) -> None:
        if config.kind != "isc" or config.leases is None or config.dhcpd_conf is None:
            raise LeasesError(
                f"server {config.name}: expected kind 'isc' with leases and dhcpd_conf"
            )
        self.name = config.name
        self.omapi = config.omapi
        self.leases_path = config.leases
        self.conf_path = config.dhcpd_conf
        self.progress = progress
        self.journal: Journal | None = None
        self.last_was_incremental = False

    def read(self) -> ServerSnapshot:
        either = dhcpd6_conf.parse(self.conf_path)
        journal_family = isc6_journal.family(self.leases_path)
        if journal_family is not None and journal_family != either.family:
            holds = "ia-na/ia-ta/ia-pd blocks" if journal_family == 6 else "lease blocks"
            raise LeasesError(
                f"{self.leases_path}: expected DHCPv{either.family} leases ({self.conf_path} "
                f"is a DHCPv{either.family} configuration), got DHCPv{journal_family} ones "
                f"({holds})"
            )
        if either.family == 6:
            self.journal = None
            return isc6.snapshot(self.name, either, self.leases_path)
        conf = either.v4
        try:
            journal = self._replay()
        except LeasesError as exc:
            if not conf.used_peers:
                raise
            # a failover member whose journal cannot be read still says which pair it is
            # in: the pair is reported from its partner, with this error as a warning
            pairing = dhcpd_failover.member(conf.failover, conf.used_peers, {}, None)
            assert pairing is not None  # used_peers name declared peers (dhcpd_conf)
            raise UnreadMemberError(str(exc), pairing) from None
        if len(journal.newer) > len(journal.rows) // 4:  # fold in: amortized, as a dict grows
            journal.rows = {**journal.rows, **journal.newer}
            journal.newer = {}
        table = JournalTable(journal.rows, self.name, dict(journal.newer))
        journal.shared = True
        fixed = list(conf.fixed)
        for hosts in journal.hosts.values():
            fixed.extend(hosts)
        warnings = [*journal.notes, *journal.warnings]
        if not table and conf.ranges and not journal.marked and self._holds_something():
            warnings.append(
                f"{self.leases_path}: no leases in a file that is not empty, while "
                f"{self.conf_path} has {len(conf.ranges)} ranges: is this dhcpd's leases file? "
                "(dhcpd 4.3 and later write 'authoring-byte-order' into every one)"
            )
        pairing = None
        if conf.used_peers:  # a failover pair's member: its live state from OMAPI
            live = self._live_state(conf.used_peers[0], warnings)
            pairing = dhcpd_failover.member(conf.failover, conf.used_peers, journal.failover, live)
        return ServerSnapshot(
            server=self.name,
            kind="isc",
            ranges=conf.ranges,
            leases=table,
            fixed=tuple(fixed),
            complete=journal.complete,
            warnings=tuple(warnings),
            read_errors=journal.read_errors(str(self.leases_path)),
            pairing=pairing,
        )

    def _live_state(self, peer: str, warnings: list[str]) -> tuple[str, bool] | None:
        """The server's own failover state over OMAPI (the state's name, and whether it is
        normal); None, with a warning, when there is no OMAPI or it does not answer."""
        if self.omapi is None:
            return None
        from leasewatch.reaper.omapi import OmapiReleaseBackend

        client = OmapiReleaseBackend(self.name, self.omapi)
        try:
            state = client.pair_state(peer)
        except ReleaseError as exc:
            warnings.append(f"{exc}: failover state not known live")
            return None
        finally:
            client.close()
        if state is None:
            warnings.append(f"server {self.name}: OMAPI knows no failover peer {peer!r}")
        return state

    def _holds_something(self) -> bool:
        """Whether the journal's first bytes hold more than white space."""
        try:
            with self.leases_path.open("rb") as f:
                return bool(f.read(_PEEK).strip(b" \t\r\n\f\v\0"))
        except OSError:
            return False

    def _replay(self) -> Journal:
        path = self.leases_path
        try:
            # not blocking: a FIFO given as the leases file must fail, not hang
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            try:
                dhcpd_conf.check_regular(path, os.fstat(fd))
            except LeasesError:
                os.close(fd)
                raise
            with os.fdopen(fd, "rb") as f:
                st = os.fstat(f.fileno())
                old = self.journal
                if old is not None and self._is_append(f, st, old):
                    journal = old
                    self.last_was_incremental = True
                else:
                    journal = Journal(device=st.st_dev, inode=st.st_ino)
                    self.last_was_incremental = False
                # parse into the kept journal only once the parse succeeded: a failed
                # incremental parse must not leave half a state behind
                self.journal = None
                if self.last_was_incremental:
                    LeasesParser(path, self.name, journal).run(f, st.st_size, self.progress)
                else:  # both cores for a big file (isc_split)
                    isc_split.parse(
                        path, f, st.st_size, journal, name=self.name, progress=self.progress
                    )
                self.journal = journal
                return journal
        except OSError as exc:
            raise LeasesError(f"{path}: cannot read leases file: {exc.strerror}") from None

    @staticmethod
    def _is_append(f: BinaryIO, st: os.stat_result, old: Journal) -> bool:
        """Only a proven append resumes: same file, not shorter, last bytes read unchanged."""
        if (st.st_dev, st.st_ino) != (old.device, old.inode) or st.st_size < old.offset:
            return False
        f.seek(old.offset - len(old.tail))
        same = f.read(len(old.tail)) == old.tail
        f.seek(0)
        return same
