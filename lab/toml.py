"""Pieces of the leasewatch config that every lab (ISC, Kea) writes the same way."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path


def toml_string(text: str) -> str:
    """A TOML basic string (JSON's escapes are valid TOML)."""
    return json.dumps(text)


def common_sections(inventory: Sequence[str], reaper: str, state: Path) -> list[str]:
    """The hypervisor's command inventory, the reaper settings and the state file."""
    return [
        "[[inventory]]",
        'name = "hypervisor"',
        'kind = "command"',
        f"command = [{', '.join(toml_string(a) for a in inventory)}]",
        "",
        "[reaper]",
        reaper,
        "",
        "[state]",
        f"path = {toml_string(str(state))}",
        "",
    ]
