"""Durations as config files and reports write them (``30s``, ``15m``, ``1d6h``). Part of
``leasewatch.model`` (import them from there)."""

from __future__ import annotations

import re
from datetime import timedelta


def parse_duration(text: str) -> timedelta:
    """Parse ``"30s"``, ``"15m"``, ``"6h"``, ``"3d"``, ``"1w"`` (or a sum like ``"1h30m"``)."""
    match = _DURATION.fullmatch(text.strip())
    if not text.strip() or not match:
        raise ValueError(f"expected a duration like '30s', '15m', '6h' or '3d', got {text!r}")
    parts = {k: int(v) for k, v in match.groupdict().items() if v}
    return timedelta(
        weeks=parts.get("w", 0),
        days=parts.get("d", 0),
        hours=parts.get("h", 0),
        minutes=parts.get("m", 0),
        seconds=parts.get("s", 0),
    )


_DURATION = re.compile(
    r"(?:(?P<w>\d+)w)?\s*(?:(?P<d>\d+)d)?\s*(?:(?P<h>\d+)h)?\s*(?:(?P<m>\d+)m)?\s*(?:(?P<s>\d+)s)?"
)


def format_duration(delta: timedelta) -> str:
    """The inverse of ``parse_duration`` for display: ``1d6h``, ``15m``, ``0s``."""
    seconds = int(delta.total_seconds())
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            out.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(out) or "0s"
