"""The examples in docs/inventory.md are valid config and build their adapters."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from leasewatch import config
from leasewatch.inventory.kinds import build

DOC = Path(__file__).resolve().parents[2] / "docs" / "inventory.md"
EXAMPLES = re.findall(r"```toml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)


def test_every_kind_has_an_example() -> None:
    """Each inventory kind is documented with a TOML example."""
    kinds = {m for text in EXAMPLES for m in re.findall(r'^kind = "(\w+)"', text, re.M)}
    assert kinds == set(config.INVENTORY_KINDS)


def _kind(example: str) -> str:
    found = re.search(r'kind = "(\w+)"', example)
    return found[1] if found else "?"


@pytest.mark.parametrize("example", EXAMPLES, ids=_kind)
def test_example_loads_and_builds(example: str, tmp_path: Path) -> None:
    """The example passes the config loader (secrets from env/file) and builds its adapter."""
    example = example.replace("/etc/leasewatch/pve-token", str(tmp_path / "pve-token"))
    (tmp_path / "pve-token").write_text("0b4c-token\n")
    path = tmp_path / "leasewatch.toml"
    # a config names at least one server; the examples show only their inventory
    server = '[[servers]]\nname = "dhcp1"\nkind = "kea"\nleases = "/var/lib/kea/l.csv"\n\n'
    path.write_text(server + example, encoding="utf-8")
    loaded = config.load(path, environ={"LEASEWATCH_XEN_PASSWORD": "pw"})
    (inventory,) = loaded.inventory
    source = build(inventory)
    assert source.kind == inventory.kind and source.name == inventory.name
