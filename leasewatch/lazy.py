"""Modules loaded on their first use, so ``--version`` and ``check`` import only what they run.

``leasewatch --version`` imported 206 ms of modules (rich, requests, the scan and every
adapter) to print one line. A module named here is bound at once but executed only when an
attribute of it is first read (``importlib.util.LazyLoader``, the stdlib recipe); type
checkers see the real module through ``if TYPE_CHECKING`` imports beside each use.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def module(name: str) -> ModuleType:
    """``name``, imported now if it already was, else on the first attribute read."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ImportError(f"no module named {name!r}", name=name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    lazy = importlib.util.module_from_spec(spec)
    sys.modules[name] = lazy
    loader.exec_module(lazy)
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, lazy)
    return lazy


def loaded(name: str) -> bool:
    """Whether ``name`` was really imported (not just bound by ``module`` and never used)."""
    found = sys.modules.get(name)
    # LazyLoader gives the module a class of its own until the first attribute read
    return found is not None and type(found).__name__ != "_LazyModule"
