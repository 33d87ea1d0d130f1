"""The shape of the package (issue 14): rooms import little, the CLI wires nothing, modules
stay small, and every kind has its adapter."""

from __future__ import annotations

import ast
from pathlib import Path

from leasewatch import config
from leasewatch.inventory import kinds as inventory_kinds
from leasewatch.leases import kinds as lease_kinds
from leasewatch.reaper import kinds as reaper_kinds

PACKAGE = Path(__file__).resolve().parents[1] / "leasewatch"
# Shared by every room: data, errors, settings, and the terminal-safe text helper.
BASE = {"model", "bulk", "macset", "lazy", "errors", "config", "printable", "__init__", "__main__"}
# modules of their own that are part of the model (``leasewatch.model`` re-exports them)
BASE |= {"reasons", "addresses", "durations", "pairing"}
# The application layer: the only modules that may wire many rooms together.
APPLICATION = {"app", "scan", "daemon"}
ADAPTER_ROOMS = {"leases", "inventory", "reaper", "alerts", "state", "metrics"}
MAX_LINES = 600


def _room(module: str) -> str | None:
    """``leasewatch.core.usage`` -> ``core``; None for anything outside the package."""
    parts = module.split(".")
    if parts[0] != "leasewatch":
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def _is_module(name: str) -> bool:
    return (PACKAGE / f"{name}.py").exists() or (PACKAGE / name).is_dir()


def _imported_rooms(path: Path) -> set[str]:
    rooms: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            if node.module == "leasewatch":  # `from leasewatch import config`, not __version__
                names = [f"leasewatch.{a.name}" for a in node.names if _is_module(a.name)]
            rooms.update(r for r in map(_room, names) if r is not None)
        elif isinstance(node, ast.Import):
            rooms.update(r for r in (_room(a.name) for a in node.names) if r is not None)
    return rooms


def _modules() -> list[tuple[str, Path]]:
    return [(str(p.relative_to(PACKAGE)), p) for p in sorted(PACKAGE.rglob("*.py"))]


def test_no_module_outside_the_application_layer_imports_more_than_two_rooms() -> None:
    """Besides model/errors/config, a module imports at most two other rooms (its own is
    free); only the application layer wires more."""
    crowded = {}
    for name, path in _modules():
        own = name.split("/")[0].removesuffix(".py")
        if own in APPLICATION:
            continue
        rooms = _imported_rooms(path) - BASE - {own}
        if len(rooms) > 2:
            crowded[name] = sorted(rooms)
    assert crowded == {}


def test_the_cli_imports_no_adapter() -> None:
    """cli.py calls the application layer and a renderer, never an adapter room."""
    rooms = _imported_rooms(PACKAGE / "cli.py") - BASE
    assert rooms <= {"app", "report"}, rooms
    assert not rooms & ADAPTER_ROOMS


def test_every_module_is_under_600_lines() -> None:
    """Big modules with several jobs get split."""
    big = {
        name: n
        for name, path in _modules()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) >= MAX_LINES
    }
    assert big == {}


def test_every_server_kind_has_a_lease_source_and_a_release_backend() -> None:
    """leases/kinds and reaper/kinds map exactly the kinds the config accepts."""
    assert set(lease_kinds.SOURCES) == set(config.SERVER_KINDS)
    assert set(reaper_kinds.BACKENDS) == set(config.SERVER_KINDS)


def test_every_inventory_kind_has_an_adapter() -> None:
    """inventory/kinds maps exactly the kinds the config accepts."""
    assert set(inventory_kinds.ADAPTERS) == set(config.INVENTORY_KINDS)
