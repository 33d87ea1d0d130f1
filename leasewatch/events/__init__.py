"""Inventory event streams: hints from the hypervisor that an inventory changed.

One module per kind that offers a stream (libvirt domain events, XenAPI ``event.from``,
Proxmox's cluster task list), ``interface.py`` for what they share (reconnect with backoff),
``kinds.py`` for the map, ``watch.py`` for the daemon's side (coalescing). An event is only
ever a hint to re-read that inventory: never a verdict that a VM is gone.
"""
