"""One error tree for leasewatch.

Adapters translate library errors (socket, subprocess, requests, libvirt, XenAPI, sqlite)
into these at the edge, naming the file and line, host or source. The CLI catches only
``Error`` and prints its message on one line; a traceback is shown only with ``--debug``.
"""

from __future__ import annotations


class Error(Exception):
    """Base of every error leasewatch reports to the user."""


class ConfigError(Error):
    """The configuration file is missing, unreadable or invalid."""

    def __init__(self, messages: str | list[str]) -> None:
        self.messages = [messages] if isinstance(messages, str) else list(messages)
        super().__init__("; ".join(self.messages))


class LeasesError(Error):
    """A DHCP server's leases or pool definitions could not be read or parsed."""


class InventoryError(Error):
    """A VM inventory source failed; its MACs are unknown, never orphaned."""


class ReleaseError(Error):
    """A lease could not be released (OMAPI or Kea API failure)."""


class AlertError(Error):
    """A webhook could not be reached or refused the message."""


class StateError(Error):
    """The SQLite state file could not be opened, migrated or written."""


class MetricsError(Error):
    """The metrics endpoint or textfile could not be set up or written."""


class EventsError(Error):
    """An inventory's event stream is lost or cannot be opened (the daemon reconnects)."""


class MacPoolError(Error):
    """The MAC pool cannot do what was asked (exhausted, a MAC not in the pool)."""


class UsageError(Error):
    """The command line names something that cannot be (exit 2, as argparse's own errors)."""
