"""Proxmox VE: no push, so the cluster task list is polled between scans.

``GET /cluster/tasks`` lists the cluster's recent tasks, running and finished
(https://pve.proxmox.com/pve-docs/api-viewer/#/cluster/tasks): each has a ``upid``, a
``type`` (``qmdestroy``, ``vzdestroy``, ...), and once finished an ``endtime`` and a
``status``. One small GET every ``EVERY`` seconds; a task of a kind that can make a MAC
vanish, seen finished for the first time, is a hint to re-read the inventory. A running
task is not yet: its guest still exists until it ends.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from leasewatch.events.interface import EventStream, inventory_errors
from leasewatch.inventory._common import import_sdk
from leasewatch.inventory.proxmox import ProxmoxSource

EVERY = 10.0  # seconds between two looks at the task list
TASKS = "/cluster/tasks"
# Task types after which a guest's MAC may be gone: destroyed, restored over (a new
# config), turned into a template (a template never boots with its MAC).
VANISHING = frozenset(
    {"qmdestroy", "vzdestroy", "qmrestore", "vzrestore", "qmtemplate", "vztemplate"}
)


class ProxmoxStream(EventStream):
    """Polls one Proxmox VE cluster's task list."""

    every = EVERY

    def watch(self) -> None:
        with inventory_errors(self.inventory):
            proxmoxer = import_sdk("proxmoxer", "proxmox", self.stream)
            requests = import_sdk("requests", "proxmox", self.stream)
            source = ProxmoxSource(self.config)
            with source.translated(proxmoxer, requests):
                api = source.connect(proxmoxer)
                seen = self._finished(source, api)
                self.connected()
                while not self.wake.wait(self.every):
                    now = self._finished(source, api)
                    if any(now[upid] in VANISHING for upid in now.keys() - seen.keys()):
                        self.event()
                    seen = now

    def _finished(self, source: ProxmoxSource, api: Any) -> dict[str, str]:
        """The finished tasks in the list: UPID -> type."""
        tasks = api.cluster.tasks.get()
        if not isinstance(tasks, list):
            raise source.malformed(TASKS)
        out: dict[str, str] = {}
        for task in tasks:
            if not isinstance(task, Mapping) or not isinstance(task.get("upid"), str):
                raise source.malformed(TASKS)
            if task.get("endtime") is not None:
                out[task["upid"]] = str(task.get("type", ""))
        return out
