"""The JSON writer writes in pieces what ``json.dumps(indent=2)`` would write at once."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from ipaddress import IPv6Address

from leasewatch.report.json import _PIECE, dump


def test_dump_is_the_standard_text_in_pieces() -> None:
    """A document of many more chunks than a piece, with v6-sized integers, control and
    non-ASCII text, floats and values only ``default=str`` writes: the same text, one
    newline after it."""
    doc = {
        "size": 2**128 - 1,
        "rows": [
            {
                "host": f"vm-\x1b[31m\u00e9\U0001f600{n}",
                "u": n / 7,
                "at": datetime(2026, 1, 1, tzinfo=UTC),
            }
            for n in range(_PIECE)
        ],
        "ip": IPv6Address("2001:db8::1"),
        "empty": [],
        "none": None,
    }
    out = io.StringIO()
    dump(doc, out)
    assert out.getvalue() == json.dumps(doc, indent=2, default=str) + "\n"
    small = io.StringIO()
    dump([], small)
    assert small.getvalue() == "[]\n"
